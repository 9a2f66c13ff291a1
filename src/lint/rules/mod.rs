//! Every lint rule, one per file. The list below is the registry: a rule not listed here does not
//! exist, and a test checks that names and codes are unique.

pub mod allow_without_bind;
pub mod any_port_open;
pub mod bind_conflict;
pub mod broad_protocol;
pub mod empty_policy;
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
// The rules the front end reports while reading and resolving, listed here with the others.
pub use crate::rule::{
    DUPLICATE_DEFINITION, HOST_BITS_SET, INCLUDE_ERROR, INVALID_ADDRESS, INVALID_PORT,
    PROTOCOL_MISMATCH, SYNTAX_ERROR, UNKNOWN_NET, UNKNOWN_SERVICE,
};

pub use allow_without_bind::ALLOW_WITHOUT_BIND;
pub use any_port_open::ANY_PORT_OPEN;
pub use bind_conflict::BIND_CONFLICT;
pub use broad_protocol::BROAD_PROTOCOL;
pub use empty_policy::EMPTY_POLICY;
pub use ephemeral_port::EPHEMERAL_PORT;
pub use exposed_admin_port::EXPOSED_ADMIN_PORT;
pub use ftp_data_channel::FTP_DATA_CHANNEL;
pub use icmpv6_blocked::ICMPV6_BLOCKED;
pub use insecure_service::INSECURE_SERVICE;
pub use overlapping_rules::OVERLAPPING_RULES;
pub use privileged_port::PRIVILEGED_PORT;
pub use redundant_rule::REDUNDANT_RULE;
pub use registry_mismatch::REGISTRY_MISMATCH;
pub use shadowed_rule::SHADOWED_RULE;
pub use ssh_lockout::SSH_LOCKOUT;
pub use unassigned_port::UNASSIGNED_PORT;
pub use unreachable_bind::UNREACHABLE_BIND;
pub use unused_definition::UNUSED_DEFINITION;
pub use unused_suppression::UNUSED_SUPPRESSION;

/// All rules, in code order.
pub static ALL: &[&LintRule] = &[
    &SYNTAX_ERROR,
    &INCLUDE_ERROR,
    &EMPTY_POLICY,
    &UNUSED_SUPPRESSION,
    &UNKNOWN_SERVICE,
    &UNKNOWN_NET,
    &DUPLICATE_DEFINITION,
    &INVALID_PORT,
    &INVALID_ADDRESS,
    &HOST_BITS_SET,
    &UNUSED_DEFINITION,
    &PRIVILEGED_PORT,
    &PROTOCOL_MISMATCH,
    &BIND_CONFLICT,
    &EPHEMERAL_PORT,
    &REGISTRY_MISMATCH,
    &BROAD_PROTOCOL,
    &UNASSIGNED_PORT,
    &SHADOWED_RULE,
    &REDUNDANT_RULE,
    &OVERLAPPING_RULES,
    &INSECURE_SERVICE,
    &EXPOSED_ADMIN_PORT,
    &ANY_PORT_OPEN,
    &SSH_LOCKOUT,
    &ICMPV6_BLOCKED,
    &FTP_DATA_CHANNEL,
    &UNREACHABLE_BIND,
    &ALLOW_WITHOUT_BIND,
];

/// The rules that run over a resolved policy, with their checks. Rules not listed here are
/// reported by the parser or the resolver.
pub static CHECKS: &[(&LintRule, Check)] = &[
    (&SHADOWED_RULE, shadowed_rule::check),
    (&REDUNDANT_RULE, redundant_rule::check),
    (&OVERLAPPING_RULES, overlapping_rules::check),
    (&PRIVILEGED_PORT, privileged_port::check),
    (&BIND_CONFLICT, bind_conflict::check),
    (&EPHEMERAL_PORT, ephemeral_port::check),
    (&REGISTRY_MISMATCH, registry_mismatch::check),
    (&BROAD_PROTOCOL, broad_protocol::check),
    (&UNASSIGNED_PORT, unassigned_port::check),
    (&UNUSED_DEFINITION, unused_definition::check),
    (&INSECURE_SERVICE, insecure_service::check),
    (&EXPOSED_ADMIN_PORT, exposed_admin_port::check),
    (&ANY_PORT_OPEN, any_port_open::check),
    (&SSH_LOCKOUT, ssh_lockout::check),
    (&ICMPV6_BLOCKED, icmpv6_blocked::check),
    (&FTP_DATA_CHANNEL, ftp_data_channel::check),
    (&UNREACHABLE_BIND, unreachable_bind::check),
    (&ALLOW_WITHOUT_BIND, allow_without_bind::check),
];
