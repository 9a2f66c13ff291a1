//! `blocked-listener`: a socket on every address that the input chain closes entirely.

crate::declare_lint! {
    /// A socket listens on every address, but the input chain lets no connection to it in.
    ///
    /// ## What it does
    /// `portcullis audit` reports a socket listening on a wildcard address (`0.0.0.0`, `::`)
    /// that no `bind` of the audited host declares there, and to which the `input` chain lets
    /// no connection in from any source, on any interface but the loopback.
    ///
    /// ## Why it matters
    /// This is usually meant: many daemons listen on every address by default, and the
    /// firewall is what keeps them private (hence the level `info`). But the protection is
    /// then the policy's alone: one broad allow added later exposes the service, and the
    /// policy does not say that it runs here.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh
    /// }
    /// ```
    /// with `rpcbind` listening on `tcp/111` at `0.0.0.0`.
    ///
    /// ## Fix
    /// If only programs on the host use it, make it listen on `127.0.0.1` or `::1`. Otherwise
    /// declare it with a `bind`, so that the policy records it and `unreachable-bind` tells if
    /// nobody can reach it.
    pub static BLOCKED_LISTENER = {
        name: "blocked-listener",
        code: "PC505",
        category: Audit,
        default_level: Info,
    }
}
