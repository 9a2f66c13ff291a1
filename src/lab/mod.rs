//! A throw-away network to prove a ruleset in: network namespaces joined by veth pairs, a
//! ruleset loaded into the middle one, real TCP and UDP probes through it, and each outcome held
//! against the model ([`oracle`], the same [`crate::model::Host::traverse`] `explain` prints).
//!
//! `portcullis test` ([`crate::proof`]) and the kernel tests (`tests/kernel/`) build on it.
//! Everything here needs root, `ip` and `nft`; failures to set the network up are
//! [`LabError`]s, never panics.

pub mod addresses;
mod error;
pub mod listen;
pub mod netns;
pub mod oracle;
pub mod probe;
pub mod run;
pub mod topology;

pub use error::LabError;
