//! `duplicate-definition`: a name defined twice.

crate::declare_lint! {
    /// A service, net, host or chain is defined more than once.
    ///
    /// ## What it does
    /// Reports a second definition of a service or net name (across all included files), a second
    /// host of the same name, and a chain written twice in one host; both places are shown.
    ///
    /// ## Why it matters
    /// With two definitions it is unclear which one applies, and editing one of them has no effect.
    ///
    /// ## Example
    /// ```text
    /// service app = tcp/8080
    /// service app = tcp/8081
    /// ```
    ///
    /// ## Fix
    /// Keep one definition; list several ports in it if both were meant (`service app = tcp/8080,
    /// tcp/8081`).
    pub static DUPLICATE_DEFINITION = {
        name: "duplicate-definition",
        code: "PC012",
        category: Resolution,
        default_level: Error,
    }
}
