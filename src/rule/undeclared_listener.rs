//! `undeclared-listener`: a socket the network can reach that no `bind` of the host declares.

crate::declare_lint! {
    /// A socket listening on this host is reachable from the network, but no bind declares it.
    ///
    /// ## What it does
    /// `portcullis audit` reads the TCP and UDP sockets listening on the machine and asks the
    /// host's `input` chain, for each, which sources can open a connection to its port at its
    /// addresses, on any interface but the loopback. A socket that some source can reach at an
    /// address no `bind` of the host declares for its port is reported, with the process that
    /// holds it, its user, its port and the sources that reach it. A socket on a loopback
    /// address (`127.0.0.1`, `::1`) is never reported: the network cannot reach it. A socket
    /// that listens wider than its bind (on `0.0.0.0` where the bind says `10.0.0.5`) is
    /// reported for the addresses the bind leaves out.
    ///
    /// ## Why it matters
    /// The policy is the record of what a host offers to the network. A listener it does not
    /// know of, and that the firewall lets connections reach, is exactly what an audit is
    /// for: a forgotten debug server, a database that came up on every address, a service
    /// that a package started by itself. Its level is `error`, so that `audit` fails (exit 1)
    /// and a timer or a monitoring check notices.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx on 0.0.0.0 http, https as root
    ///   input drop {
    ///     allow http, https, tcp/8000-8100
    ///   }
    /// }
    /// ```
    /// with `python3 -m http.server 8080` running as root: `python3` listens on `tcp/8080` at
    /// `0.0.0.0`, reachable from any IPv4 address through the third allow.
    ///
    /// ## Fix
    /// If it belongs there, declare it: `bind python3 on 0.0.0.0 tcp/8080 as root`. If only
    /// programs on the host use it, make it listen on `127.0.0.1`. Otherwise stop it, or close
    /// its port in the `input` chain.
    pub static UNDECLARED_LISTENER = {
        name: "undeclared-listener",
        code: "PC501",
        category: Audit,
        default_level: Error,
    }
}
