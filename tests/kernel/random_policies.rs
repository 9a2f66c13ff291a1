//! Random small policies, each compiled, loaded into one reused server namespace (every load
//! replaces the table) and probed on a random sample of packets against the model.
//!
//! Policies have 1–8 rules (16–22 in runs) over a small universe: allow/deny/reject, TCP and UDP ports and ranges
//! in 2000–2010, sources among a few nets of both families (literal, named, `any`, negated with
//! `!`), now and then a destination (negated or not), interfaces (a list, or negated), `log` or
//! `counter`, and a default of accept, drop or reject. Half draw their sources from
//! pairwise disjoint nets and single addresses instead, half of them after a block list of
//! `deny from ADDR` rules: the runs the compiler turns into source sets and verdict maps keyed by
//! the source. A quarter are runs of port rules from nested and overlapping nets, which the
//! compiler turns into a verdict map keyed by protocol and port. They are written as policy
//! text, so the parser and resolver are exercised too.
//!
//! `PORTCULLIS_KERNEL_CASES` sets the number of policies (default 200), `PORTCULLIS_KERNEL_SEED`
//! the seed (printed on failure; case `i` depends only on the seed and `i`). A failure is shrunk
//! to the fewest rules that still show it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use portcullis::model::Protocol;

use super::oracle::Path;
use super::oracle::Routed;
use super::probe::Probe;
use super::rng::Rng;
use super::ruleset::{self, Format};
use super::scenario::PolicyCase;
use super::topology::{Spec, Topology, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6};
use super::trials::say;
use super::verify::{self, Listening, Report};

const DEFAULT_CASES: usize = 200;
const DEFAULT_SEED: u64 = 0x00c0_ffee_5eed_2024;
const PORTS: std::ops::RangeInclusive<u16> = 2000..=2010;
const PROBES_PER_POLICY: usize = 40;
/// Answers on a veth take well under a millisecond; a disagreeing probe is asked again patiently.
const DEADLINE: Duration = Duration::from_millis(150);

/// Client sources: in and out of every net below.
fn sources() -> Vec<IpAddr> {
    let mut all = vec![IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6)];
    all.extend(extra_sources());
    all
}

fn extra_sources() -> Vec<IpAddr> {
    [
        "10.99.0.130",
        "192.0.2.10",
        "203.0.113.9",
        "fd00:99::8000:0:0:1",
        "2001:db8:1::10",
        "2001:db8:2::10",
    ]
    .iter()
    .map(|a| a.parse().expect("a valid address"))
    .collect()
}

/// Literal source nets, nested and disjoint, of both families.
const FROM: &[&str] = &[
    "10.99.0.0/24",
    "10.99.0.128/25",
    "10.99.0.130",
    "192.0.2.0/24",
    "fd00:99::/64",
    "fd00:99::8000:0:0:0/65",
    "2001:db8:1::/48",
    "any",
];

/// Named nets: (name, definition).
const NAMED: &[(&str, &str)] = &[
    ("lab", "10.99.0.0/24, fd00:99::/64"),
    ("guests", "10.99.0.128/25, 2001:db8:1::/48"),
    ("docs", "192.0.2.0/24, 2001:db8::/32"),
];

const TO: &[&str] = &[
    "10.99.0.1",
    "fd00:99::1",
    "10.98.0.0/16",
    "fd00:99::/64",
    "any",
];

/// Sources that are pairwise disjoint, each holding probe sources: runs of rules from these are
/// what the compiler turns into source sets and source-keyed verdict maps.
const DISJOINT_FROM: &[&str] = &[
    "10.99.0.2",
    "10.99.0.130, 2001:db8:2::10",
    "192.0.2.0/24",
    "203.0.113.9",
    "fd00:99::/64",
    "2001:db8:1::/48",
];

/// Single addresses among the probe sources, for block lists.
const SINGLE: &[&str] = &[
    "10.99.0.2",
    "10.99.0.130",
    "203.0.113.9",
    "fd00:99::2",
    "2001:db8:1::10",
    "2001:db8:2::10",
];

