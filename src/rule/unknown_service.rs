//! `unknown-service`: a service name that resolves to nothing.

crate::declare_lint! {
    /// A service name is neither defined in the policy, nor in an overlay file, nor in the registry.
    ///
    /// ## What it does
    /// Resolves every service name: first the policy's own `service` definitions, then the
    /// services(5) overlay files of the project configuration, then the embedded IANA registry.
    /// A name found in none of them is reported with the closest known names.
    ///
    /// ## Why it matters
    /// A misspelled service opens nothing, so the service you meant stays closed, or, in a `deny`
    /// rule, stays open.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow htps
    /// }
    /// ```
    ///
    /// ## Fix
    /// Use the suggested name (`https`), define the service (`service htps = tcp/8443`), or write
    /// the port explicitly (`tcp/443`).
    pub static UNKNOWN_SERVICE = {
        name: "unknown-service",
        code: "PC010",
        category: Resolution,
        default_level: Error,
    }
}
