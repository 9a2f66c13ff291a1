//! Compiled rulesets loaded into scratch namespaces, with the kernel as the judge of what the
//! compiler alone cannot tell: whether the script and the JSON load the same ruleset (a
//! representative policy, hostile names, 500 rules, random chains), whether loading replaces its
//! own table and leaves other tables alone, and whether 20,000 rules load in one go.
//!
//! The policies are the compiler's test policies (`src/compile/tests.rs`), built here from the
//! library's public model; the random chains come from the same strategies and seed, so they are
//! the same chains.

use std::time::Instant;

use portcullis::compile::{compile_host, compile_host_with_sources, Ruleset};
use portcullis::config::CompileConfig;
use portcullis::model::{
    self, AddrSet, ChainKind, Host, IntervalSet, Limit, NetDefinition, Policy, PortRange, Protocol,
    RateUnit, Traffic, Verdict,
};
use portcullis::source::Span;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use super::netns::Netns;
use super::ruleset::{load_text, Format};
use super::scenario::PolicyCase;
use super::trials::say;

// ---------------------------------------------------------------------------------------------
// Policies

/// The compiler's representative policy (its snapshot test in `src/compile/tests.rs`).
const REPRESENTATIVE: &str = r#"
service app     = tcp/8080
service metrics = tcp/9100-9110

net office     = 10.10.0.0/16, 2001:db8:10::/48
net monitoring = 10.20.5.0/24

host web-1 {
  bind sshd  on 0.0.0.0 ssh as root
  bind nginx on ::      http, https as root
  bind app   on 0.0.0.0 app as www-data
  bind ftpd  on 0.0.0.0 ftp as root

  input reject {
    allow ssh from office limit 10/minute burst 20 per source
    allow http, https
    deny tcp/8000-8100 from monitoring
    allow app, metrics from monitoring
    allow ftp from office
    allow udp/27015-27030
    reject tcp/25
    allow tcp/9100 from office counter
    allow from office limit 100/second log "office: "
    deny tcp/23 log "telnet: "
    deny tcp/2323 log "telnet: "
    allow from office on eth1
  }

  output accept {
    deny tcp/25 to any
    reject udp/53 to 2001:db8::/32 limit 5/second
  }

  forward drop {
    allow from office to monitoring
  }

  forward-port tcp/8443 from office to 10.0.0.5:443
  forward-port tcp/2222 to [2001:db8::5]:22
}
"#;

/// The policy checked as `compile` would, compiled with source lines in the rule comments.
fn compile_text(text: &str) -> Ruleset {
    let case = PolicyCase::from_text_with("test.pcl", text, CompileConfig::default());
    compile_host_with_sources(
        &case.checked.policy,
        case.host(None),
        &case.config,
        &case.checked.loaded.sources,
    )
    .expect("the test policy compiles")
}

/// Compiles a host built by hand, with the baseline rules the resolver would have put into its
/// chains.
fn compile_model(policy: &Policy, host: &Host) -> Ruleset {
    let config = CompileConfig::default();
    let mut host = host.clone();
    host.add_implicit_rules(config.baseline.parts());
    compile_host(policy, &host, &config).expect("the test host compiles")
}

fn addrs(prefixes: &[&str]) -> AddrSet {
    prefixes.iter().fold(AddrSet::empty(), |set, p| {
        set.union(&AddrSet::prefix(p.parse().expect("a test prefix")))
    })
}

fn v4_any() -> AddrSet {
    AddrSet {
        v4: IntervalSet::full(),
        v6: IntervalSet::empty(),
    }
}

fn rule(verdict: Verdict, traffic: Traffic) -> model::Rule {
    model::Rule::matching(
        verdict,
        Span::default(),
        traffic,
        AddrSet::any(),
        AddrSet::any(),
    )
}

fn chain(kind: ChainKind, policy: Verdict, rules: Vec<model::Rule>) -> model::Chain {
    model::Chain {
        kind,
        policy,
        policy_span: Span::default(),
        span: Span::default(),
        rules,
    }
}

fn host(name: Option<&str>, chains: Vec<model::Chain>) -> Host {
    Host {
        name: name.map(str::to_string),
        span: Span::default(),
        binds: Vec::new(),
        chains,
        forwards: Vec::new(),
        source_nats: Vec::new(),
    }
}

