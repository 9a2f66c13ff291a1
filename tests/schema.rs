//! The JSON Schemas that `portcullis schema` prints accept what portcullis accepts and refuse what
//! it refuses: every YAML policy and `portcullis.yaml` in the repository and in the docs, the
//! corner cases of the YAML form, and a mistake of each kind.
//!
//! Documents are read as an editor's YAML language server reads them (YAML 1.2: `yes` and `on`
//! are strings), while portcullis reads YAML 1.1's boolean words as booleans where it expects one;
//! the schemas allow for both.

use std::path::{Path, PathBuf};

use portcullis::config::Settings;
use portcullis::source::FileId;

use crate::support::{portcullis, root};

/// The schema `portcullis schema DOCUMENT` prints, compiled.
fn validator(document: &str) -> jsonschema::Validator {
    let run = portcullis(None, &["schema", document]);
    run.code(0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// A YAML document as JSON, the way an editor sees it.
fn as_json(text: &str) -> serde_json::Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options).expect("valid YAML")
}

/// The schema's complaints about `text`, one line each; empty when it validates.
fn complaints(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    validator
        .iter_errors(&as_json(text))
        .map(|e| format!("{e} at `{}`", e.instance_path()))
        .collect()
}

/// The `syntax-error` findings of a YAML policy: the mistakes of shape and value that the schema
/// is held to (names and services that resolve to nothing are the resolver's, not the form's).
fn syntax_errors(text: &str) -> Vec<String> {
    let text = text.to_string();
    // On the stack of a main thread, as in the CLI: a test thread's 2 MiB are too few for the
    // hostile documents of the fuzz corpus.
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let (_, diagnostics) = portcullis::syntax::parse_yaml(FileId(0), &text);
            diagnostics
                .iter()
                .filter(|d| d.rule == "syntax-error")
                .map(|d| d.message.to_string())
                .collect()
        })
        .expect("the thread starts")
        .join()
        .expect("the YAML form is read without a panic")
}

/// Files under `dir` (recursively, leaving out build output and hidden directories) whose names
/// satisfy `wanted`, sorted.
fn files(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            if name != "target" && !name.starts_with('.') {
                found.extend(files(&path, wanted));
            }
        } else if wanted(&name) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The ```yaml blocks of a Markdown file, with their line numbers.
fn yaml_blocks(markdown: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(markdown).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```yaml" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

