//! No input makes portcullis panic: mutated policies go through the whole pipeline (parse,
//! resolve, every lint, and compile where there are no errors).

use portcullis::compile::compile_host;
use portcullis::config::CompileConfig;
use portcullis::pipeline::check_text;
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    include_str!("../examples/web.pcl"),
    include_str!("../examples/router.pcl"),
    include_str!("../examples/database.pcl"),
    include_str!("../examples/minimal.pcl"),
];

/// Words that make mutations likely to stay close to valid policies.
const WORDS: &[&str] = &[
    "allow",
    "deny",
    "reject",
    "from",
    "to",
    "on",
    "any",
    "tcp",
    "udp/53",
    "tcp/1-65535",
    "ssh",
    "limit 1/second",
    "per source",
    "log \"x\"",
    "log \"cost $5\"",
    "log \"a\\\\b\"",
    "on eth0, wg0",
    "on !wan0",
    "from !10.0.0.0/8",
    "icmp echo-request",
    "icmpv6 nd-neighbor-solicit",
    "gre",
    "proto/47",
    "masquerade on wan0",
    "snat on wan0 to 192.0.2.1",
    "counter",
    "{",
    "}",
    "\n",
    ",",
    "10.0.0.0/8",
    "::/0",
    "fe80::1",
    "input drop {",
    "output reject {",
    "forward accept {",
    "host h {",
    "bind p on :: ssh as nobody",
    "forward-port tcp/80 to 10.0.0.1:8080",
    "net n = any",
    "service s = tcp/1",
    "include \"x.pcl\"",
    "0",
    "65536",
    "\\\n",
    "#",
    "\u{feff}",
    "é",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    DuplicateLine(usize),
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = bytes.len().max(1);
        match *m {
            Mutation::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 12).min(bytes.len());
                bytes.drain(at.min(bytes.len())..end);
            }
            Mutation::Insert(at, word) => {
                let at = (at % n).min(bytes.len());
                let word = format!(" {} ", WORDS[word % WORDS.len()]);
                for (i, c) in word.chars().enumerate() {
                    bytes.insert(at + i, c);
                }
            }
            Mutation::DuplicateLine(at) => {
                let text: String = bytes.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = at % lines.len();
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    bytes = out.join("\n").chars().collect();
                }
            }
        }
    }
    bytes.into_iter().collect()
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, w)| Mutation::Insert(a, w)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn mutated_policies_never_panic(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(arb_mutation(), 1..6),
    ) {
        let text = apply(SEEDS[seed], &mutations);
        let checked = check_text("mutated.pcl", &text);
        for d in &checked.diagnostics {
            // Every finding points inside its file.
            let file = checked.loaded.sources.get(d.primary.span.file);
            prop_assert!(d.primary.span.end <= file.text.len(), "{d:?}\n{text}");
        }
        if !checked.has_errors() {
            for host in &checked.policy.hosts {
                // A policy `check` calls clean always compiles: the compiler and the front end
                // check values the same way.
                let compiled = compile_host(&checked.policy, host, &CompileConfig::default());
                prop_assert!(compiled.is_ok(), "{:?}\n{text}", compiled.err());
                let ruleset = compiled.expect("checked above");
                let _ = ruleset.to_nft();
                let _ = ruleset.to_json();
            }
        }
        let _ = portcullis::diagnostic::render_human(
            &checked.loaded.sources,
            &checked.diagnostics,
            portcullis::diagnostic::HumanOptions::default(),
        );
    }
}
