//! `host-bits-set`: a prefix with bits set past its length.

crate::declare_lint! {
    /// A CIDR prefix has host bits set, e.g. `10.0.0.1/8`.
    ///
    /// ## What it does
    /// Reports a prefix whose address has bits set beyond the prefix length and says which network
    /// it denotes. The prefix is used as that network (`10.0.0.0/8`).
    ///
    /// ## Why it matters
    /// Usually either the length or the address is a typo: `10.0.0.1/8` matches sixteen million
    /// addresses where one host (`10.0.0.1/32`) may have been meant.
    ///
    /// ## Example
    /// ```text
    /// net db = 10.0.0.1/8
    /// ```
    ///
    /// ## Fix
    /// Write the network (`10.0.0.0/8`) or the host (`10.0.0.1`).
    pub static HOST_BITS_SET = {
        name: "host-bits-set",
        code: "PC015",
        category: Resolution,
        default_level: Warning,
    }
}
