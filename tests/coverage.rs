//! The coverage analysis against brute force: random small policies over a tiny universe
//! (eight port positions, addresses in 10.0.0.0/29 and fd00::/126, one named interface), where
//! evaluating every packet one by one is cheap and obviously right.
//!
//! Port position `p` (1-8) is port [`SPREAD`]`[p]`, spread over the whole port space so that the
//! analysis's data structures are exercised far apart; a range of positions `p-q` covers ports
//! `SPREAD[p]` to `SPREAD[q + 1] - 1`. Every rule's ports are then made of the pieces
//! `SPREAD[p]` and `SPREAD[p] + 1 ..= SPREAD[p + 1] - 1`, and the universe holds one port of each.

use std::net::IpAddr;

use portcullis::model::{BaselinePart, Chain, Packet, Protocol, RuleOrigin, Transport};
use portcullis::pipeline::check_text;
use proptest::prelude::*;

const NETS: &[&str] = &[
    "10.0.0.0/30",
    "10.0.0.2/31",
    "10.0.0.4/30",
    "10.0.0.0/29",
    "10.0.0.5",
    "10.0.0.6",
    "10.0.0.1",
    "fd00::3",
    "fd00::/127",
    "fd00::2/127",
    "fd00::/126",
    "any",
    "!10.0.0.0/30",
    "!10.0.0.4/30, !fd00::/127",
];

/// Where port position `p` is; position 9 is the first port after the last range.
const SPREAD: [u16; 10] = [0, 1, 70, 4100, 30000, 33000, 40000, 60000, 65000, 65100];

pub(crate) fn universe() -> Vec<Packet> {
    let mut addrs: Vec<IpAddr> = (0..8)
        .map(|i| format!("10.0.0.{i}").parse().unwrap())
        .collect();
    addrs.push("11.0.0.1".parse().unwrap());
    addrs.extend((0..4).map(|i| format!("fd00::{i}").parse::<IpAddr>().unwrap()));
    addrs.push("fd01::1".parse().unwrap());
    // Link-local, where the baseline's multicast listener discovery comes from.
    addrs.push("fe80::1".parse().unwrap());
    let mut transports = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let pieces = (1..=8).flat_map(|p| [SPREAD[p], SPREAD[p] + 1]);
        let ports = [0].into_iter().chain(pieces).chain([SPREAD[9], 65535]);
        transports.extend(ports.map(|port| Transport::Port(protocol, port)));
    }
    // Echo requests and another type of each ICMP, and two protocols without ports.
    transports.extend([
        Transport::Icmp(8),
        Transport::Icmp(0),
        Transport::Icmpv6(128),
        Transport::Icmpv6(135),
        Transport::Icmpv6(130),
        // A type the baseline accepts and no generated rule names, of each family.
        Transport::Icmp(3),
        Transport::Icmpv6(1),
        Transport::Icmpv6(129),
        Transport::Other(47),
        Transport::Other(50),
    ]);
    let mut packets = Vec::new();
    for &transport in &transports {
        for &src in &addrs {
            for &dst in &addrs {
                let family = transport.family();
                if src.is_ipv4() != dst.is_ipv4()
                    || family.is_some_and(|f| f != portcullis::model::Family::of(src))
                {
                    continue;
                }
                for interface in [Some("eth0".to_string()), Some("lo".to_string()), None] {
                    packets.push(Packet {
                        transport,
                        src,
                        dst,
                        interface,
                        translated: false,
                    });
                }
            }
        }
    }
    packets
}

fn arb_services() -> impl Strategy<Value = String> {
    let range = |p: usize, n: usize| format!("{}-{}", SPREAD[p], SPREAD[(p + n).min(8) + 1] - 1);
    let one = prop_oneof![
        (1usize..=8).prop_map(|p| format!("tcp/{}", SPREAD[p])),
        (1usize..=8).prop_map(|p| format!("udp/{}", SPREAD[p])),
        (1usize..=8, 0usize..4).prop_map(move |(p, n)| format!("tcp/{}", range(p, n))),
        (1usize..=8, 0usize..4).prop_map(move |(p, n)| format!("udp/{}", range(p, n))),
        Just("tcp".to_string()),
        Just("icmp/echo-request".to_string()),
        Just("icmp".to_string()),
        Just("icmpv6 echo-request".to_string()),
        Just("gre".to_string()),
    ];
    prop_oneof![
        3 => prop::collection::vec(one, 1..3).prop_map(|v| v.join(", ")),
        1 => Just(String::new()),
    ]
}

pub(crate) fn arb_rule() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("allow"), Just("deny"), Just("reject")],
        arb_services(),
        prop::option::weighted(0.6, prop::sample::select(NETS)),
        prop::option::weighted(0.2, prop::sample::select(NETS)),
        prop::option::weighted(
            0.15,
            prop::sample::select(&["eth0", "lo", "!eth0", "eth0, lo"][..]),
        ),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(verdict, services, from, to, on, limit)| {
            let mut rule = format!("  {verdict} {services}");
            if let Some(from) = from {
                rule.push_str(&format!(" from {from}"));
            }
            if let Some(to) = to {
                rule.push_str(&format!(" to {to}"));
            }
            if let Some(on) = on {
                rule.push_str(&format!(" on {on}"));
            }
            if limit {
                rule.push_str(" limit 5/second");
            }
            rule
        })
}

fn arb_policy() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("accept"), Just("drop"), Just("reject")],
        prop::collection::vec(arb_rule(), 1..8),
    )
        .prop_map(|(default, rules)| format!("input {default} {{\n{}\n}}\n", rules.join("\n")))
}

