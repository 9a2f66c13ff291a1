//! Which probes prove an expectation: the model cuts its traffic into regions by the rule that
//! decides them ([`crate::model::expect::regions`]), and every region is probed at its edges:
//! the first and last port of its port ranges (and one between), the first and last address of
//! its address ranges, over each interface it covers, in its family.
//!
//! A region is probed along each dimension from one base packet rather than over the product of
//! all of them: an error of the ruleset at a boundary shows on the probe that crosses it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::lab::addresses::{from_number, ranges, usable};
use crate::lab::oracle::{Path, Routed};
use crate::lab::probe::Probe;
use crate::lab::topology::{
    can_name_server_link, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, TARGET_V4, TARGET_V6,
};
use crate::model::compare::Region;
use crate::model::{AddrSet, Chain, ChainKind, Expectation, Family, Host, Protocol};

/// At most this many probes for one expectation; beyond it, each region keeps its first probe
/// and the rest are thinned evenly.
const MAX_PROBES: usize = 300;
/// Ranges of one set (ports or addresses) whose edges are probed: the first few and the last.
const FIRST_RANGES: usize = 3;
/// How far from an unusable edge (`0.0.0.0`, a broadcast) a usable address is looked for.
const NEARBY: u128 = 64;
/// Names the server's link takes for traffic on interfaces the policy does not name.
const UNNAMED: [&str; 4] = ["pcs0", "pcs1", "pcx0", "pcx1"];

/// Where a namespace's address lives in the lab network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Client,
    Server,
    Target,
}

/// A probe and the name the server's link has while it is sent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planned {
    pub routed: Routed,
    pub interface: String,
}

/// The probes of one expectation, and what of its traffic no probe can reach.
#[derive(Debug, Clone, Default)]
pub struct ExpectationPlan {
    pub probes: Vec<Planned>,
    /// Parts of the traffic proven by the model only, in words.
    pub unprobed: Vec<String>,
}

/// The lab addresses the probes use, by role; an address has one role.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    roles: BTreeMap<IpAddr, Role>,
}

impl Addresses {
    /// The extra addresses (not the topology's own) of one role.
    pub fn of(&self, role: Role) -> Vec<IpAddr> {
        self.roles
            .iter()
            .filter(|(a, r)| **r == role && !is_primary(**a))
            .map(|(a, _)| *a)
            .collect()
    }

    fn claim(&mut self, addr: IpAddr, role: Role) -> bool {
        if is_primary(addr) {
            return primary_role(addr) == Some(role);
        }
        *self.roles.entry(addr).or_insert(role) == role
    }

    /// Addresses of `set`'s `family` part for probes in `role`: the primary address of the role
    /// when the set holds it, then the edges of the set's ranges, each moved inwards to the
    /// nearest address a lab host can have.
    fn pick(&mut self, set: &AddrSet, family: Family, role: Role) -> Vec<IpAddr> {
        let ranges = ranges(set, family);
        let mut picked = Vec::new();
        let primary = primary(role, family);
        if set.contains(primary) {
            picked.push(primary);
        }
        let blocks = unicast(family);
        let edges = edge_ranges(&ranges).flat_map(|&(lo, hi)| {
            // Edges outside the unicast space (`0.0.0.0`, multicast) move to its edges.
            blocks
                .iter()
                .map(move |&(first, last)| (lo.max(first), hi.min(last)))
                .filter(|(lo, hi)| lo <= hi)
        });
        for (lo, hi) in edges {
            let up = (lo..=hi).take(NEARBY as usize);
            let down = (lo..=hi).rev().take(NEARBY as usize);
            for candidates in [
                Box::new(up) as Box<dyn Iterator<Item = u128>>,
                Box::new(down),
            ] {
                let found = candidates
                    .map(|n| from_number(family, n))
                    .find(|&a| usable(a) && self.claim(a, role));
                if let Some(addr) = found {
                    if !picked.contains(&addr) {
                        picked.push(addr);
                    }
                }
            }
        }
        picked
    }
}

/// Plans the probes of every expectation of a chain.
pub fn plan_chain(
    host: &Host,
    chain: &Chain,
    addresses: &mut Addresses,
) -> Vec<(usize, ExpectationPlan)> {
    let Some(path) = path_of(chain.kind) else {
        return Vec::new();
    };
    let unnamed = unnamed_interface(host);
    chain
        .expectations
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                i,
                plan_expectation(host, chain, e, path, &unnamed, addresses),
            )
        })
        .collect()
}

