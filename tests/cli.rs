//! The command line: exit codes, formats and messages for good and bad input.

use std::path::Path;

use crate::support::{portcullis, root};

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/cli"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn the_examples_check_clean() {
    // The Ansible example's policy too: its role copies that directory to every host.
    let mut examples: Vec<_> = ["examples", "examples/ansible/policy"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root().join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcl" | "yaml" | "yml")
            )
        })
        .collect();
    examples.sort();
    assert!(examples.len() >= 4, "{examples:?}");
    for example in examples {
        let run = portcullis(None, &["check", example.to_str().unwrap()]);
        assert_eq!(
            run.code,
            0,
            "{}\n{}{}",
            example.display(),
            run.stdout,
            run.stderr
        );
        assert!(
            !run.stdout.contains("warning["),
            "{} has warnings:\n{}",
            example.display(),
            run.stdout
        );
    }
}

#[test]
fn three_mistakes_are_all_reported_with_their_places() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "three.pcl",
        "service app = tcp/8080\n\ninput drop {\n  allow htps\n  allow ssh from ofice\n  allow 8080\n  allow app\n}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "three.pcl"]);
    run.code(1);
    assert!(run.stdout.contains("[three.pcl:4:9]"), "{}", run.stdout);
    assert!(run.stdout.contains("[three.pcl:5:18]"), "{}", run.stdout);
    assert!(run.stdout.contains("[three.pcl:6:9]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("did you mean `https`?"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("3 errors"), "{}", run.stderr);
    snapshot("three_mistakes", &run.stdout);
    let _ = file;
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let run = portcullis(None, &["check", "no/such/file.pcl"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("cannot read `no/such/file.pcl`: no such file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_directory_is_a_usage_error() {
    let run = portcullis(None, &["check", "examples"]);
    run.code(2);
    assert!(run.stderr.contains("it is a directory"), "{}", run.stderr);
}

#[test]
fn other_files_are_still_checked_after_an_unreadable_one() {
    let run = portcullis(None, &["check", "no-such.pcl", "examples/web.pcl"]);
    run.code(2);
    assert!(run.stderr.contains("checked 1 file"), "{}", run.stderr);
}

#[test]
fn bytes_that_are_not_utf8_are_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "latin1.pcl",
        b"input drop {\n  allow ssh # caf\xe9\n}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "latin1.pcl"]);
    run.code(1);
    assert!(run.stdout.contains("not valid UTF-8"), "{}", run.stdout);
    // The place, but not the line: a file that is not UTF-8 may be anything.
    assert!(
        run.stdout
            .contains("latin1.pcl:2:18: the file is not valid UTF-8"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_empty_file_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.pcl", "");
    let run = portcullis(Some(dir.path()), &["check", "empty.pcl"]);
    run.code(0);
    assert!(run.stdout.contains("empty-policy"), "{}", run.stdout);
    portcullis(Some(dir.path()), &["check", "--deny-warnings", "empty.pcl"]).code(1);
}

#[test]
fn an_include_cycle_is_an_error_at_the_include() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.pcl",
        "include \"b.pcl\"\ninput drop { allow ssh }\n",
    );
    write(
        dir.path(),
        "b.pcl",
        "include \"a.pcl\"\nnet office = 10.0.0.0/8\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "a.pcl"]);
    run.code(1);
    assert!(
        run.stdout
            .contains("include cycle: a.pcl -> b.pcl -> a.pcl"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[b.pcl:1:9]"), "{}", run.stdout);
}

#[test]
fn a_huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pcl");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let run = portcullis(Some(dir.path()), &["check", "huge.pcl"]);
    run.code(2);
    assert!(run.stderr.contains("it is 50 MiB"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    portcullis(None, &["check"]).code(2);
    portcullis(None, &["frobnicate"]).code(2);
    portcullis(None, &["check", "--format", "xml", "examples/web.pcl"]).code(2);
    let run = portcullis(
        None,
        &["check", "--ignore", "shadowed-rules", "examples/web.pcl"],
    );
    run.code(2);
    assert!(
        run.stderr.contains("did you mean `shadowed-rule`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn level_flags_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bits.pcl",
        "net db = 10.0.0.1/8\ninput drop {\n  allow ssh from db\n}\n",
    );
    portcullis(Some(dir.path()), &["check", "bits.pcl"]).code(0);
    portcullis(
        Some(dir.path()),
        &["check", "--error", "host-bits-set", "bits.pcl"],
    )
    .code(1);
    portcullis(
        Some(dir.path()),
        &[
            "check",
            "--error",
            "host-bits-set",
            "--ignore",
            "PC015",
            "bits.pcl",
        ],
    )
    .code(0);
    portcullis(
        Some(dir.path()),
        &[
            "check",
            "--ignore",
            "host-bits-set",
            "--error",
            "host-bits-set",
            "bits.pcl",
        ],
    )
    .code(1);
}

#[test]
fn levels_come_from_the_configuration_next_to_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bits.pcl",
        "net db = 10.0.0.1/8\ninput drop {\n  allow ssh from db\n}\n",
    );
    write(
        dir.path(),
        "portcullis.yaml",
        "lint:\n  levels:\n    host-bits-set: error\n",
    );
    portcullis(Some(dir.path()), &["check", "bits.pcl"]).code(1);
    // The command line wins over the configuration.
    portcullis(
        Some(dir.path()),
        &["check", "--warn", "host-bits-set", "bits.pcl"],
    )
    .code(0);
}

#[test]
fn a_broken_configuration_is_a_usage_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.pcl", "input drop { allow ssh }\n");
    write(dir.path(), "portcullis.yaml", "lint:\n  levls: {}\n");
    let run = portcullis(Some(dir.path()), &["check", "p.pcl"]);
    run.code(2);
    assert!(run.stderr.contains("portcullis.yaml:2:"), "{}", run.stderr);
}

#[test]
fn suppressions_silence_one_finding_and_unused_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.pcl",
        "net db = 10.0.0.1/8  # portcullis: ignore[host-bits-set]\n# portcullis: ignore[redundant-rule]\ninput drop {\n  allow ssh from db\n}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "--format", "json", "s.pcl"]);
    run.code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["unused-suppression"], "{}", run.stdout);
}

#[test]
fn json_output_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "j.pcl", "input drop {\n  allow htps\n}\n");
    let run = portcullis(Some(dir.path()), &["check", "--format", "json", "j.pcl"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["version"], 1);
    let d = &json["diagnostics"][0];
    assert_eq!(d["rule"], "unknown-service");
    assert_eq!(d["code"], "PC010");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "j.pcl");
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"], 9);
    assert_eq!(d["end_column"], 13);
    assert_eq!(d["help"], "did you mean `https`?");
    assert_eq!(json["summary"]["errors"], 1);
}

#[test]
fn github_output_is_one_annotation_per_finding() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "g.pcl", "input drop {\n  allow htps\n}\n");
    let run = portcullis(Some(dir.path()), &["check", "--format", "github", "g.pcl"]);
    run.code(1);
    assert!(
        run.stdout.starts_with(
            "::error file=g.pcl,line=2,col=9,endLine=2,endColumn=13,title=portcullis unknown-service::unknown service `htps`%0Ahelp: did you mean `https`?"
        ),
        "{}",
        run.stdout
    );
}

