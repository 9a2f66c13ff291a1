//! The one semantic model of a policy: what `check`, `explain` and `compile` all ask.
//!
//! [`Policy`] is the resolved policy; [`Chain::evaluate`] is the reference first-match semantics
//! for one packet, and [`Chain::coverage`] the exact analysis of every rule at once.

mod addr_set;
mod coverage;
mod evaluate;
mod interval_set;
mod policy;
mod port_range;
mod protocol;
mod run_map;
mod traffic;

pub use addr_set::{AddrSet, Family};
pub use coverage::{Coverage, RuleCoverage};
pub use evaluate::{Decision, Packet};
pub use interval_set::{IntervalSet, Point};
pub use policy::{
    Bind, Chain, Forward, Host, Limit, NetDefinition, Origin, Policy, Rule, ServiceDefinition,
    ServiceUse,
};
pub use port_range::PortRange;
pub use protocol::Protocol;
pub use traffic::Traffic;
