//! `invalid-port`: a port number or range that cannot exist.

crate::declare_lint! {
    /// A port is 0 or above 65535, a range is inverted, or a port has no protocol.
    ///
    /// ## What it does
    /// Checks every port spec: ports run from 1 to 65535, a range `lo-hi` needs `lo <= hi`, and a
    /// port needs its protocol (`tcp/8080`, not `8080`).
    ///
    /// ## Why it matters
    /// Such a spec has no meaning a firewall could enforce; guessing one would open the wrong ports.
    ///
    /// ## Example
    /// ```text
    /// service app = tcp/70000
    /// service web = tcp/8100-8000
    /// input drop { allow 8080 }
    /// ```
    ///
    /// ## Fix
    /// `tcp/7000`, `tcp/8000-8100`, `allow tcp/8080`.
    pub static INVALID_PORT = {
        name: "invalid-port",
        code: "PC013",
        category: Resolution,
        default_level: Error,
    }
}