fn fix_language_patterns(value: &mut serde_json::Value) {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "pattern" && v.as_str() == Some(BROKEN) {
                    *v = serde_json::Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                } else {
                    fix_language_patterns(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_language_patterns),
        _ => {}
    }
}

/// The official SARIF 2.1.0 schema, as shipped inside the serde-sarif crate's sources.
fn sarif_schema() -> serde_json::Value {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registry = cargo_home.join("registry/src");
    for index in std::fs::read_dir(&registry).unwrap() {
        let index = index.unwrap().path();
        for krate in std::fs::read_dir(&index).unwrap() {
            let krate = krate.unwrap().path();
            let name = krate.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("serde-sarif-") {
                let text = std::fs::read_to_string(krate.join("src/schema.json")).unwrap();
                let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
                // The published schema's pattern for the `language` properties has a stray `]`
                // and is not a valid regular expression, so the schema fails its own meta-schema.
                // portcullis never writes `language`; use the pattern the specification means.
                fix_language_patterns(&mut schema);
                return schema;
            }
        }
    }
    panic!(
        "the serde-sarif sources (with the SARIF schema) are not in {}",
        registry.display()
    );
}

#[test]
fn sarif_output_validates_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.pcl",
        "net db = 10.0.0.1/8\ninput drop {\n  deny tcp/1-1023\n  allow ssh from db\n  allow htps\n}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "--format", "sarif", "s.pcl"]);
    run.code(1);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{}", run.stdout);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() >= 3, "{}", run.stdout);
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "shadowed-rule" && r["relatedLocations"].is_array()));
}

