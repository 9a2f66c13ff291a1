//! Test cases shared by the compiler's unit tests (`src/compile/tests.rs`) and the kernel tests
//! that load compiled rulesets (`tests/kernel/loading.rs`): the representative policy, models
//! built by hand (hostile names, many rules), and the strategies for random chains. Both include
//! this file with `#[path]`, so the kernel loads exactly the policies and chains the compiler's
//! tests check: the same strategies from the same seed make the same chains.
//!
//! The file is written against `use super::*`: each includer imports the model's names, as
//! `crate::...` in the library and as `portcullis::...` in the kernel tests.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------------------------
// Policies

/// A policy with a rule of every kind: the compiler's snapshot, and the kernel's first load.
pub(super) const REPRESENTATIVE: &str = r#"
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

// ---------------------------------------------------------------------------------------------
// Models built by hand

pub(super) fn addrs(prefixes: &[&str]) -> AddrSet {
    prefixes.iter().fold(AddrSet::empty(), |set, p| {
        set.union(&AddrSet::prefix(p.parse().expect("a test prefix")))
    })
}

pub(super) fn v4_any() -> AddrSet {
    AddrSet {
        v4: IntervalSet::full(),
        v6: IntervalSet::empty(),
    }
}

pub(super) fn rule(verdict: Verdict, traffic: Traffic) -> model::Rule {
    model::Rule::matching(
        verdict,
        Span::default(),
        traffic,
        AddrSet::any(),
        AddrSet::any(),
    )
}

pub(super) fn chain(kind: ChainKind, policy: Verdict, rules: Vec<model::Rule>) -> model::Chain {
    model::Chain {
        kind,
        policy,
        policy_span: Span::default(),
        span: Span::default(),
        rules,
        expectations: Vec::new(),
    }
}

pub(super) fn host(name: Option<&str>, chains: Vec<model::Chain>) -> Host {
    Host {
        name: name.map(str::to_string),
        span: Span::default(),
        binds: Vec::new(),
        chains,
        forwards: Vec::new(),
        source_nats: Vec::new(),
    }
}

pub(super) fn tcp(lo: u16, hi: u16) -> Traffic {
    Traffic::ports(Protocol::Tcp, PortRange { lo, hi })
}

// ---------------------------------------------------------------------------------------------
// Hostile input

/// Names and strings an attacker who controls a policy file (or a YAML generator) might try.
pub(super) const HOSTILE: &[&str] = &[
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

pub(super) fn hostile_policy(name: &str) -> (Policy, Host) {
    let net = NetDefinition {
        name: name.to_string(),
        span: Span::default(),
        name_span: Span::default(),
        addresses: addrs(&["10.9.0.0/16", "2001:db8:9::/48"]),
        used: true,
    };
    let mut r = rule(Verdict::Accept, tcp(22, 22));
    r.src = net.addresses.clone().into();
    r.src_names = vec![name.to_string()].into();
    let mut other = net.clone();
    other.name = format!("{name}-other");
    let mut r2 = rule(Verdict::Drop, tcp(23, 23));
    r2.src = other.addresses.clone().into();
    r2.src_names = vec![other.name.clone()].into();
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

// ---------------------------------------------------------------------------------------------
// Scale

/// `count` disjoint port ranges from one source, alternating allow and deny.
pub(super) fn many_rules(count: usize) -> (Policy, Host) {
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
            r.src = src.clone().into();
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
// Random chains: rules from these strategies, compiled against `office()`.

/// The policy random chains are compiled against: the net `office`, which [`arb_addrs`] names.
pub(super) fn office() -> Policy {
    Policy {
        hosts: Vec::new(),
        services: Vec::new(),
        nets: vec![NetDefinition {
            name: "office".to_string(),
            span: Span::default(),
            name_span: Span::default(),
            addresses: addrs(PREFIXES[3]),
            used: true,
        }],
    }
}

pub(super) const PREFIXES: &[&[&str]] = &[
    &["10.0.0.0/8"],
    &["10.1.0.0/16"],
    &["2001:db8::/32"],
    &["10.0.0.0/8", "2001:db8::/32"],
    &["10.1.0.0/16", "10.3.0.0/16", "2001:db8:1::/48"],
];

/// Sources: the set, the net names written, and whether they were negated.
pub(super) fn arb_addrs() -> impl Strategy<Value = (AddrSet, Vec<String>, bool)> {
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

pub(super) fn arb_ports() -> impl Strategy<Value = IntervalSet<u16>> {
    prop_oneof![
        3 => prop::collection::vec((0u16..40, 0u16..8), 0..3).prop_map(|v| {
            IntervalSet::from_ranges(v.into_iter().map(|(lo, len)| (lo, lo + len)))
        }),
        1 => Just(IntervalSet::full()),
    ]
}

/// Types or protocol numbers near the ones packets use.
pub(super) fn arb_bytes() -> impl Strategy<Value = IntervalSet<u8>> {
    prop_oneof![
        3 => prop::collection::vec((0u8..60, 0u8..5), 0..3).prop_map(|v| {
            IntervalSet::from_ranges(v.into_iter().map(|(lo, len)| (lo, lo + len)))
        }),
        1 => Just(IntervalSet::full()),
    ]
}

pub(super) fn arb_traffic() -> impl Strategy<Value = Traffic> {
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

pub(super) fn arb_rule() -> impl Strategy<Value = model::Rule> {
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
            r.src = src.into();
            r.src_names = src_names.into();
            r.src_negated = src_negated;
            if let Some(dst) = dst {
                r.dst = addrs(&[dst]).into();
            }
            r.interface = interface;
            r.limit = limit;
            r.log = log.map(|l| l.map(String::into_boxed_str));
            r.counter = counter;
            r
        })
}
