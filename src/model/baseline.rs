//! The baseline: what every generated filter chain does before the policy's own rules, part by
//! part as `compile: baseline:` in portcullis.yaml switches them. The compiler writes these parts
//! as nftables rules; the model holds them as rules of the chain, so that `explain`, the lints and
//! the kernel tests see what the ruleset does.
//!
//! The ICMP part follows RFC 4890 for ICMPv6: without neighbour discovery a default-drop input
//! chain cuts a host off IPv6 entirely, and without packet-too-big path MTU discovery fails.

/// ICMP types every chain accepts: echo-request, destination-unreachable, time-exceeded,
/// parameter-problem.
pub const ICMP_HOST: &[u8] = &[8, 3, 11, 12];
/// RFC 4890 4.3.1 / 4.4.1: errors and echo, for hosts and routers alike: destination-unreachable,
/// packet-too-big, time-exceeded, parameter-problem, echo-request, echo-reply.
pub const ICMPV6_ERRORS_ECHO: &[u8] = &[1, 2, 3, 4, 128, 129];
/// Neighbour discovery, only valid on the link (hop limit 255): router solicitation and
/// advertisement, neighbour solicitation and advertisement.
pub const ICMPV6_ND: &[u8] = &[133, 134, 135, 136];
/// Multicast listener discovery, sent from link-local addresses with a hop limit of 1: query,
/// report, done, and version 2 report.
pub const ICMPV6_MLD: &[u8] = &[130, 131, 132, 143];

/// A list of types as the ranges nft matches, in the order given.
pub fn ranges(types: &[u8]) -> Vec<(u8, u8)> {
    types.iter().map(|&t| (t, t)).collect()
}