#[test]
fn lookup_agrees_with_the_registry() {
    for (query, expected) in [
        ("22/tcp", "ssh"),
        ("23/tcp", "telnet"),
        ("53", "domain"),
        ("443/udp", "https"),
        ("465/tcp", "submissions"),
        ("3306/tcp", "mysql"),
        ("5432/tcp", "postgresql"),
        ("6000-6063/tcp", "x11"),
    ] {
        let run = portcullis(None, &["lookup", "--format", "json", query]);
        run.code(0);
        assert!(
            run.stdout.contains(&format!("\"{expected}\"")),
            "{query}: {}",
            run.stdout
        );
    }
    let run = portcullis(None, &["lookup", "--format", "json", "49151"]);
    assert!(run.stdout.contains("\"user\""), "{}", run.stdout);
    let run = portcullis(None, &["lookup", "--format", "json", "49152"]);
    assert!(run.stdout.contains("\"dynamic\""), "{}", run.stdout);
    let run = portcullis(None, &["lookup", "htps"]);
    run.code(2);
    assert!(run.stderr.contains("`https`"), "{}", run.stderr);
}

#[test]
fn rules_and_rule_print_the_registry_and_docs() {
    let run = portcullis(None, &["rules"]);
    run.code(0);
    assert!(
        run.stdout.contains("PC201  shadowed-rule"),
        "{}",
        run.stdout
    );
    let run = portcullis(None, &["rule", "PC201"]);
    run.code(0);
    assert!(
        run.stdout.starts_with("# shadowed-rule (PC201)"),
        "{}",
        run.stdout
    );
    portcullis(None, &["rule", "no-such-rule"]).code(2);
}

#[test]
fn explain_names_the_deciding_rule() {
    let run = portcullis(
        None,
        &[
            "explain",
            "examples/web.pcl",
            "tcp/8050",
            "from",
            "10.10.0.5",
        ],
    );
    run.code(0);
    assert!(
        run.stdout.contains("allow by examples/web.pcl:"),
        "{}",
        run.stdout
    );
    let run = portcullis(
        None,
        &[
            "explain",
            "examples/web.pcl",
            "--format",
            "json",
            "tcp/9999",
            "from",
            "198.51.100.7",
        ],
    );
    run.code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["verdict"], "deny");
    assert!(json["rule"].is_null());
}

#[test]
fn overlays_from_the_configuration_name_site_services() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site-services",
        "# site services\nbilling   7443/tcp   bill   # the billing API\n",
    );
    write(
        dir.path(),
        "portcullis.yaml",
        "registry:\n  overlays: [site-services]\n",
    );
    write(
        dir.path(),
        "p.pcl",
        "input drop {\n  allow ssh from 192.0.2.0/24\n  allow bill from 10.0.0.0/8\n}\n",
    );
    portcullis(Some(dir.path()), &["check", "p.pcl"]).code(0);
    let run = portcullis(
        Some(dir.path()),
        &["explain", "p.pcl", "tcp/7443", "from", "10.1.2.3"],
    );
    run.code(0);
    assert!(run.stdout.contains("allow by p.pcl:3:3"), "{}", run.stdout);
    // Without the configuration the name is unknown.
    write(dir.path(), "empty.yaml", "");
    let run = portcullis(
        Some(dir.path()),
        &["check", "--config", "empty.yaml", "p.pcl"],
    );
    run.code(1);
    assert!(
        run.stdout.contains("unknown service `bill`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_broken_overlay_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site-services",
        "billing 7443/tcp\nbroken 99999/tcp\n",
    );
    write(
        dir.path(),
        "portcullis.yaml",
        "registry:\n  overlays: [site-services]\n",
    );
    write(dir.path(), "p.pcl", "input drop {\n  allow ssh\n}\n");
    let run = portcullis(Some(dir.path()), &["check", "p.pcl"]);
    run.code(2);
    assert!(run.stderr.contains("site-services:2:"), "{}", run.stderr);
}

