//! Loads compiled rulesets into scratch network namespaces: the kernel is the judge of whether
//! the script and the JSON say the same thing and whether the replacement leaves other tables
//! alone. Needs root and nft; skipped loudly without them, and failing instead under `CI=true`.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::*;

/// Whether the kernel tests can run here.
fn kernel_available(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let nft = Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let ip = Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && nft && ip {
        return true;
    }
    let why = format!("{test}: needs root, nft and ip (root: {root}, nft: {nft}, ip: {ip})");
    // The same rule as tests/kernel/env.rs: on CI a skipped proof is a failed one.
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{why}; CI=true, so this is a failure, not a skip");
    }
    eprintln!("\n!!! SKIPPED {why} !!!\n");
    false
}

/// A network namespace that is deleted when dropped.
struct Netns {
    name: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    fn new() -> Netns {
        let name = format!(
            "pc-compile-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("ip runs");
        assert!(out.status.success(), "ip netns add: {}", stderr(&out));
        Netns { name }
    }

    /// nft inside this namespace.
    fn nft(&self) -> crate::nft::Nft {
        crate::nft::Nft::from_env().in_netns(&self.name)
    }

    /// Loads a script (`json: false`) or a JSON batch.
    fn load(&self, text: &str, json: bool) -> Result<(), String> {
        self.nft().load(text, json).map_err(|e| e.to_string())
    }

    /// `nft -j list ruleset` without handles and version information.
    fn list(&self) -> serde_json::Value {
        let listed = self
            .nft()
            .list_ruleset_json()
            .expect("nft lists the ruleset");
        let mut value: serde_json::Value = serde_json::from_str(&listed).expect("nft lists JSON");
        strip(&mut value);
        value
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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
    let (text_ns, json_ns) = (Netns::new(), Netns::new());
    if let Err(e) = text_ns.load(&ruleset.to_nft(), false) {
        panic!(
            "{what}: nft -f refused the script: {e}\n{}",
            ruleset.to_nft()
        );
    }
    if let Err(e) = json_ns.load(&ruleset.to_json(), true) {
        panic!("{what}: nft -j -f refused the JSON: {e}");
    }
    let (a, b) = (text_ns.list(), json_ns.list());
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

#[test]
fn script_and_json_load_the_same_ruleset() {
    if !kernel_available("script_and_json_load_the_same_ruleset") {
        return;
    }
    assert_same_in_kernel(
        "representative",
        &compile_text(REPRESENTATIVE, &CompileConfig::default()),
    );
    for name in HOSTILE {
        let (policy, h) = hostile_policy(name);
        let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
        assert_same_in_kernel(&format!("hostile name {name:?}"), &ruleset);
    }
    let (policy, h) = many_rules(500);
    let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
    assert_same_in_kernel("500 rules", &ruleset);
}

#[test]
fn replacing_the_table_leaves_other_tables_alone() {
    if !kernel_available("replacing_the_table_leaves_other_tables_alone") {
        return;
    }
    let ns = Netns::new();
    ns.load(
        "table ip docker-like {\n\tchain x {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tcounter accept\n\t}\n}\n",
        false,
    )
    .expect("the other table loads");
    let ruleset = compile_text(REPRESENTATIVE, &CompileConfig::default());
    ns.load(&ruleset.to_nft(), false).expect("first load");
    let once = ns.list();
    ns.load(&ruleset.to_nft(), false).expect("second load");
    assert_eq!(ns.list(), once, "loading twice changes nothing");
    ns.load(&ruleset.to_json(), true)
        .expect("JSON over the script");
    assert_eq!(
        ns.list(),
        once,
        "the JSON replaces the script's table exactly"
    );
    ns.load(&ruleset.to_json(), true).expect("JSON twice");
    assert_eq!(ns.list(), once);
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
    let small = compile_text("input drop {\n  allow ssh\n}\n", &CompileConfig::default());
    ns.load(&small.to_nft(), false)
        .expect("the smaller ruleset loads");
    let after = ns.list();
    assert_eq!(
        count(&after, "chain"),
        2,
        "docker-like's chain and the new input chain"
    );
    assert_eq!(count(&after, "set"), 0);
}

#[test]
fn twenty_thousand_rules_load_quickly() {
    if !kernel_available("twenty_thousand_rules_load_quickly") {
        return;
    }
    let (policy, h) = many_rules(20_000);
    let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
    let ns = Netns::new();
    let start = Instant::now();
    ns.load(&ruleset.to_nft(), false).expect("the script loads");
    let script = start.elapsed();
    let start = Instant::now();
    ns.load(&ruleset.to_json(), true).expect("the JSON loads");
    let json = start.elapsed();
    eprintln!("20000 rules: nft -f {script:?}, nft -j -f {json:?}");
    let listing = ns.list();
    assert!(count(&listing, "rule") <= 12);
}

#[test]
fn random_policies_load_alike() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    if !kernel_available("random_policies_load_alike") {
        return;
    }
    let policy = Policy {
        hosts: Vec::new(),
        services: Vec::new(),
        nets: vec![NetDefinition {
            name: "office".to_string(),
            span: Span::default(),
            name_span: Span::default(),
            addresses: addrs(super::equivalence::PREFIXES[3]),
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
        prop::collection::vec(super::equivalence::arb_rule(), 0..8),
        prop::collection::vec(super::equivalence::arb_rule(), 0..8),
        prop::collection::vec(super::equivalence::arb_rule(), 0..8),
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
        let ruleset = compile_model(&policy, &h, &CompileConfig::default()).unwrap();
        assert_same_in_kernel(&format!("random policy {round}"), &ruleset);
    }
}
