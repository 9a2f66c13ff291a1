//! `unused-suppression`: an inline suppression that suppresses nothing.

crate::declare_lint! {
    /// A `# portcullis: ignore[...]` comment names a rule that reports nothing there.
    ///
    /// ## What it does
    /// After all rules have run, reports every rule name in a suppression comment that did not
    /// suppress a finding on its line (or, for a comment on a line of its own, the next line), and
    /// names that are not rules at all.
    ///
    /// ## Why it matters
    /// A stale suppression hides the next real finding on that line, and a misspelled one
    /// suppresses nothing while looking as if it did.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh  # portcullis: ignore[insecure-service]
    /// }
    /// ```
    ///
    /// ## Fix
    /// Remove the suppression, or correct the rule name (`portcullis rules` lists them).
    pub static UNUSED_SUPPRESSION = {
        name: "unused-suppression",
        code: "PC004",
        category: Syntax,
        default_level: Warning,
    }
}