#[test]
fn compile_and_explain_take_the_level_flags_of_check() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.pcl",
        "input drop {\n  allow ssh\n  deny telnet\n}\n",
    );
    // A warning does not stop compile; as an error it does, and ignored it is not even noted.
    let run = portcullis(Some(dir.path()), &["compile", "p.pcl"]);
    run.code(0);
    assert!(run.stderr.contains("1 warning"), "{}", run.stderr);
    let run = portcullis(
        Some(dir.path()),
        &["compile", "p.pcl", "--error", "redundant-rule"],
    );
    run.code(1);
    assert!(
        run.stderr.contains("`deny telnet` is redundant"),
        "{}",
        run.stderr
    );
    let run = portcullis(
        Some(dir.path()),
        &[
            "compile",
            "p.pcl",
            "--error",
            "redundant-rule",
            "--ignore",
            "PC202",
        ],
    );
    run.code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let run = portcullis(
        Some(dir.path()),
        &[
            "explain",
            "p.pcl",
            "--error",
            "redundant-rule",
            "tcp/22",
            "from",
            "192.0.2.1",
        ],
    );
    // A lint's finding, even at error level, does not stop an explanation.
    run.code(0);
    let run = portcullis(
        Some(dir.path()),
        &[
            "explain",
            "p.pcl",
            "--ignore",
            "nosuchrule",
            "tcp/22",
            "from",
            "192.0.2.1",
        ],
    );
    run.code(2);
    assert!(
        run.stderr.contains("no lint rule is called"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_policy_on_standard_input_is_checked_and_compiled_under_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "input drop {\n  allow ssh\n  allow htps\n}\n";
    let run = crate::support::portcullis_with_input(
        Some(dir.path()),
        &["check", "--stdin-name", "piped.pcl", "-"],
        Some(policy),
    );
    run.code(1);
    assert!(run.stdout.contains("[piped.pcl:3:9]"), "{}", run.stdout);
    let run = crate::support::portcullis_with_input(
        Some(dir.path()),
        &["compile", "-"],
        Some("input drop {\n  allow ssh\n}\n"),
    );
    run.code(0);
    assert!(run.stdout.contains("tcp dport 22 accept"), "{}", run.stdout);
    // The YAML form, told by the name's extension.
    let run = crate::support::portcullis_with_input(
        Some(dir.path()),
        &["check", "--stdin-name", "p.yaml", "-"],
        Some("input:\n  policy: drop\n  rules:\n    - {allow: ssh}\n"),
    );
    run.code(0);
    let run = portcullis(Some(dir.path()), &["check", "-", "-"]);
    run.code(2);
}

#[test]
fn unreadable_files_are_not_counted_as_checked() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["check", "missing.pcl"][..], &["check", "."][..]] {
        let run = portcullis(Some(dir.path()), args);
        run.code(2);
        assert!(!run.stderr.contains("checked 0"), "{}", run.stderr);
        assert!(!run.stderr.contains("no problems found"), "{}", run.stderr);
    }
    write(dir.path(), "ok.pcl", "input drop {\n  allow ssh\n}\n");
    let run = portcullis(Some(dir.path()), &["check", "ok.pcl", "missing.pcl"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("checked 1 file (1 more could not be read)"),
        "{}",
        run.stderr
    );
}

