//! Every lint rule, one per file, and the registry: the one list below, in code order, names each
//! rule once, with its check when it analyses a resolved policy (the others are reported by the
//! front end, `crate::rule`, or by the engine). `ALL` and `CHECKS` are derived from it. A new rule
//! is its file, a `pub mod` line and a line in the list.

pub mod allow_without_bind;
pub mod any_port_open;
pub mod bind_conflict;
pub mod broad_protocol;
pub mod ephemeral_port;
pub mod exposed_admin_port;
pub mod ftp_data_channel;
pub mod icmpv6_blocked;
pub mod insecure_service;
pub mod overlapping_rules;
pub mod privileged_port;
pub mod redundant_rule;
pub mod registry_mismatch;
pub mod shadowed_rule;
pub mod ssh_lockout;
pub mod unassigned_port;
pub mod unreachable_bind;
pub mod unused_definition;
pub mod unused_suppression;

use super::context::Check;
use super::LintRule;

/// Declares [`ALL`] and [`CHECKS`] from one list of `path::RULE [=> path::check]`.
macro_rules! registry {
    ($($rule:path $(=> $check:path)?),* $(,)?) => {
        /// Every rule, in code order.
        pub static ALL: &[&LintRule] = &[$(&$rule),*];

        /// The rules that run over a resolved policy, with their checks, in code order.
        pub static CHECKS: &[(&LintRule, Check)] = &[$($((&$rule, $check),)?)*];
    };
}

registry! {
    crate::rule::SYNTAX_ERROR,
    crate::rule::INCLUDE_ERROR,
    crate::rule::EMPTY_POLICY,
    unused_suppression::UNUSED_SUPPRESSION,
    crate::rule::UNKNOWN_SERVICE,
    crate::rule::UNKNOWN_NET,
    crate::rule::DUPLICATE_DEFINITION,
    crate::rule::INVALID_PORT,
    crate::rule::INVALID_ADDRESS,
    crate::rule::HOST_BITS_SET,
    unused_definition::UNUSED_DEFINITION => unused_definition::check,
    privileged_port::PRIVILEGED_PORT => privileged_port::check,
    crate::rule::PROTOCOL_MISMATCH,
    bind_conflict::BIND_CONFLICT => bind_conflict::check,
    ephemeral_port::EPHEMERAL_PORT => ephemeral_port::check,
    registry_mismatch::REGISTRY_MISMATCH => registry_mismatch::check,
    broad_protocol::BROAD_PROTOCOL => broad_protocol::check,
    unassigned_port::UNASSIGNED_PORT => unassigned_port::check,
    shadowed_rule::SHADOWED_RULE => shadowed_rule::check,
    redundant_rule::REDUNDANT_RULE => redundant_rule::check,
    overlapping_rules::OVERLAPPING_RULES => overlapping_rules::check,
    insecure_service::INSECURE_SERVICE => insecure_service::check,
    exposed_admin_port::EXPOSED_ADMIN_PORT => exposed_admin_port::check,
    any_port_open::ANY_PORT_OPEN => any_port_open::check,
    ssh_lockout::SSH_LOCKOUT => ssh_lockout::check,
    icmpv6_blocked::ICMPV6_BLOCKED => icmpv6_blocked::check,
    ftp_data_channel::FTP_DATA_CHANNEL => ftp_data_channel::check,
    unreachable_bind::UNREACHABLE_BIND => unreachable_bind::check,
    allow_without_bind::ALLOW_WITHOUT_BIND => allow_without_bind::check,
}

// Rules that other modules report by name.
pub use crate::rule::EMPTY_POLICY;
pub use crate::rule::SYNTAX_ERROR;
pub use unused_suppression::UNUSED_SUPPRESSION;