fn plan_expectation(
    host: &Host,
    chain: &Chain,
    expectation: &Expectation,
    path: Path,
    unnamed: &str,
    addresses: &mut Addresses,
) -> ExpectationPlan {
    let mut plan = ExpectationPlan::default();
    if !expectation.resolved {
        plan.unprobed
            .push("everything: a name in it did not resolve".to_string());
        return plan;
    }
    note_unprobeable_traffic(expectation, &mut plan.unprobed);
    let needs_target = path == Path::Forward || !host.forwards.is_empty();
    let (src_role, dst_role) = match path {
        Path::Input => (Role::Client, Role::Server),
        Path::Forward => (Role::Client, Role::Target),
        Path::Output => (Role::Server, Role::Client),
    };
    let mut per_region: Vec<Vec<Planned>> = Vec::new();
    for region in crate::model::expect::regions(chain, expectation) {
        let mut interfaces = Vec::new();
        if region.all_interfaces {
            interfaces.push(unnamed.to_string());
        } else {
            for (name, translated) in &region.interfaces {
                if *translated {
                    note(&mut plan.unprobed, "connections a port forward translated");
                    continue;
                }
                match name {
                    None => interfaces.push(unnamed.to_string()),
                    Some(name) if can_name_server_link(name, needs_target) => {
                        interfaces.push(name.clone())
                    }
                    Some(name) => note(
                        &mut plan.unprobed,
                        &format!("traffic on `{name}` (the lab cannot give a link that name)"),
                    ),
                }
            }
        }
        let sources = addresses.pick(&region.src, region.family, src_role);
        let destinations = addresses.pick(&region.dst, region.family, dst_role);
        let ports = region_ports(&region);
        let (Some(&src), Some(&dst), Some(&(protocol, port)), Some(interface)) = (
            sources.first(),
            destinations.first(),
            ports.first(),
            interfaces.first(),
        ) else {
            if sources.is_empty() || destinations.is_empty() {
                note(
                    &mut plan.unprobed,
                    &format!(
                        "{} addresses no lab host can have ({} to {})",
                        family_name(region.family),
                        region.src,
                        region.dst
                    ),
                );
            }
            continue;
        };
        let base = Probe {
            protocol,
            src,
            dst,
            port,
        };
        let mut probes: Vec<Planned> = Vec::new();
        let mut add = |probe: Probe, interface: &str| {
            let planned = Planned {
                routed: Routed { path, probe },
                interface: interface.to_string(),
            };
            if !probes.contains(&planned) {
                probes.push(planned);
            }
        };
        for &(protocol, port) in &ports {
            add(
                Probe {
                    protocol,
                    port,
                    ..base.clone()
                },
                interface,
            );
        }
        for &src in &sources {
            add(
                Probe {
                    src,
                    ..base.clone()
                },
                interface,
            );
        }
        for &dst in &destinations {
            add(
                Probe {
                    dst,
                    ..base.clone()
                },
                interface,
            );
        }
        for interface in &interfaces {
            add(base.clone(), interface);
        }
        per_region.push(probes);
    }
    plan.probes = thin(per_region);
    plan
}

/// The probes of every region, at most [`MAX_PROBES`]: each region's first, then evenly from
/// the rest (or evenly among the regions' first, when there are more regions than that).
fn thin(per_region: Vec<Vec<Planned>>) -> Vec<Planned> {
    // Regions of the accept and the drop comparison overlap where a rate limit decides.
    let mut seen = std::collections::BTreeSet::new();
    let per_region: Vec<Vec<Planned>> = per_region
        .into_iter()
        .map(|probes| {
            probes
                .into_iter()
                .filter(|p| seen.insert(p.clone()))
                .collect()
        })
        .collect();
    let total: usize = per_region.iter().map(Vec::len).sum();
    if total <= MAX_PROBES {
        return per_region.into_iter().flatten().collect();
    }
    let mut kept: Vec<Planned> = Vec::new();
    let mut rest: Vec<Planned> = Vec::new();
    for mut probes in per_region {
        if !probes.is_empty() {
            kept.push(probes.remove(0));
        }
        rest.extend(probes);
    }
    if kept.len() > MAX_PROBES {
        // More regions than probes: every rule decides a region of its own. Evenly among them.
        let step = kept.len().div_ceil(MAX_PROBES);
        return kept.into_iter().step_by(step).collect();
    }
    let room = MAX_PROBES - kept.len();
    if room > 0 && !rest.is_empty() {
        let step = rest.len().div_ceil(room);
        kept.extend(rest.into_iter().step_by(step.max(1)));
    }
    kept
}