#[test]
fn commands_offer_only_the_formats_they_have() {
    for args in [
        &["lookup", "ssh", "--format", "sarif"][..],
        &["rules", "--format", "github"][..],
        &[
            "explain",
            "examples/minimal.pcl",
            "--format",
            "sarif",
            "tcp/22",
            "from",
            "192.0.2.1",
        ][..],
    ] {
        let run = portcullis(None, args);
        run.code(2);
        assert!(
            run.stderr.contains("possible values: human, json"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn messages_say_what_the_user_means() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "upper.pcl", "input drop {\n  allow TCP/80\n}\n");
    let run = portcullis(Some(dir.path()), &["check", "upper.pcl"]);
    assert!(
        run.stdout
            .contains("keywords and protocols are lowercase: write `tcp/80`"),
        "{}",
        run.stdout
    );
    // The packet's parts in any order.
    let run = portcullis(
        None,
        &[
            "explain",
            "examples/minimal.pcl",
            "from",
            "192.0.2.4",
            "tcp/22",
        ],
    );
    run.code(0);
    assert!(!run.stderr.contains("tcp/from"), "{}", run.stderr);
    // A configuration mistake is named once, in our words, with the key that was meant.
    let sub = dir.path().join("cfg");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "portcullis.yaml", "lint:\n  levles: {}\n");
    write(&sub, "p.pcl", "input drop {\n  allow ssh\n}\n");
    let run = portcullis(Some(&sub), &["check", "p.pcl"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("portcullis.yaml:2:3: unknown key `levles`; did you mean `levels`?"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("error").count(), 1, "{}", run.stderr);
    // An IPv6 address YAML reads as mapping syntax: the hint to quote it.
    write(
        dir.path(),
        "v6.yaml",
        "binds:\n  - {process: x, on: ::, services: ssh}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "v6.yaml"]);
    assert!(
        run.stdout.contains("quote the address, `on: \"::\"`"),
        "{}",
        run.stdout
    );
}

#[test]
fn masquerade_without_from_translates_ipv4_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "r.pcl",
        "forward drop {\n  allow from 192.168.1.0/24 on lan0\n}\nmasquerade on wan0\n",
    );
    let run = portcullis(Some(dir.path()), &["compile", "r.pcl"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("oifname \"wan0\" meta nfproto ipv4 masquerade"),
        "{}",
        run.stdout
    );
    let run = portcullis(
        Some(dir.path()),
        &[
            "explain",
            "r.pcl",
            "--chain",
            "forward",
            "tcp/443",
            "from",
            "2001:db8::5",
            "to",
            "2001:db8:9::1",
            "on",
            "lan0",
        ],
    );
    assert!(!run.stdout.contains("rewritten"), "{}", run.stdout);
}

#[test]
fn a_yaml_negation_read_as_a_tag_gets_the_hint_to_quote_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.yaml",
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, from: !office}\n",
    );
    let run = portcullis(Some(dir.path()), &["check", "t.yaml"]);
    run.code(1);
    assert!(run.stdout.contains("quote a negation"), "{}", run.stdout);
}

/// Each failed expectation names a packet and the `explain` command that shows it; `explain`
/// then decides that packet against what was expected.
#[test]
fn a_failed_expectations_packet_is_confirmed_by_explain() {
    let file = "tests/fixtures/lints/failed-expectation/trigger.pcl";
    let run = portcullis(None, &["check", file, "--format", "json"]);
    run.code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let findings: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["rule"] == "failed-expectation")
        .filter(|d| {
            !d["message"]
                .as_str()
                .unwrap_or("")
                .contains("describes no packet")
        })
        .collect();
    assert_eq!(findings.len(), 4, "{}", run.stdout);
    for finding in findings {
        let message = finding["message"].as_str().expect("a message");
        let kind = message
            .split_whitespace()
            .nth(1)
            .expect("`expect KIND ...`");
        let help = finding["help"].as_str().expect("a help");
        let command = help.split('`').nth(1).expect("a command in backticks");
        let words: Vec<&str> = command.split_whitespace().skip(1).collect();
        assert_eq!(words[0], "explain", "{help}");
        let mut args = words.clone();
        args.extend(["--format", "json"]);
        let explained = portcullis(None, &args);
        explained.code(0);
        let decision: serde_json::Value =
            serde_json::from_str(&explained.stdout).expect("explain's JSON");
        let steady = decision["verdict"] == "allow";
        let limited: Vec<bool> = decision["limited"]
            .as_array()
            .expect("limited")
            .iter()
            .map(|l| l["verdict"] == "allow")
            .collect();
        let under_limit = limited.first().copied().unwrap_or(steady);
        let contradicts = match kind {
            "open" => !(steady && under_limit),
            "closed" => steady || under_limit,
            "limited" => steady || !under_limit,
            other => panic!("{other}"),
        };
        assert!(contradicts, "{message}\n{}", explained.stdout);
    }
}
