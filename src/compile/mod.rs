//! Model -> nftables: one host of a resolved policy as a table of its own, written as an `nft -f`
//! script or as libnftables JSON.
//!
//! - The ruleset owns exactly one table (`table inet portcullis`, or `compile: table:` in
//!   portcullis.yaml) and replaces it atomically; no other table is touched.
//! - Each chain the host writes becomes a base chain with the same first-match meaning as
//!   [`crate::model::Chain::evaluate`], after a baseline (conntrack, loopback, ICMP/ICMPv6) that
//!   portcullis.yaml can switch off part by part.
//! - Rules that differ only in their ports become one verdict map, and runs of rules from disjoint
//!   sources one map per family keyed by the source, so the rules a packet traverses do not grow
//!   with the number of rules, sources, ports or port ranges in the policy.
//!
//! docs/compile.md describes the generated ruleset for operators.

mod baseline;
mod compile_error;
mod json;
mod lower;
mod names;
mod partition;
mod ruleset;
mod text;

#[cfg(test)]
mod tests;

pub use compile_error::CompileError;
pub use ruleset::{Ruleset, RulesetStats};

use crate::config::CompileConfig;
use crate::model::{Host, Policy};
use crate::source::Sources;

/// Compiles one host. Rule comments name the rules by chain and position (`input rule 3`).
pub fn compile_host(
    policy: &Policy,
    host: &Host,
    config: &CompileConfig,
) -> Result<Ruleset, CompileError> {
    lower::compile(policy, host, config, None)
}

/// Compiles one host; rule comments name the source lines (`web.pcl:12-14`) the rules came from.
pub fn compile_host_with_sources(
    policy: &Policy,
    host: &Host,
    config: &CompileConfig,
    sources: &Sources,
) -> Result<Ruleset, CompileError> {
    lower::compile(policy, host, config, Some(sources))
}

impl Ruleset {
    /// The ruleset as a script for `nft -f`.
    pub fn to_nft(&self) -> String {
        text::render(self)
    }

    /// The ruleset as libnftables JSON for `nft -j -f`.
    pub fn to_json(&self) -> String {
        json::render(self)
    }
}