#[test]
fn every_yaml_policy_in_the_repository_validates() {
    let policy = validator("policy");
    // examples/ansible holds Ansible's YAML (a playbook, a role, an inventory); its policy is text.
    let mut policies: Vec<PathBuf> = files(&root().join("examples"), &|n| {
        is_yaml(n) && n != "portcullis.yaml"
    })
    .into_iter()
    .filter(|path| !path.starts_with(root().join("examples/ansible")))
    .collect();
    // The fuzz corpus holds the YAML policies of the tests, hostile ones among them: those that
    // portcullis reads without a syntax error must validate.
    policies.extend(files(&root().join("fuzz/corpus/parse_yaml"), &is_yaml));
    policies.extend(files(&root().join("tests/fixtures"), &|n| {
        is_yaml(n) && n != "portcullis.yaml"
    }));
    let mut checked = 0;
    for path in &policies {
        let text = std::fs::read_to_string(path).unwrap();
        if !syntax_errors(&text).is_empty() {
            assert!(
                !path.starts_with(root().join("examples")),
                "{} does not check",
                path.display()
            );
            continue;
        }
        let complaints = complaints(&policy, &text);
        assert!(complaints.is_empty(), "{}: {complaints:#?}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "{policies:?}");
}

#[test]
fn the_yaml_of_the_docs_validates_exactly_when_portcullis_reads_it() {
    // docs/yaml.md shows whole policies and fragments of one (`rules:` alone is a fragment).
    let policy = validator("policy");
    let blocks = yaml_blocks(&root().join("docs/yaml.md"));
    assert!(blocks.len() >= 6, "{blocks:?}");
    let mut fragments = 0;
    for (line, text) in &blocks {
        let errors = syntax_errors(text);
        let complaints = complaints(&policy, text);
        assert_eq!(
            errors.is_empty(),
            complaints.is_empty(),
            "docs/yaml.md:{line}: portcullis says {errors:#?}, the schema says {complaints:#?}"
        );
        fragments += usize::from(!errors.is_empty());
    }
    assert!(fragments < blocks.len() / 2, "{blocks:?}");

    let config = validator("config");
    let blocks = yaml_blocks(&root().join("docs/configuration.md"));
    assert!(!blocks.is_empty());
    for (line, text) in &blocks {
        let complaints = complaints(&config, text);
        assert!(
            complaints.is_empty(),
            "docs/configuration.md:{line}: {complaints:#?}"
        );
        if let Err(e) = Settings::parse("portcullis.yaml", text) {
            panic!("docs/configuration.md:{line}: {e}");
        }
    }
}

#[test]
fn every_configuration_in_the_repository_validates() {
    let config = validator("config");
    let configs = files(&root(), &|n| n == "portcullis.yaml");
    assert!(!configs.is_empty());
    for path in &configs {
        let text = std::fs::read_to_string(path).unwrap();
        Settings::parse("portcullis.yaml", &text).unwrap();
        let complaints = complaints(&config, &text);
        assert!(complaints.is_empty(), "{}: {complaints:#?}", path.display());
    }
}

/// Policies that portcullis reads without a syntax error, each at a corner of the form.
const VALID_POLICIES: &[&str] = &[
    "",
    "# only a comment\n",
    "hosts:\n  web-1:\n",
    "services:\nnets:\nhosts:\n",
    "include: []\n",
    "include: common.pcl\n",
    "input:\n  policy: drop\n  rules:\n",
    "input:\n  policy: accept\n  rules:\n    - allow:\n      from: office\n",
    "input:\n  policy: drop\n  rules:\n    - {allow: ssh, counter: yes, log: \"ssh: \"}\n    - {deny: telnet, log: false, counter: off}\n",
    "input:\n  policy: drop\n  rules:\n    - {allow: [http, https], on: [eth0, eth1]}\n    - {reject: \"tcp/25, tcp/465\", from: \"!office\", on: \"!wan0\", limit: 10/minute burst 5}\n",
    "input:\n  policy: drop\n  rules:\n    - {allow: ssh, log: 42}\n",
    "input:\n  policy: drop\n  expect:\n    - {open: ssh, from: admins}\n    - closed: postgresql\n    - {limited: [ssh], to: 10.0.0.5, on: eth0}\n",
    "binds:\n  - {process: unbound, on: \"::\", stack: v6only, services: domain, as: unbound}\n  - {process: yes, on: 0.0.0.0, services: [ssh], as: on}\n",
    "forward-ports:\n  - {port: tcp/8443, to: \"10.0.0.5:443\", from: partners, on: wan0, at: 198.51.100.7}\n",
    "masquerade:\n  - {on: wan0, from: 192.168.1.0/24}\nsnat:\n  - {on: [wan1, wan2], to: 198.51.100.9}\n",
];

#[test]
fn the_corners_of_the_form_validate() {
    let policy = validator("policy");
    for text in VALID_POLICIES {
        let errors = syntax_errors(text);
        assert!(errors.is_empty(), "{text}\nportcullis says {errors:#?}");
        let complaints = complaints(&policy, text);
        assert!(
            complaints.is_empty(),
            "{text}\nthe schema says {complaints:#?}"
        );
    }
}

/// Policies of the wrong shape, each refused by portcullis: the schema must refuse them too.
const INVALID_POLICIES: &[(&str, &str)] = &[
    ("an unknown key", "service:\n  app: tcp/8080\n"),
    (
        "a key of a host at the wrong level",
        "hosts:\n  web-1:\n    policy: drop\n",
    ),
    ("a list of hosts", "hosts: [web-1]\n"),
    ("an empty include", "include:\n"),
    ("an empty chain", "input:\n"),
    ("a chain without its default", "input:\n  rules: []\n"),
    ("an unknown default", "input:\n  policy: maybe\n"),
    (
        "rules that are not a list",
        "input:\n  policy: drop\n  rules: {allow: ssh}\n",
    ),
    (
        "a rule without a verdict",
        "input:\n  policy: drop\n  rules:\n    - from: office\n",
    ),
    (
        "a rule with two verdicts",
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, deny: telnet}\n",
    ),
    (
        "a counter that is not a boolean",
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, counter: maybe}\n",
    ),
    (
        "an empty log",
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, log: }\n",
    ),
    (
        "an empty source",
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, from: []}\n",
    ),
    (
        "an expectation without services",
        "input:\n  policy: drop\n  expect:\n    - closed:\n",
    ),
    (
        "an expectation with a rule's option",
        "input:\n  policy: drop\n  expect:\n    - {open: ssh, limit: 10/minute}\n",
    ),
    (
        "an expectation of two kinds",
        "input:\n  policy: drop\n  expect:\n    - {open: ssh, closed: telnet}\n",
    ),
    (
        "a bind without an address",
        "binds:\n  - {process: sshd, services: ssh}\n",
    ),
    (
        "a bind on two addresses",
        "binds:\n  - {process: sshd, on: [0.0.0.0, \"::\"], services: ssh}\n",
    ),
    (
        "an unknown stack",
        "binds:\n  - {process: sshd, on: \"::\", stack: both, services: ssh}\n",
    ),
    ("a service defined as nothing", "services:\n  app: []\n"),
    (
        "a port forward without a target",
        "forward-ports:\n  - {port: tcp/8443}\n",
    ),
    ("an snat without an address", "snat:\n  - {on: wan0}\n"),
    (
        "a masquerade with an address",
        "masquerade:\n  - {on: wan0, to: 198.51.100.9}\n",
    ),
];

