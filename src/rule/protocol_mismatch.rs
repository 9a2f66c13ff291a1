//! `protocol-mismatch`: a service used with a protocol it is not registered for.

crate::declare_lint! {
    /// A service name is used with a protocol it is not registered for, or not used on.
    ///
    /// ## What it does
    /// Reports `name/protocol` references where the registry (or the policy's own definition)
    /// has no ports for that protocol (`ssh/sctp` is registered, `domain/sctp` is not), and those
    /// where the name is registered for the protocol but, by Debian's services list, used on
    /// another one only (`ntp/tcp`: NTP runs over UDP). The rule still uses the name's ports with
    /// the protocol written, as asked.
    ///
    /// ## Why it matters
    /// Usually the protocol is a mistake, so the rule opens a port nothing listens on while the
    /// real service stays closed.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ntp/tcp
    /// }
    /// ```
    ///
    /// ## Fix
    /// Use the registered protocol (`ntp/udp`, or just `ntp`), or write the port explicitly
    /// (`tcp/123`) if the unusual protocol is really meant.
    pub static PROTOCOL_MISMATCH = {
        name: "protocol-mismatch",
        code: "PC102",
        category: Ports,
        default_level: Warning,
    }
}
