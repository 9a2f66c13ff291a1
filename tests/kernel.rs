//! Kernel tests: the proof that a compiled ruleset does exactly what its policy says, with real
//! packets through a real kernel.
//!
//! Each test builds network namespaces joined by veth pairs (see [`topology`]), loads the
//! compiled ruleset into the server's namespace with `nft`, and sends probes from the client: TCP
//! connections and UDP datagrams from chosen source addresses. Every outcome is held against the
//! model's first-match evaluation ([`portcullis::model::Chain::evaluate`]): a probe the policy
//! allows must connect (or be echoed), one it denies must time out, and one it rejects must be
//! refused. Failures print the policy, the ruleset, and each disagreeing probe with the rule that
//! decides it.
//!
//! The tests need root, `ip` and `nft`; without them they are skipped with a message, except on
//! CI (`CI=true`) where they fail.

mod addresses;
mod env;
mod listen;
mod netns;
mod oracle;
mod plan;
mod probe;
mod rng;
mod ruleset;
mod scenario;
mod topology;
mod verify;

mod atomic;
mod constructs;
mod examples;
mod forwarding;
mod harness;
mod ipv6;
mod random_policies;
mod rate_limits;