/// Each TCP and UDP port range of the region as its first and last port and one between.
fn region_ports(region: &Region) -> Vec<(Protocol, u16)> {
    let mut points = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let ranges: Vec<(u128, u128)> = region
            .traffic
            .of(protocol)
            .ranges()
            .iter()
            .map(|&(lo, hi)| (u128::from(lo.max(1)), u128::from(hi)))
            .filter(|(lo, hi)| lo <= hi)
            .collect();
        for &(lo, hi) in edge_ranges(&ranges) {
            for port in [lo, lo + (hi - lo) / 2, hi] {
                let point = (protocol, port as u16);
                if !points.contains(&point) {
                    points.push(point);
                }
            }
        }
    }
    points
}

/// The first few ranges and the last.
fn edge_ranges(ranges: &[(u128, u128)]) -> impl Iterator<Item = &(u128, u128)> {
    let last = ranges.len().saturating_sub(1).max(FIRST_RANGES);
    ranges
        .iter()
        .enumerate()
        .filter(move |(i, _)| *i < FIRST_RANGES || *i == last)
        .map(|(_, r)| r)
}

/// What of the expectation's traffic sockets cannot send.
fn note_unprobeable_traffic(expectation: &Expectation, unprobed: &mut Vec<String>) {
    for protocol in expectation.traffic.protocols() {
        if !matches!(protocol, Protocol::Tcp | Protocol::Udp) {
            note(
                unprobed,
                &format!("{protocol} (only TCP and UDP are probed)"),
            );
        }
    }
    if expectation.traffic.has_portless() {
        note(
            unprobed,
            "ICMP and other protocols without ports (only TCP and UDP are probed)",
        );
    }
}

fn note(unprobed: &mut Vec<String>, what: &str) {
    if !unprobed.iter().any(|u| u == what) {
        unprobed.push(what.to_string());
    }
}

/// The chain a probe's path crosses.
fn path_of(kind: ChainKind) -> Option<Path> {
    [Path::Input, Path::Forward, Path::Output]
        .into_iter()
        .find(|p| p.chain() == kind)
}

/// A name for the server's link that no rule of the host names.
fn unnamed_interface(host: &Host) -> String {
    let named = |candidate: &str| {
        host.chains.iter().any(|chain| {
            chain.rules.iter().any(|r| {
                r.interface
                    .as_ref()
                    .is_some_and(|i| i.names().iter().any(|n| n == candidate))
            }) || chain.expectations.iter().any(|e| {
                e.interface
                    .as_ref()
                    .is_some_and(|i| i.names().iter().any(|n| n == candidate))
            })
        })
    };
    UNNAMED
        .iter()
        .find(|c| !named(c))
        .unwrap_or(&UNNAMED[0])
        .to_string()
}

fn primary(role: Role, family: Family) -> IpAddr {
    match (role, family) {
        (Role::Client, Family::V4) => IpAddr::V4(CLIENT_V4),
        (Role::Client, Family::V6) => IpAddr::V6(CLIENT_V6),
        (Role::Server, Family::V4) => IpAddr::V4(SERVER_V4),
        (Role::Server, Family::V6) => IpAddr::V6(SERVER_V6),
        (Role::Target, Family::V4) => IpAddr::V4(TARGET_V4),
        (Role::Target, Family::V6) => IpAddr::V6(TARGET_V6),
    }
}

fn primary_role(addr: IpAddr) -> Option<Role> {
    [Role::Client, Role::Server, Role::Target]
        .into_iter()
        .find(|&role| primary(role, Family::of(addr)) == addr)
}

fn is_primary(addr: IpAddr) -> bool {
    primary_role(addr).is_some()
}

