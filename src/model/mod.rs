//! The one semantic model of a policy: what `check`, `explain` and `compile` all ask.
//!
//! [`Policy`] is the resolved policy; [`Chain::evaluate`] is the reference first-match semantics
//! for one packet, and [`Chain::coverage`] the exact analysis of every rule at once.

mod addr_set;
pub mod baseline;
pub mod compare;
mod coverage;
mod evaluate;
pub mod expect;
pub mod icmp;
mod interfaces;
mod interval_set;
pub mod ip_protocol;
mod policy;
mod port_range;
mod protocol;
mod reach;
mod run_map;
mod traffic;
mod transport;
mod traversal;
pub mod values;
mod vocabulary;

pub use addr_set::{AddrSet, Family};
pub use coverage::{Coverage, RuleCoverage};
pub use evaluate::{Decision, Packet};
pub use interfaces::Interfaces;
pub use interval_set::{IntervalSet, Point};
pub use policy::{
    BaselinePart, Bind, Chain, ExpectKind, Expectation, Forward, Host, Limit, NetDefinition,
    Origin, Policy, Rule, RuleOrigin, ServiceDefinition, ServiceUse, SourceNat,
};
pub use port_range::PortRange;
pub use protocol::Protocol;
pub use reach::Reach;
pub use traffic::Traffic;
pub use transport::Transport;
pub use traversal::Traversal;
pub use vocabulary::{ChainKind, RateUnit, Verdict};
