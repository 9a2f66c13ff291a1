//! `invalid-address`: an address or prefix that does not parse.

crate::declare_lint! {
    /// An IPv4 or IPv6 address or prefix is malformed.
    ///
    /// ## What it does
    /// Validates every address and CIDR prefix: four octets of 0-255 for IPv4, RFC 4291 text for
    /// IPv6, a prefix length up to 32 or 128.
    ///
    /// ## Why it matters
    /// A malformed address cannot be enforced; portcullis will not guess what was meant.
    ///
    /// ## Example
    /// ```text
    /// net office = 10.10.0.256/16, 2001:db8::/129
    /// ```
    ///
    /// ## Fix
    /// Correct the address: `10.10.0.0/16`, `2001:db8::/48`.
    pub static INVALID_ADDRESS = {
        name: "invalid-address",
        code: "PC014",
        category: Resolution,
        default_level: Error,
    }
}
