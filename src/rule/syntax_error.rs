//! `syntax-error`: the file is not a valid policy.

crate::declare_lint! {
    /// The file does not follow the policy grammar.
    ///
    /// ## What it does
    /// Reports text the parser cannot read: a misspelled keyword, a missing brace, a bare port
    /// number, a port outside 1-65535, an unterminated string. Every such place in a file is
    /// reported in one run.
    ///
    /// ## Why it matters
    /// A policy that does not parse cannot be checked or compiled; nothing is generated from it.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow 8080
    /// }
    /// ```
    ///
    /// ## Fix
    /// Write what the message asks for; here a protocol and a port: `allow tcp/8080`.
    pub static SYNTAX_ERROR = {
        name: "syntax-error",
        code: "PC001",
        category: Syntax,
        default_level: Error,
    }
}
