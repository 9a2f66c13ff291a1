//! The compiler's tests: snapshots of generated rulesets, first-match equivalence with
//! [`crate::model::Chain::evaluate`] through an interpreter of the compiled ruleset, hostile input
//! and scale. Loading rulesets into a kernel is the kernel tests' (`tests/kernel/loading.rs`),
//! which load the same policies and random chains: both include [`cases`]
//! (`src/compile/test_cases.rs`).

use std::net::IpAddr;

use super::ruleset::{
    Action, AddrValue, ByteKey, Chain as NftChain, Direction, Match, Verdict as NftVerdict,
};
use super::*;
use crate::config::{Baseline, CompileConfig};
use crate::diagnostic::Severity;
use crate::model::values::TableName;
use crate::model::{
    self, AddrSet, Family, Forward, Host, IntervalSet, Limit, NetDefinition, Packet, Policy,
    PortRange, Protocol, Traffic, Transport,
};
use crate::model::{ChainKind, RateUnit, Verdict};
use crate::pipeline::{self, Checked};
use crate::source::Span;

#[path = "test_cases.rs"]
mod cases;
use cases::*;

// ---------------------------------------------------------------------------------------------
// Building policies

/// The policy checked as `compile` would with `config` in portcullis.yaml: the baseline's parts
/// are rules of the model's chains.
pub(super) fn checked_with(text: &str, config: &CompileConfig) -> Checked {
    let mut settings = crate::config::Settings::default();
    settings.config.compile = config.clone();
    let levels = crate::lint::Levels::from_config(&settings.config.lint);
    let checked = pipeline::check(crate::load::load_text("test.pcl", text), &settings, &levels);
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "the test policy has errors: {errors:#?}");
    checked
}

/// Compiles a host built by hand, with the baseline and port-forward rules the resolver would
/// have put into its chains under `config`.
pub(super) fn compile_model(
    policy: &Policy,
    host: &Host,
    config: &CompileConfig,
) -> Result<Ruleset, CompileError> {
    let mut host = host.clone();
    host.add_implicit_rules(config.baseline.parts());
    compile_host(policy, &host, config)
}

pub(super) fn compile_text(text: &str, config: &CompileConfig) -> Ruleset {
    let checked = checked_with(text, config);
    compile_host_with_sources(
        &checked.policy,
        &checked.policy.hosts[0],
        config,
        &checked.loaded.sources,
    )
    .expect("the test policy compiles")
}