fn generate(rng: &mut Rng) -> String {
    let mut named = BTreeSet::new();
    let mut rules = Vec::new();
    // Half the policies are runs of rules from disjoint sources, half of them after a block
    // list of single addresses; a quarter are runs of port rules from nested and overlapping
    // nets; the rest draw sources from those nets too, in a few rules of every kind.
    let source_runs = rng.chance(50);
    let port_runs = !source_runs && rng.chance(50);
    // A run becomes a source map, or a port map, from 16 rules on.
    let count = if source_runs || port_runs {
        rng.between(16, 22)
    } else {
        rng.between(1, 8)
    } as usize;
    if source_runs && rng.chance(50) {
        let mut listed = BTreeSet::new();
        for _ in 0..rng.between(2, 6) {
            listed.insert(*rng.pick(SINGLE));
        }
        rules.extend(listed.iter().map(|a| format!("deny from {a}")));
    }
    while rules.len() < count {
        let mut rule = rng.pick(&["allow", "deny", "reject"]).to_string();
        if port_runs || !rng.chance(10) {
            let specs: Vec<String> = (0..rng.between(1, 3))
                .map(|_| {
                    let protocol = rng.pick(&["tcp", "udp"]);
                    let lo = rng.between(u64::from(*PORTS.start()), u64::from(*PORTS.end()));
                    if rng.chance(40) {
                        let hi = rng.between(lo, u64::from(*PORTS.end()));
                        format!("{protocol}/{lo}-{hi}")
                    } else {
                        format!("{protocol}/{lo}")
                    }
                })
                .collect();
            rule.push(' ');
            rule.push_str(&specs.join(", "));
        }
        if source_runs && !rng.chance(2) {
            let _ = write!(rule, " from {}", rng.pick(DISJOINT_FROM));
        } else if !source_runs && rng.chance(if port_runs { 85 } else { 60 }) {
            let members: Vec<String> = (0..rng.between(1, 2))
                .map(|_| {
                    if rng.chance(30) {
                        let (name, _) = rng.pick(NAMED);
                        named.insert(*name);
                        name.to_string()
                    } else {
                        rng.pick(FROM).to_string()
                    }
                })
                .collect();
            // Now and then the list negated: every source in none of the members.
            let members = if rng.chance(20) && !members.iter().any(|m| m == "any") {
                members.iter().map(|m| format!("!{m}")).collect()
            } else {
                members
            };
            let _ = write!(rule, " from {}", members.join(", "));
        }
        let runs = source_runs || port_runs;
        if rng.chance(if runs { 1 } else { 15 }) {
            let to = rng.pick(TO);
            let bang = if *to != "any" && rng.chance(25) {
                "!"
            } else {
                ""
            };
            let _ = write!(rule, " to {bang}{to}");
        }
        if rng.chance(if runs { 1 } else { 10 }) {
            let on = rng.pick(&[
                "pcs0",
                "pcs7",
                "pcs0, pcs7",
                "!pcs0",
                "!pcs7",
                "!pcs7, !pcs8",
            ]);
            let _ = write!(rule, " on {on}");
        }
        // In runs, a decorated rule now and then: it ends a run and must keep its place.
        if rng.chance(if runs { 2 } else { 15 }) {
            rule.push_str(if rng.chance(50) {
                " log"
            } else {
                " log \"rnd: \""
            });
        }
        if rng.chance(if runs { 1 } else { 10 }) {
            rule.push_str(" counter");
        }
        rules.push(rule);
    }
    let default = rng.pick(&["accept", "drop", "reject"]);
    write_policy(&named, default, &rules)
}

fn write_policy(named: &BTreeSet<&str>, default: &str, rules: &[String]) -> String {
    let mut text = String::new();
    for (name, definition) in NAMED {
        if named.contains(name) {
            let _ = writeln!(text, "net {name} = {definition}");
        }
    }
    // Management from a net no probe comes from keeps `ssh-lockout` quiet without touching the
    // port universe.
    let _ = writeln!(text, "input {default} {{\n  allow ssh from 198.18.0.0/15");
    for rule in rules {
        let _ = writeln!(text, "  {rule}");
    }
    text.push_str("}\n");
    text
}

