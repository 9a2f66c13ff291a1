//! `empty-policy`: a file with nothing in it.

crate::declare_lint! {
    /// The file holds no definitions and no rules.
    ///
    /// ## What it does
    /// Reports a policy file that is empty or holds only comments.
    ///
    /// ## Why it matters
    /// An empty file is usually a mistake: a truncated generator output or the wrong path. It would
    /// compile to a firewall that only carries the baseline.
    ///
    /// ## Example
    /// ```text
    /// # TODO
    /// ```
    ///
    /// ## Fix
    /// Write the policy, or stop passing the file to portcullis.
    pub static EMPTY_POLICY = {
        name: "empty-policy",
        code: "PC003",
        category: Syntax,
        default_level: Warning,
    }
}
