//! `nft -c -f` accepts the compiled output of every example and every fixture: both renderings,
//! for every host of every file that checks without errors.

use std::path::{Path, PathBuf};

use portcullis::compile::compile_host_with_sources;
use portcullis::config::Settings;
use portcullis::lint::Levels;
use portcullis::nft::Nft;

use super::trials::say;

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            policy_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcl" | "yaml" | "yml")
        ) && path.file_name().and_then(|n| n.to_str()) != Some("portcullis.yaml")
        {
            out.push(path);
        }
    }
}

fn nft_accepts_every_example_and_fixture() {
    let mut files = Vec::new();
    for dir in ["examples", "tests/fixtures"] {
        policy_files(Path::new(dir), &mut files);
    }
    files.sort();
    let nft = Nft::from_env();
    let mut compiled = 0;
    let mut failures = Vec::new();
    for file in &files {
        let settings = Settings::discover(None, Some(file)).unwrap_or_default();
        let levels = Levels::from_config(&settings.config.lint);
        let Ok(loaded) = portcullis::load::load(file) else {
            continue;
        };
        let checked = portcullis::pipeline::check(loaded, &settings, &levels);
        if checked.has_errors() {
            continue; // fixtures of error-level rules do not compile, by design
        }
        for host in &checked.policy.hosts {
            let ruleset = match compile_host_with_sources(
                &checked.policy,
                host,
                &settings.config.compile,
                &checked.loaded.sources,
            ) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{}: does not compile: {e}", file.display()));
                    continue;
                }
            };
            for (json, text) in [(false, ruleset.to_nft()), (true, ruleset.to_json())] {
                if let Err(e) = nft.check(&text, json) {
                    failures.push(format!(
                        "{} host {} ({}): {e}",
                        file.display(),
                        host.display_name(),
                        if json { "json" } else { "nft" }
                    ));
                }
                compiled += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compiled >= 40, "only {compiled} rulesets were checked");
    say!(
        "nft -c accepted {compiled} rulesets from {} files",
        files.len()
    );
}

/// Words nft's scanner knows only after certain keywords, and ordinary names: each that portcullis
/// accepts as the table's name must be one nft reads as a name.
const NEAR_KEYWORDS: &[&str] = &[
    "filter",
    "nat",
    "mangle",
    "raw",
    "security",
    "fw",
    "portcullis",
    "edge-fw_1",
    "saddr",
    "daddr",
    "dport",
    "sport",
    "state",
    "status",
    "prefix",
    "level",
    "burst",
    "rate",
    "over",
    "name",
    "packets",
    "bytes",
    "to",
    "with",
    "port",
    "id",
    "version",
    "length",
    "protocol",
    "checksum",
    "tables",
    "chains",
    "sets",
    "rules",
    "accepted",
    "drops",
    "tcpmux",
    "ssh",
    "http",
    "icmpx",
    "second",
    "minute",
    "week",
    "never",
    "hooks",
    "maps",
    "json",
    "xml",
    "vm",
    "seed",
    "mod",
    "offset",
    "in",
    "out",
    "check",
    "zone",
    "original",
    "reply",
    "label",
    "helper",
    "expiration",
];

fn table_names_portcullis_accepts_are_names_to_nft() {
    use portcullis::compile::compile_host;
    use portcullis::config::CompileConfig;
    use portcullis::model::values::{TableName, NFT_KEYWORDS};
    let checked = portcullis::pipeline::check_text("t.pcl", "input drop {\n  allow ssh\n}\n");
    let host = &checked.policy.hosts[0];
    let nft = Nft::from_env();
    let mut failures = Vec::new();
    let mut accepted = 0;
    for word in NFT_KEYWORDS.iter().chain(NEAR_KEYWORDS) {
        let Ok(table) = TableName::new(word) else {
            assert!(
                NFT_KEYWORDS.contains(word),
                "`{word}` refused but not a keyword"
            );
            continue;
        };
        assert!(!NFT_KEYWORDS.contains(word), "keyword `{word}` accepted");
        let config = CompileConfig {
            table,
            ..CompileConfig::default()
        };
        let ruleset = compile_host(&checked.policy, host, &config).expect("compiles");
        if let Err(e) = nft.check(&ruleset.to_nft(), false) {
            failures.push(format!("{word}: {e}"));
        }
        accepted += 1;
    }
    assert!(
        failures.is_empty(),
        "nft refuses table names portcullis accepts:\n{}",
        failures.join("\n")
    );
    assert_eq!(accepted, NEAR_KEYWORDS.len());
}

/// The library's nft reports a script the kernel refuses as a refusal, with nft's words.
fn a_refused_script_is_a_typed_refusal() {
    let err = Nft::from_env()
        .check("table inet x { chain y { bogus } }\n", false)
        .expect_err("nft refuses a rule it cannot parse");
    match err {
        portcullis::nft::NftError::Refused { message } => {
            assert!(message.contains("bogus"), "{message}")
        }
        other => panic!("not a refusal: {other:?}"),
    }
}

super::trials::tests! {
    Kernel: nft_accepts_every_example_and_fixture, table_names_portcullis_accepts_are_names_to_nft,
        a_refused_script_is_a_typed_refusal;
}