fn no_baseline() -> CompileConfig {
    CompileConfig {
        table: TableName::default(),
        baseline: Baseline {
            established: false,
            invalid: false,
            loopback: false,
            icmp: false,
            ping: false,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn representative_policy() {
    let ruleset = compile_text(REPRESENTATIVE, &CompileConfig::default());
    insta::assert_snapshot!("representative_nft", ruleset.to_nft());
    insta::assert_snapshot!("representative_json", ruleset.to_json());
}

#[test]
fn baseline_parts_switch_off() {
    let text = "input drop {\n  allow ssh\n}\n";
    let mut config = CompileConfig::default();
    config.baseline.icmp = false;
    config.baseline.invalid = false;
    let nft = compile_text(text, &config).to_nft();
    assert!(nft.contains("ct state established,related accept"));
    assert!(!nft.contains("invalid"), "{nft}");
    // Ping is a part of its own: only echo is left.
    assert!(nft.contains("icmp type echo-request accept"), "{nft}");
    assert!(!nft.contains("destination-unreachable"), "{nft}");
    config.baseline.ping = false;
    let nft = compile_text(text, &config).to_nft();
    assert!(!nft.contains("icmp"), "{nft}");
    insta::assert_snapshot!("no_baseline", compile_text(text, &no_baseline()).to_nft());
}

#[test]
fn interleaved_verdicts_become_one_verdict_map() {
    let text = r#"
input drop {
  deny tcp/8000-8100 from 10.0.0.0/8
  allow tcp/7000-9000 from 10.0.0.0/8
  reject udp/53 from 10.0.0.0/8
  allow udp/1-1000 from 10.0.0.0/8
  allow from 10.0.0.0/8
}
"#;
    let nft = compile_text(text, &no_baseline()).to_nft();
    insta::assert_snapshot!("interleaved", nft);
}

#[test]
fn runs_from_disjoint_sources_become_source_sets_and_maps_around_decorated_rules() {
    let mut text = String::from("input accept {\n");
    for i in 0..20 {
        text.push_str(&format!("  deny from 10.9.{i}.1, 2001:db8:9:{i:x}::1\n"));
    }
    text.push_str("  allow tcp/80 log\n");
    for i in 0..16u16 {
        let verdict = ["allow", "deny", "reject"][usize::from(i % 3)];
        text.push_str(&format!(
            "  {verdict} tcp/{}, udp/53 from 10.{}.0.0/16, 2001:db8:{:x}::/48\n",
            1000 + i,
            i % 4,
            i % 4
        ));
    }
    text.push_str("  deny from 192.0.2.1\n}\n");
    let ruleset = compile_text(&text, &no_baseline());
    let input = ruleset.chain("input").unwrap();
    // The block list as one set per family, the log rule in its place, then one map per family
    // (the last rule's address, disjoint from the nets, maps to its verdict).
    let kinds: Vec<&str> = input
        .rules
        .iter()
        .map(|r| match (&r.matches[..], &r.actions[..]) {
            (_, [Action::SourceVmap(..)]) => "map",
            (_, [Action::Log(_), _]) => "log",
            (
                [Match::Addr {
                    value: AddrValue::Set(_),
                    ..
                }],
                _,
            ) => "set",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["set", "set", "log", "map", "map"],
        "{}",
        ruleset.to_nft()
    );
    assert!(ruleset.set("input_r1_src_v4").is_some());
    for sub in 1..=4 {
        assert!(ruleset.chain(&format!("input_r22_s{sub}")).is_some());
    }
}

/// A per-client allow list: every client's chain holds one of two services, and clients with the
/// same one share its chain, commented with the whole run.
#[test]
fn sources_with_the_same_rules_share_a_chain() {
    let mut text = String::from("input drop {\n");
    for i in 0..40 {
        let service = ["tcp/22, udp/53", "tcp/443, udp/443"][i % 2];
        text.push_str(&format!("  allow {service} from 10.0.{i}.1\n"));
    }
    text.push_str("}\n");
    let ruleset = compile_text(&text, &no_baseline());
    let chains: Vec<&NftChain> = ruleset
        .chains
        .iter()
        .filter(|c| c.name.starts_with("input_r1_s"))
        .collect();
    assert_eq!(chains.len(), 2, "{}", ruleset.to_nft());
    for chain in chains {
        for rule in &chain.rules {
            assert_eq!(
                rule.comment.as_deref(),
                Some("test.pcl:2-41"),
                "{}",
                ruleset.to_nft()
            );
        }
    }
}

/// The code block after `marker` in docs/compile.md.
fn docs_block(docs: &str, marker: &str) -> String {
    let start = docs.find(marker).expect("the marker is in docs/compile.md") + marker.len();
    let body = &docs[start..];
    let body = &body[body.find("```\n").expect("a code block") + 4..];
    body[..body.find("```").expect("the end of the block")].to_string()
}

#[test]
fn the_example_in_the_docs_is_current() {
    let docs = include_str!("../../docs/compile.md");
    let policy = docs_block(docs, "This policy:");
    let shown = docs_block(docs, "compiles to:");
    let checked = pipeline::check_text("web.pcl", &policy);
    let ruleset = compile_host_with_sources(
        &checked.policy,
        &checked.policy.hosts[0],
        &CompileConfig::default(),
        &checked.loaded.sources,
    )
    .unwrap();
    let nft = ruleset.to_nft();
    let table = &nft[nft.find("table inet portcullis {\n").unwrap()..];
    assert_eq!(
        table, shown,
        "docs/compile.md shows an outdated ruleset; the compiler now writes:\n{table}"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties of the output

#[test]
fn output_is_deterministic() {
    let a = compile_text(REPRESENTATIVE, &CompileConfig::default());
    for _ in 0..5 {
        let b = compile_text(REPRESENTATIVE, &CompileConfig::default());
        assert_eq!(a.to_nft(), b.to_nft());
        assert_eq!(a.to_json(), b.to_json());
    }
}

#[test]
fn the_table_name_is_configurable_and_checked() {
    let policy = Policy::default();
    let h = host(
        None,
        vec![chain(ChainKind::Input, Verdict::Drop, Vec::new())],
    );
    let config = CompileConfig {
        table: TableName::new("edge-fw_1").unwrap(),
        ..CompileConfig::default()
    };
    let nft = compile_model(&policy, &h, &config).unwrap().to_nft();
    assert!(nft.contains("delete table inet edge-fw_1\n"));
    for bad in [
        "",
        "1fw",
        "fw; flush ruleset",
        "fw\n",
        "x{",
        "ip",
        &"a".repeat(33),
    ] {
        assert!(TableName::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_default_reject_drops_then_rejects() {
    let h = host(
        None,
        vec![chain(
            ChainKind::Input,
            Verdict::Reject,
            vec![rule(Verdict::Accept, tcp(22, 22))],
        )],
    );
    let nft = compile_model(&Policy::default(), &h, &no_baseline())
        .unwrap()
        .to_nft();
    let body: Vec<&str> = nft
        .lines()
        .skip_while(|l| !l.contains("chain input"))
        .collect();
    assert_eq!(
        body[1..5],
        [
            "\t\ttype filter hook input priority filter; policy drop;",
            "\t\ttcp dport 22 accept comment \"input rule 1\"",
            "\t\tmeta l4proto tcp reject with tcp reset comment \"default: reject\"",
            "\t\treject with icmpx type port-unreachable comment \"default: reject\"",
        ]
    );
}

#[test]
fn a_model_resolved_with_other_baseline_parts_is_refused() {
    let h = host(
        None,
        vec![chain(ChainKind::Input, Verdict::Drop, Vec::new())],
    );
    let err = compile_host(&Policy::default(), &h, &CompileConfig::default()).unwrap_err();
    assert!(
        matches!(
            err,
            CompileError::BaselineMismatch {
                resolved_with: false,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unwritten_chains_are_not_generated() {
    let h = host(
        None,
        vec![chain(ChainKind::Output, Verdict::Drop, Vec::new())],
    );
    let nft = compile_model(&Policy::default(), &h, &CompileConfig::default())
        .unwrap()
        .to_nft();
    assert!(nft.contains("chain output"));
    assert!(!nft.contains("chain input"));
    assert!(!nft.contains("chain forward"));
    assert!(nft.contains("oif \"lo\" accept"));
}

#[test]
fn rules_that_cannot_match_any_family_are_left_out() {
    let mut r = rule(Verdict::Accept, tcp(22, 22));
    r.src = addrs(&["10.0.0.0/8"]).into();
    r.dst = addrs(&["2001:db8::/32"]).into();
    let h = host(None, vec![chain(ChainKind::Input, Verdict::Drop, vec![r])]);
    let ruleset = compile_model(&Policy::default(), &h, &no_baseline()).unwrap();
    assert_eq!(ruleset.stats().rules, 0);
}

#[test]
fn unresolved_rules_are_refused() {
    let mut r = rule(Verdict::Accept, tcp(22, 22));
    r.resolved = false;
    let h = host(
        None,
        vec![chain(
            ChainKind::Input,
            Verdict::Drop,
            vec![rule(Verdict::Drop, tcp(1, 1)), r],
        )],
    );
    assert_eq!(
        compile_model(&Policy::default(), &h, &no_baseline()),
        Err(CompileError::Unresolved {
            chain: ChainKind::Input,
            rule: 2
        })
    );
}

#[test]
fn zero_limits_are_refused() {
    let mut r = rule(Verdict::Accept, tcp(22, 22));
    r.limit = Some(Limit {
        rate: 5,
        unit: RateUnit::Second,
        burst: Some(0),
        per_source: false,
    });
    let h = host(None, vec![chain(ChainKind::Input, Verdict::Drop, vec![r])]);
    assert!(matches!(
        compile_model(&Policy::default(), &h, &no_baseline()),
        Err(CompileError::ZeroLimit {
            what: "a burst of",
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Hostile input: nothing from the policy may change what nft parses.

/// Lines of the script outside the table that are not comments: exactly the replace idiom.
fn assert_only_our_statements(nft: &str) {
    let mut depth = 0i32;
    for line in nft.lines() {
        let trimmed = line.trim();
        if depth == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') {
            assert!(
                [
                    "table inet portcullis {}",
                    "delete table inet portcullis",
                    "table inet portcullis {"
                ]
                .contains(&trimmed),
                "unexpected top-level statement {trimmed:?} in\n{nft}"
            );
        }
        if trimmed.starts_with('#') {
            continue;
        }
        // What nft parses as structure: the line outside its quoted strings.
        assert_eq!(
            line.matches('"').count() % 2,
            0,
            "unbalanced quotes in {line:?}"
        );
        let unquoted: String = line
            .split('"')
            .step_by(2)
            .collect::<Vec<_>>()
            .join(" \"\" ");
        depth += unquoted.matches('{').count() as i32;
        depth -= unquoted.matches('}').count() as i32;
        assert!(depth >= 0);
        if depth > 0 && trimmed != "table inet portcullis {" {
            for word in [
                "flush", "add", "delete", "table", "insert", "replace", "include", "define",
            ] {
                assert!(
                    !unquoted.split_whitespace().any(|w| w == word),
                    "`{word}` inside the table: {line:?}"
                );
            }
        }
    }
    assert_eq!(depth, 0);
}

#[test]
fn hostile_names_cannot_inject_statements() {
    for name in HOSTILE {
        let (policy, h) = hostile_policy(name);
        let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
        let nft = ruleset.to_nft();
        assert_only_our_statements(&nft);
        for line in nft.lines() {
            if let Some(set) = line.trim().strip_prefix("set ") {
                let ident = set.trim_end_matches(" {");
                assert!(
                    ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{ident:?}"
                );
            }
        }
        // The JSON is data, but it must still name only our table.
        let json: serde_json::Value = serde_json::from_str(&ruleset.to_json()).unwrap();
        let tables: Vec<&str> = json["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|cmd| cmd.as_object().unwrap().values())
            .flat_map(|obj| obj.as_object().unwrap().values())
            .filter_map(|o| o.get("table").or(o.get("name")).and_then(|t| t.as_str()))
            .collect();
        assert!(tables.contains(&"portcullis"));
    }
}

#[test]
fn hostile_strings_are_refused() {
    for (prefix, reason) in [
        ("a\" accept #", "double quote"),
        ("a\\", "backslash"),
        ("$var", "`$`"),
        ("line\nbreak", "character"),
    ] {
        let mut r = rule(Verdict::Accept, tcp(22, 22));
        r.log = Some(Some(prefix.into()));
        let h = host(None, vec![chain(ChainKind::Input, Verdict::Drop, vec![r])]);
        let err = compile_model(&Policy::default(), &h, &CompileConfig::default()).unwrap_err();
        assert!(matches!(err, CompileError::LogPrefix { .. }));
        assert!(err.to_string().contains(reason), "{err}");
    }
    for iface in ["eth0\" accept", "eth*", "", "a;b", "sixteen-chars-xx"] {
        let mut r = rule(Verdict::Accept, tcp(22, 22));
        r.interface = Some(model::Interfaces::one(iface));
        let h = host(None, vec![chain(ChainKind::Output, Verdict::Drop, vec![r])]);
        assert!(matches!(
            compile_model(&Policy::default(), &h, &CompileConfig::default()),
            Err(CompileError::Interface { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Scale

#[test]
fn twenty_thousand_port_rules_compile_to_a_handful() {
    let (policy, h) = many_rules(20_000);
    let start = std::time::Instant::now();
    let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
    let compiled = start.elapsed();
    let start = std::time::Instant::now();
    let nft = ruleset.to_nft();
    let json = ruleset.to_json();
    let rendered = start.elapsed();
    let stats = ruleset.stats();
    eprintln!(
        "20000 rules: compile {compiled:?}, render {rendered:?}, {stats:?}, nft {} bytes, json {} bytes",
        nft.len(),
        json.len()
    );
    // Baseline (7) + two family rules jumping to one block chain holding one verdict map.
    assert!(stats.rules <= 12, "{stats:?}");
    assert_eq!(stats.chains, 2);
    let block = ruleset.chain("input_r1").expect("the block's chain");
    assert_eq!(block.rules.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// First-match equivalence: an interpreter of the compiled ruleset must agree with the model.

/// What the compiled chain does to a packet, all rate limits either met or exceeded.
fn run(ruleset: &Ruleset, chain: &NftChain, packet: &Packet, under: bool) -> Option<Verdict> {
    'rules: for rule in &chain.rules {
        if !rule.matches.iter().all(|m| holds(ruleset, m, packet)) {
            continue;
        }
        for action in &rule.actions {
            match action {
                Action::Limit(_) | Action::Meter { .. } if !under => continue 'rules,
                Action::Limit(_) | Action::Meter { .. } | Action::Counter(_) | Action::Log(_) => {}
                Action::Verdict(v) => match follow(ruleset, v, packet, under) {
                    Some(verdict) => return Some(verdict),
                    None => continue 'rules,
                },
                Action::Vmap(entries) => {
                    let hit = entries.iter().find(|e| {
                        matches!(packet.transport, Transport::Port(p, port)
                            if p == e.protocol && e.lo <= port && port <= e.hi)
                    });
                    match hit.and_then(|e| follow(ruleset, &e.verdict, packet, under)) {
                        Some(verdict) => return Some(verdict),
                        None => continue 'rules,
                    }
                }
                Action::SourceVmap(f, entries) => {
                    let hits: Vec<_> = entries
                        .iter()
                        .filter(|e| Family::of(packet.src) == *f && e.addr.contains(packet.src))
                        .collect();
                    // The kernel refuses overlapping keys in an interval map.
                    assert!(hits.len() <= 1, "overlapping entries {hits:?}");
                    match hits
                        .first()
                        .and_then(|e| follow(ruleset, &e.verdict, packet, under))
                    {
                        Some(verdict) => return Some(verdict),
                        None => continue 'rules,
                    }
                }
                Action::ByteVmap(key, entries) => {
                    let value = match (key, packet.transport) {
                        (ByteKey::IcmpType(Family::V4), Transport::Icmp(t))
                        | (ByteKey::IcmpType(Family::V6), Transport::Icmpv6(t)) => Some(t),
                        (ByteKey::L4proto, transport) => Some(transport.protocol_number()),
                        _ => None,
                    };
                    let hit = value.and_then(|v| entries.iter().find(|e| e.lo <= v && v <= e.hi));
                    match hit.and_then(|e| follow(ruleset, &e.verdict, packet, under)) {
                        Some(verdict) => return Some(verdict),
                        None => continue 'rules,
                    }
                }
                Action::Reject(_) => return Some(Verdict::Reject),
                Action::CtHelper(_)
                | Action::Dnat { .. }
                | Action::Masquerade
                | Action::Snat(_) => {
                    panic!("unexpected action {action:?}")
                }
            }
        }
    }
    None
}

fn follow(ruleset: &Ruleset, v: &NftVerdict, packet: &Packet, under: bool) -> Option<Verdict> {
    match v {
        NftVerdict::Accept => Some(Verdict::Accept),
        NftVerdict::Drop => Some(Verdict::Drop),
        NftVerdict::Jump(name) => run(ruleset, ruleset.chain(name).unwrap(), packet, under),
        NftVerdict::Goto(name) => {
            let verdict = run(ruleset, ruleset.chain(name).unwrap(), packet, under);
            assert!(verdict.is_some(), "goto {name} fell through");
            verdict
        }
    }
}

fn holds(ruleset: &Ruleset, m: &Match, packet: &Packet) -> bool {
    let family = Family::of(packet.src);
    match m {
        Match::Interface { names, negated, .. } => {
            packet
                .interface
                .as_ref()
                .is_some_and(|i| names.contains(i))
                != *negated
        }
        Match::Nfproto(f) => *f == family,
        Match::Addr {
            family: f,
            direction,
            value,
            negated,
        } => {
            let addr: IpAddr = match direction {
                Direction::Source => packet.src,
                Direction::Destination => packet.dst,
            };
            *f == family
                && match value {
                    AddrValue::Set(name) => {
                        let set = ruleset.set(name).unwrap();
                        assert_eq!(set.family, *f);
                        set.elements.iter().any(|e| e.contains(addr))
                    }
                    AddrValue::Elements(elements) => elements.iter().any(|e| e.contains(addr)),
                } != *negated
        }
        Match::L4proto(protocols) => packet
            .transport
            .ported()
            .is_some_and(|p| protocols.contains(&p)),
        Match::OtherProtocols => matches!(packet.transport, Transport::Other(_)),
        Match::Unported => packet.transport.ported().is_none(),
        Match::Protocols(numbers) => {
            let n = packet.transport.protocol_number();
            numbers.iter().any(|&(lo, hi)| lo <= n && n <= hi)
        }
        Match::Icmp(f) => packet.transport.protocol_number() == *icmp_number(f),
        // nft adds the family and protocol `icmp type` implies.
        Match::IcmpType(f, types) => match (f, packet.transport) {
            (Family::V4, Transport::Icmp(t)) | (Family::V6, Transport::Icmpv6(t)) => {
                types.iter().any(|&(lo, hi)| lo <= t && t <= hi)
            }
            _ => false,
        },
        Match::Dport(protocol, ranges) => match packet.transport {
            Transport::Port(p, port) => {
                p == *protocol && ranges.iter().any(|&(lo, hi)| lo <= port && port <= hi)
            }
            _ => false,
        },
        Match::ProtoDport(entries) => entries.iter().any(|&(p, lo, hi)| {
            matches!(packet.transport, Transport::Port(q, port) if p == q && lo <= port && port <= hi)
        }),
        Match::CtState(_)
        | Match::CtStatusDnat
        | Match::FibLocal
        | Match::Loopback { .. }
        | Match::HopLimit(_) => {
            panic!("baseline match {m:?} with the baseline off")
        }
    }
}

/// The protocol number `meta l4proto icmp` (or `icmpv6`) compares with.
fn icmp_number(family: &Family) -> &'static u8 {
    match family {
        Family::V4 => &crate::model::ip_protocol::ICMP,
        Family::V6 => &crate::model::ip_protocol::ICMPV6,
    }
}

fn run_base(ruleset: &Ruleset, kind: ChainKind, packet: &Packet, under: bool) -> Verdict {
    let chain = ruleset.chain(kind.as_str()).expect("the base chain");
    let base = chain.base.expect("a base chain");
    run(ruleset, chain, packet, under).unwrap_or(if base.accept {
        Verdict::Accept
    } else {
        Verdict::Drop
    })
}

pub(super) mod equivalence {
    use super::*;
    use proptest::prelude::*;

    /// Pairwise disjoint sources, each holding some of [`arb_packet`]'s addresses.
    const DISJOINT_SOURCES: &[&[&str]] = &[
        &["10.0.0.1/32"],
        &["10.1.2.3/32"],
        &["10.3.0.0/16", "2001:db8:1::/48"],
        &["11.0.0.0/8"],
        &["192.0.2.7/32", "2001:db9::1/128"],
        &["2001:db8::1/128"],
    ];

    pub(super) fn arb_packet() -> impl Strategy<Value = Packet> {
        let v4 = ["10.0.0.1", "10.1.2.3", "10.3.0.1", "11.0.0.1", "192.0.2.7"];
        let v6 = ["2001:db8::1", "2001:db8:1::5", "2001:db9::1"];
        (
            prop_oneof![
                Just(0u8),
                Just(6),
                Just(17),
                Just(132),
                Just(33),
                Just(47),
                Just(50),
                Just(1),
                Just(58)
            ],
            0u16..50,
            any::<bool>(),
            0usize..5,
            0usize..5,
            prop_oneof![
                Just(None),
                Just(Some("eth0".to_string())),
                Just(Some("eth1".to_string()))
            ],
        )
            .prop_map(move |(number, port, ipv6, s, d, interface)| {
                // The ICMP of the packet's family.
                let number = match number {
                    1 | 58 if ipv6 => 58,
                    1 | 58 => 1,
                    n => n,
                };
                let pick = |i: usize| -> IpAddr {
                    if ipv6 {
                        v6[i % v6.len()].parse().unwrap()
                    } else {
                        v4[i].parse().unwrap()
                    }
                };
                Packet {
                    transport: Transport::of_protocol(number, port),
                    src: pick(s),
                    dst: pick(d),
                    interface,
                    translated: false,
                }
            })
    }

    /// Without limit, log or counter, and with the destination and interface of every other
    /// plain rule: what can join a run.
    fn make_plain(rule: &mut model::Rule) {
        rule.limit = None;
        rule.log = None;
        rule.counter = false;
        rule.dst = AddrSet::any().into();
        rule.interface = None;
    }

    /// The compiled input chain of `rules` decides each packet as the model does, rate limits
    /// met and exceeded.
    fn input_decides_like_the_model(
        rules: Vec<model::Rule>,
        default: Verdict,
        packets: &[Packet],
    ) -> Result<(), TestCaseError> {
        let model_chain = chain(ChainKind::Input, default, rules);
        let h = host(None, vec![model_chain.clone()]);
        let ruleset = compile_model(&office(), &h, &no_baseline()).unwrap();
        for packet in packets {
            let over = model_chain.evaluate(packet).verdict;
            let under = model_chain.evaluate_under_limits(packet).verdict;
            prop_assert_eq!(
                run_base(&ruleset, ChainKind::Input, packet, false),
                over,
                "over the limits: {}\n{}",
                packet,
                ruleset.to_nft()
            );
            prop_assert_eq!(
                run_base(&ruleset, ChainKind::Input, packet, true),
                under,
                "under the limits: {}\n{}",
                packet,
                ruleset.to_nft()
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn compiled_chains_decide_like_the_model(
            rules in prop::collection::vec(arb_rule(), 0..9),
            default in prop_oneof![Just(Verdict::Accept), Just(Verdict::Drop), Just(Verdict::Reject)],
            kind in prop_oneof![Just(ChainKind::Input), Just(ChainKind::Output), Just(ChainKind::Forward)],
            packets in prop::collection::vec(arb_packet(), 24),
        ) {
            let policy = office();
            let model_chain = chain(kind, default, rules);
            let h = host(None, vec![model_chain.clone()]);
            let ruleset = compile_model(&policy, &h, &no_baseline()).unwrap();
            for packet in &packets {
                let over = model_chain.evaluate(packet).verdict;
                let under = model_chain.evaluate_under_limits(packet).verdict;
                prop_assert_eq!(run_base(&ruleset, kind, packet, false), over, "over the limits: {}\n{}", packet, ruleset.to_nft());
                prop_assert_eq!(run_base(&ruleset, kind, packet, true), under, "under the limits: {}\n{}", packet, ruleset.to_nft());
            }
        }

        /// Runs of rules whose sources are the same or disjoint (single addresses, nets of one
        /// family or both), now and then a decorated rule or one from anywhere between them: the
        /// source sets and source-keyed verdict maps.
        #[test]
        fn source_runs_decide_like_the_model(
            rules in prop::collection::vec(
                // One rule in 25 keeps a source of its own, mostly one overlapping the others.
                (arb_rule(), 0..25usize, prop::bool::weighted(0.95)),
                0..40,
            ),
            default in prop_oneof![Just(Verdict::Accept), Just(Verdict::Drop), Just(Verdict::Reject)],
            packets in prop::collection::vec(arb_packet(), 24),
        ) {
            let rules = rules
                .into_iter()
                .map(|(mut rule, source, plain)| {
                    if source < 24 {
                        let prefixes = DISJOINT_SOURCES[source % DISJOINT_SOURCES.len()];
                        rule.src = addrs(prefixes).into();
                        rule.src_names = std::sync::Arc::from([]);
                        rule.src_negated = false;
                    }
                    if plain {
                        make_plain(&mut rule);
                    }
                    rule
                })
                .collect();
            input_decides_like_the_model(rules, default, &packets)?;
        }

        /// Runs of port rules from nested, overlapping and negated sources and from anywhere,
        /// now and then a decorated rule or one with other traffic between them: the verdict
        /// map over protocol and port and the chains of the rules covering each piece.
        #[test]
        fn port_runs_decide_like_the_model(
            rules in prop::collection::vec(
                (arb_rule(), arb_ports(), arb_ports(), prop::bool::weighted(0.95)),
                16..40,
            ),
            default in prop_oneof![Just(Verdict::Accept), Just(Verdict::Drop), Just(Verdict::Reject)],
            packets in prop::collection::vec(arb_packet(), 24),
        ) {
            let rules = rules
                .into_iter()
                .map(|(mut rule, tcp, udp, plain)| {
                    if plain {
                        let mut traffic = Traffic {
                            ports: [tcp, udp, IntervalSet::empty(), IntervalSet::empty()],
                            ..Traffic::empty()
                        };
                        if traffic.is_empty() {
                            traffic.ports[0] = IntervalSet::range(7, 9);
                        }
                        rule.traffic = traffic.into();
                        make_plain(&mut rule);
                    }
                    rule
                })
                .collect();
            input_decides_like_the_model(rules, default, &packets)?;
        }
    }

    /// The port-run generator gives port maps, not a rarity.
    #[test]
    fn port_runs_are_what_the_generator_gives() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = prop::collection::vec((arb_addrs(), arb_ports(), 0..3usize), 20);
        let mut maps = 0;
        for _ in 0..50 {
            let rules = strategy
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .into_iter()
                .map(|((src, names, negated), ports, verdict)| {
                    let mut r = rule(
                        [Verdict::Accept, Verdict::Drop, Verdict::Reject][verdict],
                        Traffic {
                            ports: [
                                ports.union(&IntervalSet::range(7, 9)),
                                IntervalSet::empty(),
                                IntervalSet::empty(),
                                IntervalSet::empty(),
                            ],
                            ..Traffic::empty()
                        },
                    );
                    r.src = src.into();
                    r.src_names = names.into();
                    r.src_negated = negated;
                    r
                })
                .collect();
            let h = host(None, vec![chain(ChainKind::Input, Verdict::Drop, rules)]);
            let nft = compile_model(&office(), &h, &no_baseline())
                .unwrap()
                .to_nft();
            maps += usize::from(nft.contains("_p1 {"));
        }
        assert!(maps >= 20, "{maps} of 50 with port maps");
    }
}

#[test]
fn forwards_translate_and_admit() {
    let mut h = host(
        Some("edge"),
        vec![chain(ChainKind::Forward, Verdict::Drop, Vec::new())],
    );
    h.forwards = vec![
        Forward {
            protocol: Protocol::Tcp,
            ports: PortRange::single(8443),
            from: addrs(&["198.51.100.0/24"]),
            interface: None,
            at: None,
            target: "10.0.0.5".parse().unwrap(),
            target_port: Some(443),
            span: Span::default(),
        },
        Forward {
            protocol: Protocol::Udp,
            ports: PortRange { lo: 5000, hi: 5010 },
            from: AddrSet::any(),
            interface: None,
            at: None,
            target: "2001:db8::5".parse().unwrap(),
            target_port: None,
            span: Span::default(),
        },
        // IPv4 sources only, IPv6 target: nothing to translate.
        Forward {
            protocol: Protocol::Tcp,
            ports: PortRange::single(80),
            from: addrs(&["198.51.100.0/24"]),
            interface: None,
            at: None,
            target: "2001:db8::80".parse().unwrap(),
            target_port: None,
            span: Span::default(),
        },
    ];
    let nft = compile_model(&Policy::default(), &h, &no_baseline())
        .unwrap()
        .to_nft();
    insta::assert_snapshot!("forwards", nft);
}
