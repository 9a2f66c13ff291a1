//! `unknown-net`: a net name that is not defined.

crate::declare_lint! {
    /// A `from`, `to` or net member names a net that is not defined.
    ///
    /// ## What it does
    /// Resolves every net name against the `net` definitions of the policy and its includes, and
    /// reports names that are not defined, with the closest defined names. Nets that refer to each
    /// other in a cycle are reported too.
    ///
    /// ## Why it matters
    /// A rule whose source cannot be resolved cannot be compiled: portcullis will not guess who it
    /// was meant for.
    ///
    /// ## Example
    /// ```text
    /// net office = 10.10.0.0/16
    /// input drop {
    ///   allow ssh from ofice
    /// }
    /// ```
    ///
    /// ## Fix
    /// Correct the name or define the net.
    pub static UNKNOWN_NET = {
        name: "unknown-net",
        code: "PC011",
        category: Resolution,
        default_level: Error,
    }
}
