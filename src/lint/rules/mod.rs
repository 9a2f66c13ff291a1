//! Every lint rule, one per file. The list below is the registry: a rule not listed here does not
//! exist, and a test checks that names and codes are unique.

pub mod duplicate_definition;
pub mod empty_policy;
pub mod host_bits_set;
pub mod include_error;
pub mod invalid_address;
pub mod invalid_port;
pub mod syntax_error;
pub mod unknown_net;
pub mod unknown_service;

use super::LintRule;

pub use duplicate_definition::DUPLICATE_DEFINITION;
pub use empty_policy::EMPTY_POLICY;
pub use host_bits_set::HOST_BITS_SET;
pub use include_error::INCLUDE_ERROR;
pub use invalid_address::INVALID_ADDRESS;
pub use invalid_port::INVALID_PORT;
pub use syntax_error::SYNTAX_ERROR;
pub use unknown_net::UNKNOWN_NET;
pub use unknown_service::UNKNOWN_SERVICE;

/// All rules, in code order.
pub static ALL: &[&LintRule] = &[
    &SYNTAX_ERROR,
    &INCLUDE_ERROR,
    &EMPTY_POLICY,
    &UNKNOWN_SERVICE,
    &UNKNOWN_NET,
    &DUPLICATE_DEFINITION,
    &INVALID_PORT,
    &INVALID_ADDRESS,
    &HOST_BITS_SET,
];