/// What brute force says about rule `r`.
struct Brute {
    matches_anything: bool,
    wins: bool,
    covered_by: Vec<usize>,
    needed: bool,
}

fn brute(chain: &Chain, r: usize, universe: &[Packet]) -> Brute {
    let rule = &chain.rules[r];
    let mut b = Brute {
        matches_anything: false,
        wins: false,
        covered_by: Vec::new(),
        needed: false,
    };
    for p in universe.iter().filter(|p| rule.matches(p)) {
        b.matches_anything = true;
        let earlier = (0..r).find(|&e| chain.rules[e].is_terminal() && chain.rules[e].matches(p));
        match earlier {
            Some(e) => {
                // The baseline's loopback part covers only rules that name `lo`.
                let quiet = chain.rules[e].origin == RuleOrigin::Baseline(BaselinePart::Loopback)
                    && !rule
                        .interface
                        .as_ref()
                        .is_some_and(|i| !i.is_negated() && i.names().iter().any(|n| n == "lo"));
                if !quiet && !b.covered_by.contains(&e) {
                    b.covered_by.push(e);
                }
            }
            None => {
                b.wins = true;
                let later = (r + 1..chain.rules.len())
                    .find(|&l| chain.rules[l].is_terminal() && chain.rules[l].matches(p));
                let verdict = later.map_or(chain.policy, |l| chain.rules[l].verdict);
                if verdict != rule.verdict {
                    b.needed = true;
                }
            }
        }
    }
    b.covered_by.sort_unstable();
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn coverage_agrees_with_brute_force(text in arb_policy()) {
        let checked = check_text("random.pcl", &text);
        // Lints may object (an input chain without ssh is a lock-out); the text must still parse
        // and resolve completely.
        let chain = &checked.policy.hosts[0].chains[0];
        prop_assert!(
            chain.rules.iter().all(|r| r.resolved)
                && checked.diagnostics.iter().all(|d| d.rule != "syntax-error"),
            "{text}\n{:?}",
            checked.diagnostics
        );
        let coverage = chain.coverage();
        // The cheaper analysis that finds winners only agrees with the full one.
        for (full, wins) in coverage.rules.iter().zip(&chain.winners().rules) {
            prop_assert_eq!(full.matches_anything, wins.matches_anything);
            prop_assert_eq!(&full.wins, &wins.wins, "{}", text);
        }
        let universe = universe();
        for (r, cov) in coverage.rules.iter().enumerate() {
            let b = brute(chain, r, &universe);
            prop_assert_eq!(cov.matches_anything, b.matches_anything, "matches, rule {}\n{}", r, text);
            prop_assert_eq!(cov.wins.is_some(), b.wins, "wins, rule {}\n{}", r, text);
            prop_assert_eq!(&cov.covering().collect::<Vec<_>>(), &b.covered_by, "covered_by, rule {}\n{}", r, text);
            // The first covering rule of each verdict, and only those, come with a packet.
            let firsts: Vec<usize> = cov.first_covering.iter().map(|(e, _)| *e).collect();
            let mut expected: Vec<usize> = Vec::new();
            for &e in &b.covered_by {
                if expected.iter().all(|&x| chain.rules[x].verdict != chain.rules[e].verdict) {
                    expected.push(e);
                }
            }
            prop_assert_eq!(firsts, expected, "first_covering, rule {}\n{}", r, text);
            prop_assert_eq!(cov.needed, b.needed, "needed, rule {}\n{}", r, text);
            // The example packets are real: the rule matches them and the named rule decides them.
            if let Some(p) = &cov.wins {
                prop_assert!(chain.rules[r].matches(p));
                let first = (0..r).find(|&e| chain.rules[e].is_terminal() && chain.rules[e].matches(p));
                prop_assert_eq!(first, None, "winning example {} of rule {}\n{}", p, r, text);
            }
            for (e, p) in &cov.first_covering {
                let e = *e;
                prop_assert!(chain.rules[r].matches(p));
                let first = (0..r).find(|&i| chain.rules[i].is_terminal() && chain.rules[i].matches(p));
                prop_assert_eq!(first, Some(e), "covering example {} of rule {}\n{}", p, r, text);
            }
        }
    }
}

#[test]
fn a_rule_covered_only_by_the_union_of_two_is_shadowed() {
    let text = "input drop {\n  deny tcp/1-5\n  deny tcp/4-9\n  allow tcp/2-8\n}\n";
    let checked = check_text("union.pcl", text);
    let shadowed: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.rule == "shadowed-rule")
        .collect();
    assert_eq!(shadowed.len(), 1, "{:?}", checked.diagnostics);
    assert_eq!(
        shadowed[0].secondary.len(),
        2,
        "both covering rules are shown"
    );
}

#[test]
fn a_rule_that_still_matches_one_packet_is_not_shadowed() {
    let text = "input drop {\n  deny tcp/1-5\n  deny tcp/7-9\n  allow tcp/2-8\n}\n";
    let checked = check_text("gap.pcl", text);
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| d.rule != "shadowed-rule"),
        "{:?}",
        checked.diagnostics
    );
    // ... and the overlap is explained with a concrete packet the earlier rule decides.
    let overlap = checked
        .diagnostics
        .iter()
        .find(|d| d.rule == "overlapping-rules")
        .expect("the partial overlap is reported");
    assert!(
        overlap.message.contains("e.g. tcp/2 is denied"),
        "{}",
        overlap.message
    );
}
