//! `bind-without-listener`: a `bind` of the host with nothing listening where it says.

crate::declare_lint! {
    /// A bind of the host declares a service that nothing on this host listens on.
    ///
    /// ## What it does
    /// `portcullis audit` reports each service of a `bind` of the audited host for which no
    /// socket listens on any of its ports, with its protocol, at an address of the bind
    /// (`0.0.0.0` takes any IPv4 address, `::` any address). When something listens on the
    /// port at another address, the finding says where.
    ///
    /// ## Why it matters
    /// Either the service is down (it crashed, or failed to start after an upgrade), or the
    /// policy still describes a service that was moved or removed, and the allows that
    /// were written for it now let in whatever starts on that port next.
    ///
    /// ## Example
    /// ```text
    /// host db-1 {
    ///   bind postgres on 10.0.0.5 postgresql as postgres
    ///   input drop {
    ///     allow postgresql from app-servers
    ///   }
    /// }
    /// ```
    /// with PostgreSQL stopped, or listening on `127.0.0.1` only.
    ///
    /// ## Fix
    /// Start the service, or make it listen where the bind says; if it no longer runs on this
    /// host, remove the bind (and the allows written for it). Ports a server opens only on
    /// demand, such as an ftp server's passive range, have no listener between transfers:
    /// suppress the finding on that bind with `# portcullis: ignore[bind-without-listener]`.
    pub static BIND_WITHOUT_LISTENER = {
        name: "bind-without-listener",
        code: "PC502",
        category: Audit,
        default_level: Warning,
    }
}