fn tcp(lo: u16, hi: u16) -> Traffic {
    Traffic::ports(Protocol::Tcp, PortRange { lo, hi })
}

/// Names and strings an attacker who controls a policy file (or a YAML generator) might try.
const HOSTILE: &[&str] = &[
    "x\"; flush ruleset; \"",
    "a}\n}\ntable ip evil { chain c { type filter hook input priority -500; policy drop; } }\n#",
    "n; add rule inet portcullis input accept",
    "$evil",
    "back\\slash",
    "new\nline",
    "{braces}",
    "ünïcode",
    "",
];

fn hostile_policy(name: &str) -> (Policy, Host) {
    let net = NetDefinition {
        name: name.to_string(),
        span: Span::default(),
        name_span: Span::default(),
        addresses: addrs(&["10.9.0.0/16", "2001:db8:9::/48"]),
        used: true,
    };
    let mut r = rule(Verdict::Accept, tcp(22, 22));
    r.src = net.addresses.clone();
    r.src_names = vec![name.to_string()];
    let mut other = net.clone();
    other.name = format!("{name}-other");
    let mut r2 = rule(Verdict::Drop, tcp(23, 23));
    r2.src = other.addresses.clone();
    r2.src_names = vec![other.name.clone()];
    r2.counter = true;
    let policy = Policy {
        hosts: Vec::new(),
        services: Vec::new(),
        nets: vec![net, other],
    };
    let h = host(
        Some(name),
        vec![chain(ChainKind::Input, Verdict::Drop, vec![r, r2])],
    );
    (policy, h)
}

