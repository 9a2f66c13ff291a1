//! `include-error`: an include that cannot be followed.

crate::declare_lint! {
    /// An `include` names a file that cannot be read, or includes form a cycle.
    ///
    /// ## What it does
    /// Follows every `include` (paths are relative to the including file) and reports a file that
    /// is missing, unreadable, not UTF-8, or that includes itself directly or through others.
    ///
    /// ## Why it matters
    /// The definitions of a missing file are missing from the policy, so the firewall would be
    /// built from part of what you wrote.
    ///
    /// ## Example
    /// ```text
    /// # a.pcl
    /// include "b.pcl"
    /// # b.pcl
    /// include "a.pcl"
    /// ```
    ///
    /// ## Fix
    /// Correct the path, or move the shared definitions into a third file both include.
    pub static INCLUDE_ERROR = {
        name: "include-error",
        code: "PC002",
        category: Syntax,
        default_level: Error,
    }
}
