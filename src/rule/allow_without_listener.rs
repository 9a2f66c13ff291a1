//! `allow-without-listener`: an inbound allow for a port nothing on this host listens on.

crate::declare_lint! {
    /// The input chain allows a port that nothing on this host listens on from the network.
    ///
    /// ## What it does
    /// `portcullis audit` reports each service of an `allow` in the audited host's `input`
    /// chain for which no socket listens on any of its ports, with its protocol, at an address
    /// other than a loopback one. Allows of a whole protocol (`allow tcp`, or no service at
    /// all), of services without ports (ICMP), and allows on the loopback interface are not
    /// reported. `allow-without-bind` finds the same from the policy alone, where binds
    /// declare what listens; this rule asks the machine.
    ///
    /// ## Why it matters
    /// An open port with nothing behind it does nothing today, and lets in whatever starts
    /// listening there tomorrow. It is often left over from a service that moved, or a typo
    /// for the port that was meant.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh, tcp/8443
    /// }
    /// ```
    /// on a host where nothing listens on `tcp/8443`.
    ///
    /// ## Fix
    /// Take the service out of the allow if nothing should answer there, or start what should.
    pub static ALLOW_WITHOUT_LISTENER = {
        name: "allow-without-listener",
        code: "PC504",
        category: Audit,
        default_level: Info,
    }
}