/// `count` disjoint port ranges from one source, alternating allow and deny.
fn many_rules(count: usize) -> (Policy, Host) {
    let src = addrs(&["10.0.0.0/8", "2001:db8::/32"]);
    let rules = (0..count)
        .map(|i| {
            let lo = 1 + (i as u16) * 3;
            let verdict = if i % 3 == 2 {
                Verdict::Drop
            } else {
                Verdict::Accept
            };
            let protocol = if i % 2 == 0 {
                Protocol::Tcp
            } else {
                Protocol::Udp
            };
            let mut r = rule(
                verdict,
                Traffic::ports(protocol, PortRange { lo, hi: lo + 1 }),
            );
            r.src = src.clone();
            r
        })
        .collect();
    (
        Policy::default(),
        host(
            Some("big"),
            vec![chain(ChainKind::Input, Verdict::Drop, rules)],
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Random chains: the compiler's equivalence strategies.

const PREFIXES: &[&[&str]] = &[
    &["10.0.0.0/8"],
    &["10.1.0.0/16"],
    &["2001:db8::/32"],
    &["10.0.0.0/8", "2001:db8::/32"],
    &["10.1.0.0/16", "10.3.0.0/16", "2001:db8:1::/48"],
];

/// Sources: the set, the net names written, and whether they were negated.
fn arb_addrs() -> impl Strategy<Value = (AddrSet, Vec<String>, bool)> {
    prop_oneof![
        3 => Just((AddrSet::any(), Vec::new(), false)),
        1 => Just((v4_any(), Vec::new(), false)),
        4 => (0..PREFIXES.len()).prop_map(|i| (addrs(PREFIXES[i]), Vec::new(), false)),
        // `from !10.1.0.0/16, !2001:db8:1::/48`: written as what it leaves out.
        1 => (0..PREFIXES.len()).prop_map(|i| (addrs(PREFIXES[i]).complement(), Vec::new(), true)),
        // The net `office`, which compiles to named sets, and its negation.
        2 => Just((addrs(PREFIXES[3]), vec!["office".to_string()], false)),
        1 => Just((addrs(PREFIXES[3]).complement(), vec!["office".to_string()], true)),
    ]
}

fn arb_ports() -> impl Strategy<Value = IntervalSet<u16>> {
    prop_oneof![
        3 => prop::collection::vec((0u16..40, 0u16..8), 0..3).prop_map(|v| {
            IntervalSet::from_ranges(v.into_iter().map(|(lo, len)| (lo, lo + len)))
        }),
        1 => Just(IntervalSet::full()),
    ]
}

/// Types or protocol numbers near the ones packets use.
fn arb_bytes() -> impl Strategy<Value = IntervalSet<u8>> {
    prop_oneof![
        3 => prop::collection::vec((0u8..60, 0u8..5), 0..3).prop_map(|v| {
            IntervalSet::from_ranges(v.into_iter().map(|(lo, len)| (lo, lo + len)))
        }),
        1 => Just(IntervalSet::full()),
    ]
}

fn arb_traffic() -> impl Strategy<Value = Traffic> {
    prop_oneof![
        1 => Just(Traffic::all()),
        5 => (arb_ports(), arb_ports(), arb_ports()).prop_map(|(t, u, s)| {
            Traffic { ports: [t, u, s, IntervalSet::empty()], ..Traffic::empty() }
        }),
        // ICMP types of either family, other protocols, with or without ports.
        3 => (arb_ports(), arb_bytes(), arb_bytes(), arb_bytes()).prop_map(|(t, icmp, icmpv6, other)| {
            let other = other.intersection(&Traffic::other_protocols().other);
            Traffic { ports: [t, IntervalSet::empty(), IntervalSet::empty(), IntervalSet::empty()], icmp, icmpv6, other }
        }),
    ]
}

fn arb_rule() -> impl Strategy<Value = model::Rule> {
    (
        prop_oneof![Just(Verdict::Accept), Just(Verdict::Drop), Just(Verdict::Reject)],
        arb_traffic(),
        arb_addrs(),
        prop_oneof![4 => Just(None), 1 => (0..3usize).prop_map(|i| Some(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"][i]))],
        prop_oneof![
            8 => Just(None),
            2 => Just(Some(model::Interfaces::one("eth0"))),
            1 => Just(Some(model::Interfaces::new(["eth0".to_string(), "eth1".to_string()], false))),
            1 => Just(Some(model::Interfaces::new(["eth1".to_string()], true))),
        ],
        prop_oneof![6 => Just(None), 1 => any::<bool>().prop_map(|per_source| Some(Limit {
            rate: 3,
            unit: RateUnit::Minute,
            burst: None,
            per_source,
        }))],
        prop_oneof![5 => Just(None), 1 => Just(Some(None)), 1 => Just(Some(Some("x ".to_string())))],
        prop::bool::weighted(0.15),
    )
        .prop_map(|(verdict, traffic, (src, src_names, src_negated), dst, interface, limit, log, counter)| {
            let mut r = rule(verdict, traffic);
            r.src = src;
            r.src_names = src_names;
            r.src_negated = src_negated;
            if let Some(dst) = dst {
                r.dst = addrs(&[dst]);
            }
            r.interface = interface;
            r.limit = limit;
            r.log = log;
            r.counter = counter;
            r
        })
}

// ---------------------------------------------------------------------------------------------
// In the kernel

/// Loads a script or a JSON batch into the namespace.
fn load(ns: &Netns, text: &str, json: bool) -> Result<(), String> {
    load_text(ns, text, if json { Format::Json } else { Format::Nft })
}

/// `nft -j list ruleset` without handles and version information.
fn list(ns: &Netns) -> serde_json::Value {
    let listed = ns.nft().list_ruleset_json().expect("nft lists the ruleset");
    let mut value: serde_json::Value = serde_json::from_str(&listed).expect("nft lists JSON");
    strip(&mut value);
    value
}

fn strip(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("handle");
            map.values_mut().for_each(strip);
        }
        serde_json::Value::Array(items) => {
            items.retain(|i| i.get("metainfo").is_none());
            items.iter_mut().for_each(strip);
        }
        _ => {}
    }
}

fn count(listing: &serde_json::Value, kind: &str) -> usize {
    listing["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o.get(kind).is_some())
        .count()
}

/// Loads the script into one namespace and the JSON into another, and compares what the kernel
/// holds.
fn assert_same_in_kernel(what: &str, ruleset: &Ruleset) {
    let (text_ns, json_ns) = (Netns::create("srv"), Netns::create("srv"));
    if let Err(e) = load(&text_ns, &ruleset.to_nft(), false) {
        panic!(
            "{what}: nft -f refused the script: {e}\n{}",
            ruleset.to_nft()
        );
    }
    if let Err(e) = load(&json_ns, &ruleset.to_json(), true) {
        panic!("{what}: nft -j -f refused the JSON: {e}");
    }
    let (a, b) = (list(&text_ns), list(&json_ns));
    if a != b {
        let a = serde_json::to_string_pretty(&a).unwrap();
        let b = serde_json::to_string_pretty(&b).unwrap();
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "{what}: the script and the JSON load different rulesets; first difference at line \
             {first}:\nscript: {}\njson:   {}",
            a.lines().nth(first).unwrap_or(""),
            b.lines().nth(first).unwrap_or("")
        );
    }
}

fn script_and_json_load_the_same_ruleset() {
    assert_same_in_kernel("representative", &compile_text(REPRESENTATIVE));
    for name in HOSTILE {
        let (policy, h) = hostile_policy(name);
        let ruleset = compile_model(&policy, &h);
        assert_same_in_kernel(&format!("hostile name {name:?}"), &ruleset);
    }
    let (policy, h) = many_rules(500);
    let ruleset = compile_model(&policy, &h);
    assert_same_in_kernel("500 rules", &ruleset);
}

fn replacing_the_table_leaves_other_tables_alone() {
    let ns = Netns::create("srv");
    load(
        &ns,
        "table ip docker-like {\n\tchain x {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tcounter accept\n\t}\n}\n",
        false,
    )
    .expect("the other table loads");
    let ruleset = compile_text(REPRESENTATIVE);
    load(&ns, &ruleset.to_nft(), false).expect("first load");
    let once = list(&ns);
    load(&ns, &ruleset.to_nft(), false).expect("second load");
    assert_eq!(list(&ns), once, "loading twice changes nothing");
    load(&ns, &ruleset.to_json(), true).expect("JSON over the script");
    assert_eq!(
        list(&ns),
        once,
        "the JSON replaces the script's table exactly"
    );
    load(&ns, &ruleset.to_json(), true).expect("JSON twice");
    assert_eq!(list(&ns), once);
    assert_eq!(count(&once, "table"), 2, "{once:#}");
    let tables: Vec<&str> = once["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("table"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["docker-like", "portcullis"]);

    // A smaller policy replaces the whole table: nothing of the old one is left behind.
    let small = compile_text("input drop {\n  allow ssh\n}\n");
    load(&ns, &small.to_nft(), false).expect("the smaller ruleset loads");
    let after = list(&ns);
    assert_eq!(
        count(&after, "chain"),
        2,
        "docker-like's chain and the new input chain"
    );
    assert_eq!(count(&after, "set"), 0);
}

fn twenty_thousand_rules_load_quickly() {
    let (policy, h) = many_rules(20_000);
    let ruleset = compile_model(&policy, &h);
    let ns = Netns::create("srv");
    let start = Instant::now();
    load(&ns, &ruleset.to_nft(), false).expect("the script loads");
    let script = start.elapsed();
    let start = Instant::now();
    load(&ns, &ruleset.to_json(), true).expect("the JSON loads");
    let json = start.elapsed();
    say!("20000 rules: nft -f {script:?}, nft -j -f {json:?}");
    let listing = list(&ns);
    assert!(count(&listing, "rule") <= 12);
}

fn random_policies_load_alike() {
    let policy = Policy {
        hosts: Vec::new(),
        services: Vec::new(),
        nets: vec![NetDefinition {
            name: "office".to_string(),
            span: Span::default(),
            name_span: Span::default(),
            addresses: addrs(PREFIXES[3]),
            used: true,
        }],
    };
    let verdict = || {
        prop_oneof![
            Just(Verdict::Accept),
            Just(Verdict::Drop),
            Just(Verdict::Reject)
        ]
    };
    let chains = (
        prop::collection::vec(arb_rule(), 0..8),
        prop::collection::vec(arb_rule(), 0..8),
        prop::collection::vec(arb_rule(), 0..8),
        verdict(),
        verdict(),
        verdict(),
    );
    let mut runner = TestRunner::deterministic();
    for round in 0..20 {
        let (input, output, forward, a, b, c) = chains.new_tree(&mut runner).unwrap().current();
        let h = host(
            Some("random"),
            vec![
                chain(ChainKind::Input, a, input),
                chain(ChainKind::Output, b, output),
                chain(ChainKind::Forward, c, forward),
            ],
        );
        let ruleset = compile_model(&policy, &h);
        assert_same_in_kernel(&format!("random policy {round}"), &ruleset);
    }
}

super::trials::tests! {
    Kernel:
        script_and_json_load_the_same_ruleset,
        replacing_the_table_leaves_other_tables_alone,
        twenty_thousand_rules_load_quickly,
        random_policies_load_alike;
}