/// The blocks lab hosts take their addresses from: `1.0.0.0` to `223.255.255.255`; IPv6's global
/// unicast `2000::/3` and unique local `fc00::/7`.
fn unicast(family: Family) -> &'static [(u128, u128)] {
    const V4: [(u128, u128); 1] = [(0x0100_0000, 0xdfff_ffff)];
    const V6: [(u128, u128); 2] = [
        (0x2000 << 112, (0x4000 << 112) - 1),
        (0xfc00 << 112, (0xfe00 << 112) - 1),
    ];
    match family {
        Family::V4 => &V4,
        Family::V6 => &V6,
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(text: &str) -> Vec<ExpectationPlan> {
        let checked = crate::pipeline::check_text("p.pcl", text);
        let host = &checked.policy.hosts[0];
        let mut addresses = Addresses::default();
        host.chains
            .iter()
            .flat_map(|c| plan_chain(host, c, &mut addresses))
            .map(|(_, plan)| plan)
            .collect()
    }

    fn shown(plan: &ExpectationPlan) -> Vec<String> {
        plan.probes
            .iter()
            .map(|p| format!("{} on {}", p.routed.probe, p.interface))
            .collect()
    }

    #[test]
    fn every_region_is_probed_at_its_edges() {
        let plans = plans(
            "net admins = 192.0.2.0/28\ninput drop {\n  allow tcp/8000-8099 from admins\n  \
             reject tcp/8050\n  expect closed tcp/8040-8060 from !admins\n}\n",
        );
        let probes = shown(&plans[0]).join("\n");
        // The expectation's range and the reject's single port, each at its edges.
        for needle in [
            "tcp/8040 ",
            "tcp/8049 ",
            "tcp/8050 ",
            "tcp/8051 ",
            "tcp/8060 ",
        ] {
            assert!(probes.contains(needle), "{needle}:\n{probes}");
        }
        // Just outside the net on both sides, never inside it.
        assert!(probes.contains("from 192.0.2.16 "), "{probes}");
        assert!(probes.contains("from 192.0.1.255 "), "{probes}");
        assert!(!probes.contains("from 192.0.2.1 "), "{probes}");
        // Both families; no address a lab host cannot have.
        assert!(probes.contains("from fd00:99::2 "), "{probes}");
        assert!(!probes.contains("from 0.0.0.0 ") && !probes.contains("from 255."));
    }

    #[test]
    fn unique_local_and_global_ipv6_nets_are_probed() {
        let plans = plans(
            "net lan = fd12:3456:789a::/64, 2001:db8:5::/64\ninput drop {\n  \
             allow ssh from lan\n  expect open ssh from lan\n}\n",
        );
        assert!(plans[0].unprobed.is_empty(), "{:?}", plans[0].unprobed);
        let probes = shown(&plans[0]).join("\n");
        assert!(probes.contains("from fd12:3456:789a:: "), "{probes}");
        assert!(
            probes.contains("from 2001:db8:5:0:ffff:ffff:ffff:ffff "),
            "{probes}"
        );
    }

    #[test]
    fn interfaces_get_links_of_their_names_and_lo_is_not_probed() {
        let plans = plans(
            "input drop {\n  allow ssh on eth1\n  expect open ssh on eth1\n  \
             expect closed ssh on !eth1, !lo\n  expect open ssh on lo\n}\n",
        );
        assert!(plans[0].probes.iter().all(|p| p.interface == "eth1"));
        assert!(plans[1]
            .probes
            .iter()
            .all(|p| p.interface != "eth1" && p.interface != "lo"));
        assert!(plans[2].probes.is_empty());
        assert!(
            plans[2].unprobed[0].contains("`lo`"),
            "{:?}",
            plans[2].unprobed
        );
    }

    #[test]
    fn what_sockets_cannot_send_is_named_and_many_regions_are_thinned() {
        let mut text = String::from("input drop {\n");
        for port in 0..400 {
            text.push_str(&format!("  allow tcp/{}\n", 1000 + 2 * port));
        }
        text.push_str("  expect closed icmp, tcp/20000\n  expect open tcp/1000-1800\n}\n");
        let plans = plans(&text);
        assert!(
            plans[0].unprobed[0].contains("ICMP"),
            "{:?}",
            plans[0].unprobed
        );
        assert!(
            plans[1].probes.len() <= MAX_PROBES,
            "{}",
            plans[1].probes.len()
        );
        assert!(plans[1].probes.len() > MAX_PROBES / 2);
    }
}