/// The same policy with some rules left out (for shrinking).
fn without_rules(text: &str, drop: &BTreeSet<usize>) -> String {
    let mut index = 0;
    let mut out = String::new();
    let mut in_chain = false;
    for line in text.lines() {
        let rule_line =
            in_chain && line.starts_with("  ") && !line.contains("allow ssh from 198.18");
        if line.starts_with("input ") {
            in_chain = true;
        }
        if rule_line {
            let skip = drop.contains(&index);
            index += 1;
            if skip {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn rule_count(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("  ") && !l.contains("allow ssh from 198.18"))
        .count()
}

fn sample_probes(rng: &mut Rng) -> Vec<Routed> {
    let mut all = Vec::new();
    for src in sources() {
        let dst = match src {
            IpAddr::V4(_) => IpAddr::V4(SERVER_V4),
            IpAddr::V6(_) => IpAddr::V6(SERVER_V6),
        };
        for port in PORTS {
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                all.push(Routed {
                    path: Path::Input,
                    probe: Probe {
                        protocol,
                        src,
                        dst,
                        port,
                    },
                });
            }
        }
    }
    rng.sample(all, PROBES_PER_POLICY)
}

/// A policy the kernel and the model disagree on, or that does not even load.
struct Failure {
    message: String,
    /// The disagreeing probes, to replay while shrinking.
    probes: Vec<Routed>,
}

/// Compiles, loads and probes one policy.
fn try_policy(
    topology: &Topology,
    listening: &Listening,
    label: &str,
    text: &str,
    probes: &[Routed],
    deadline: Duration,
) -> Result<(), Failure> {
    let case = PolicyCase::from_text(label, text);
    let host = case.host(None);
    let fail = |message: String| Failure {
        message,
        probes: Vec::new(),
    };
    let compiled = ruleset::compile(&case.checked.policy, host)
        .map_err(|e| fail(format!("{label}: passes `check` but does not compile: {e}")))?;
    ruleset::load(&topology.server, &compiled, Format::Nft).map_err(|e| {
        fail(format!(
            "{label}: the kernel refused the ruleset: {e}\n--- ruleset ---\n{}",
            ruleset::numbered(&compiled.nft)
        ))
    })?;
    let oracle = case.oracle(host);
    let checked = verify::run(topology, &oracle, listening, probes, deadline);
    verify::agree(
        &Report {
            title: label,
            policy: text,
            ruleset: &compiled.nft,
        },
        &checked,
    )
    .map_err(|message| Failure {
        message,
        probes: checked
            .iter()
            .filter(|c| !c.agrees())
            .map(|c| c.routed.clone())
            .collect(),
    })
}

/// Leaves out rules one at a time while the failure persists.
fn shrink(
    topology: &Topology,
    listening: &Listening,
    text: &str,
    failure: Failure,
) -> (String, Failure) {
    let mut best_text = text.to_string();
    let mut best = failure;
    if best.probes.is_empty() {
        return (best_text, best);
    }
    let mut index = 0;
    while index < rule_count(&best_text) {
        let candidate = without_rules(&best_text, &[index].into_iter().collect());
        let checked = portcullis::pipeline::check_text("shrunk.pcl", &candidate);
        if checked.has_errors() {
            index += 1;
            continue;
        }
        match try_policy(
            topology,
            listening,
            "shrunk.pcl",
            &candidate,
            &best.probes,
            verify::PATIENT_DEADLINE,
        ) {
            Err(f) if !f.probes.is_empty() => {
                best_text = candidate;
                best = f;
            }
            _ => index += 1,
        }
    }
    (best_text, best)
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

fn random_policies_behave_as_the_model_says() {
    let cases = env_number("PORTCULLIS_KERNEL_CASES", DEFAULT_CASES as u64) as usize;
    let seed = env_number("PORTCULLIS_KERNEL_SEED", DEFAULT_SEED);
    let start = Instant::now();
    let topology = Topology::build(Spec {
        client_addresses: extra_sources(),
        ..Spec::default()
    })
    .expect("cannot build the lab network");
    let ports: BTreeSet<(Protocol, u16)> = PORTS
        .flat_map(|p| [(Protocol::Tcp, p), (Protocol::Udp, p)])
        .collect();
    let listening = Listening::start(&topology, &[ports, BTreeSet::new(), BTreeSet::new()])
        .expect("cannot listen");
    let mut probes_sent = 0;
    for case in 0..cases {
        let mut rng = Rng::new(seed ^ (case as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let text = generate(&mut rng);
        let probes = sample_probes(&mut rng);
        probes_sent += probes.len();
        let label = format!("random policy {case} of seed {seed:#x}");
        if let Err(failure) = try_policy(&topology, &listening, &label, &text, &probes, DEADLINE) {
            let (shrunk, shrunk_failure) = shrink(&topology, &listening, &text, failure);
            panic!(
                "{}\n\n=== smallest policy that still fails ===\n{}\n\nreplay with \
                 PORTCULLIS_KERNEL_SEED={seed:#x} (this is case {case})",
                shrunk_failure.message, shrunk
            );
        }
    }
    say!(
        "{cases} random policies (seed {seed:#x}), {probes_sent} probes, in {:.1}s",
        start.elapsed().as_secs_f64()
    );
}

fn generated_policies_pass_check() {
    // Outside the kernel: every generated policy must be a clean policy, or the kernel test
    // above would be testing the generator.
    let seed = env_number("PORTCULLIS_KERNEL_SEED", DEFAULT_SEED);
    let (mut source_maps, mut source_sets, mut port_maps) = (0, 0, 0);
    for case in 0..DEFAULT_CASES {
        let mut rng = Rng::new(seed ^ (case as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let text = generate(&mut rng);
        let checked = portcullis::pipeline::check_text("random.pcl", &text);
        assert!(!checked.has_errors(), "case {case}:\n{text}");
        let chain = &checked.policy.hosts[0].chains[0];
        let written = chain.rules.iter().filter(|r| r.is_written()).count();
        assert!((2..=23).contains(&written), "{text}");
        assert!(chain.rules.iter().all(|r| r.resolved), "{text}");
        let host = &checked.policy.hosts[0];
        let nft = portcullis::compile::compile_host(&checked.policy, host, &Default::default())
            .expect("a generated policy compiles")
            .to_nft();
        source_maps += usize::from(nft.contains("saddr vmap"));
        source_sets += usize::from(nft.contains("_src_v") || nft.contains("saddr {"));
        port_maps += usize::from(nft.contains("_p1 {"));
    }
    // The new lowerings must be what the kernel test probes, not a rarity (the default seed
    // gives about one policy in six with source maps, one in five with source sets).
    assert!(
        source_maps >= DEFAULT_CASES / 20,
        "{source_maps} with source maps"
    );
    assert!(
        source_sets >= DEFAULT_CASES / 10,
        "{source_sets} with source sets"
    );
    assert!(
        port_maps >= DEFAULT_CASES / 10,
        "{port_maps} with port maps"
    );
}

fn shrinking_leaves_out_one_rule_at_a_time() {
    let named: BTreeSet<&str> = ["lab"].into_iter().collect();
    let rules = [
        "allow tcp/2000 from lab".to_string(),
        "deny udp/2001".to_string(),
    ];
    let text = write_policy(&named, "drop", &rules);
    assert_eq!(rule_count(&text), 2);
    let without_first = without_rules(&text, &[0].into_iter().collect());
    assert_eq!(
        without_first,
        "net lab = 10.99.0.0/24, fd00:99::/64\ninput drop {\n  allow ssh from 198.18.0.0/15\n  deny udp/2001\n}\n"
    );
    assert_eq!(rule_count(&without_first), 1);
}

super::trials::tests! {
    Kernel: random_policies_behave_as_the_model_says;
    Nothing: generated_policies_pass_check, shrinking_leaves_out_one_rule_at_a_time;
}
