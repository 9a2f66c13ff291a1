//! Why a host cannot be compiled. `portcullis check` catches most of these first; the compiler
//! checks again because it is the last step before the kernel and may be handed a model built by
//! other code.

use crate::model::ChainKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("the host has more than one `{chain}` chain")]
    DuplicateChain { chain: ChainKind },

    #[error(
        "rule {rule} of the `{chain}` chain did not resolve; fix what `portcullis check` reports first"
    )]
    Unresolved { chain: ChainKind, rule: usize },

    #[error(
        "rule {rule} of the `{chain}` chain names interface {name:?}, which is not a Linux interface \
         name (1-15 letters, digits, `_`, `.`, `@`, `:`, `+` or `-`)"
    )]
    Interface {
        chain: ChainKind,
        rule: usize,
        name: String,
    },

    #[error(
        "a `{statement}` names interface {name:?}, which is not a Linux interface name (1-15 \
         letters, digits, `_`, `.`, `@`, `:`, `+` or `-`)"
    )]
    NatInterface {
        statement: &'static str,
        name: String,
    },

    #[error("rule {rule} of the `{chain}` chain logs with prefix {prefix:?}, which cannot be written safely: {reason}")]
    LogPrefix {
        chain: ChainKind,
        rule: usize,
        prefix: String,
        reason: String,
    },

    #[error(
        "the `{chain}` chain was resolved {} {}, but the configuration compiles it {}; resolve and compile with the same `compile.baseline`",
        if *resolved_with { "with" } else { "without" },
        part.describe(),
        if *resolved_with { "without it" } else { "with it" }
    )]
    BaselineMismatch {
        chain: ChainKind,
        part: crate::model::BaselinePart,
        resolved_with: bool,
    },

    #[error("rule {rule} of the `{chain}` chain has a rate limit with {what} 0; use at least 1")]
    ZeroLimit {
        chain: ChainKind,
        rule: usize,
        what: &'static str,
    },
}
