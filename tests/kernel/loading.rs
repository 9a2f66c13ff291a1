//! Compiled rulesets loaded into scratch namespaces, with the kernel as the judge of what the
//! compiler alone cannot tell: whether the script and the JSON load the same ruleset (a
//! representative policy, hostile names, 500 rules, random chains), whether loading replaces its
//! own table and leaves other tables alone, and whether 20,000 rules load in one go.
//!
//! The policies are the compiler's test cases, built from the library's public model in a file
//! both include ([`cases`], `src/compile/test_cases.rs`); the random chains come from the same
//! strategies and seed as in the compiler's tests, so they are the same chains.

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

#[path = "../../src/compile/test_cases.rs"]
mod cases;
use cases::*;

// ---------------------------------------------------------------------------------------------
// Compiling

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
    let (text_ns, json_ns) = (
        Netns::create("srv").expect("cannot create a network namespace"),
        Netns::create("srv").expect("cannot create a network namespace"),
    );
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
    let ns = Netns::create("srv").expect("cannot create a network namespace");
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
    let ns = Netns::create("srv").expect("cannot create a network namespace");
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
    let policy = office();
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