#[test]
fn mistakes_of_shape_are_refused() {
    let policy = validator("policy");
    for (what, text) in INVALID_POLICIES {
        assert!(
            !syntax_errors(text).is_empty(),
            "{what}: portcullis reads it\n{text}"
        );
        assert!(
            !complaints(&policy, text).is_empty(),
            "{what}: the schema accepts it\n{text}"
        );
    }
}

#[test]
fn configurations_validate_exactly_when_portcullis_reads_them() {
    let config = validator("config");
    let valid = [
        "registry:\n  overlays: [site-services, /etc/services]\n",
        "lint:\n  levels:\n    shadowed-rule: off\n    PC201: error\n  management-services: []\n",
        "lint:\n  management-services:\n",
        "compile:\n  table: fw-main_2\n  baseline:\n    icmp: no\n    ping: off\n    loopback: true\n",
        "deploy:\n  confirm-within: 1m 30s\n",
        "deploy:\n  confirm-within:\n",
    ];
    for text in valid {
        if let Err(e) = Settings::parse("portcullis.yaml", text) {
            panic!("portcullis refuses it: {e}\n{text}");
        }
        let complaints = complaints(&config, text);
        assert!(complaints.is_empty(), "{text}\n{complaints:#?}");
    }
    let invalid = [
        ("an unknown key", "lint:\n  levls: {}\n"),
        ("a key in snake case", "deploy:\n  confirm_within: 90s\n"),
        (
            "an unknown level",
            "lint:\n  levels:\n    shadowed-rule: loud\n",
        ),
        (
            "a table name nft reads as a keyword",
            "compile:\n  table: inet\n",
        ),
        (
            "a table name starting with a digit",
            "compile:\n  table: 9fw\n",
        ),
        (
            "a table name too long",
            "compile:\n  table: a23456789012345678901234567890123\n",
        ),
        (
            "a baseline part that is not a boolean",
            "compile:\n  baseline:\n    icmp: maybe\n",
        ),
        ("overlays that are not a list", "registry:\n  overlays: 7\n"),
        ("a section that is a list", "lint: [levels]\n"),
    ];
    for (what, text) in invalid {
        assert!(
            Settings::parse("portcullis.yaml", text).is_err(),
            "{what}: portcullis reads it\n{text}"
        );
        assert!(
            !complaints(&config, text).is_empty(),
            "{what}: the schema accepts it\n{text}"
        );
    }
}
