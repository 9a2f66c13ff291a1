//! `portcullis audit`: each audit rule against a host and the listeners on it, the way `lints.rs`
//! holds each lint rule against its fixtures. A scenario that triggers the rule has its human
//! rendering snapshotted (after the lint engine's levels and suppressions, as the command
//! renders it); a clean one must not report it. A rule without both fails the test, so no rule
//! goes untested. The sockets of a real machine are the kernel tests' (`tests/kernel/audit.rs`).

use std::net::SocketAddr;

use portcullis::audit::{audit, Listener, Process};
use portcullis::config::Settings;
use portcullis::lint::engine::Run;
use portcullis::lint::{self, Category, Levels};
use portcullis::model::Protocol;
use portcullis::pipeline::{self, Checked};

use crate::support::{portcullis, render, root};

/// A policy and the sockets listening on its host.
struct Scenario {
    policy: &'static str,
    /// `PROTOCOL ADDRESS:PORT NAME/PID USER`; `-` for a process that cannot be seen.
    listeners: &'static [&'static str],
}

/// For each audit rule: a scenario that triggers it, and one that must not.
fn scenarios(rule: &str) -> Option<(Scenario, Scenario)> {
    let pair = match rule {
        "undeclared-listener" => (
            Scenario {
                policy: "host web-1 {\n  bind nginx on 0.0.0.0 http, https as root\n  input drop {\n    allow ssh from 192.0.2.0/24\n    allow http, https, tcp/8000-8100\n  }\n}\n",
                listeners: &[
                    "tcp 0.0.0.0:22 sshd/700 root",
                    "tcp 0.0.0.0:80 nginx/812 root",
                    "tcp 0.0.0.0:443 nginx/812 root",
                    "tcp 0.0.0.0:8080 python3/4242 root",
                    "tcp 127.0.0.1:8081 python3/4243 root",
                ],
            },
            Scenario {
                policy: "host web-1 {\n  bind sshd on 0.0.0.0 ssh as root\n  bind nginx on 0.0.0.0 http, https as root\n  input drop {\n    allow ssh from 192.0.2.0/24\n    allow http, https\n  }\n}\n",
                listeners: &[
                    "tcp 0.0.0.0:22 sshd/700 root",
                    "tcp 0.0.0.0:80 nginx/812 root",
                    "tcp 0.0.0.0:443 nginx/812 root",
                    "tcp 127.0.0.1:8081 python3/4243 root",
                    "tcp 0.0.0.0:9090 prometheus/77 prometheus",
                ],
            },
        ),
        "bind-without-listener" => (
            Scenario {
                policy: "host db-1 {\n  bind postgres on 10.0.0.5 postgresql as postgres\n  input drop {\n    allow postgresql from 10.0.0.0/24\n  }\n}\n",
                listeners: &["tcp 127.0.0.1:5432 postgres/900 postgres"],
            },
            Scenario {
                policy: "host db-1 {\n  bind postgres on 10.0.0.5 postgresql as postgres\n  # portcullis: ignore[bind-without-listener]\n  bind vsftpd on 0.0.0.0 tcp/21100-21199 as root\n  input drop {\n    allow postgresql from 10.0.0.0/24\n  }\n}\n",
                listeners: &["tcp 10.0.0.5:5432 postgres/900 postgres"],
            },
        ),
        "mismatched-listener" => (
            Scenario {
                policy: "host web-1 {\n  bind nginx on 0.0.0.0 http as www-data\n  bind app on 127.0.0.1 tcp/8080 as app\n  input drop {\n    allow http\n  }\n}\n",
                listeners: &[
                    "tcp 0.0.0.0:80 python3/4242 root",
                    "tcp 127.0.0.1:8080 app/31 root",
                ],
            },
            Scenario {
                policy: "host web-1 {\n  bind nginx on 0.0.0.0 http as root\n  bind app on 127.0.0.1 tcp/8080 as app\n  input drop {\n    allow http\n  }\n}\n",
                listeners: &[
                    "tcp 0.0.0.0:80 nginx/812 root",
                    "tcp 127.0.0.1:8080 - app",
                ],
            },
        ),
        "allow-without-listener" => (
            Scenario {
                policy: "input drop {\n  allow ssh, tcp/8443\n}\n",
                listeners: &["tcp 0.0.0.0:22 sshd/700 root", "tcp 127.0.0.1:8443 app/5 app"],
            },
            Scenario {
                policy: "input drop {\n  allow ssh\n  allow tcp from 192.0.2.0/24\n  allow icmp echo-request\n}\n",
                listeners: &["tcp [::]:22 sshd/700 root"],
            },
        ),
        "blocked-listener" => (
            Scenario {
                policy: "input drop {\n  allow ssh\n}\n",
                listeners: &["tcp 0.0.0.0:22 sshd/700 root", "tcp 0.0.0.0:111 rpcbind/610 _rpc"],
            },
            Scenario {
                policy: "bind rpcbind on 0.0.0.0 tcp/111 as _rpc\ninput drop {\n  allow ssh\n}\n",
                listeners: &[
                    "tcp 0.0.0.0:22 sshd/700 root",
                    "tcp 0.0.0.0:111 rpcbind/610 _rpc",
                    "tcp 10.0.0.5:112 other/611 root",
                ],
            },
        ),
        _ => return None,
    };
    Some(pair)
}

fn listener(text: &str) -> Listener {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [protocol, socket, process, user] = words[..] else {
        panic!("`{text}`: PROTOCOL ADDRESS:PORT NAME/PID USER");
    };
    let socket: SocketAddr = socket.parse().unwrap();
    let processes = match process.split_once('/') {
        Some((name, pid)) => vec![Process {
            pid: pid.parse().unwrap(),
            name: name.to_string(),
            executable: None,
            user: Some(user.to_string()),
        }],
        None => Vec::new(),
    };
    Listener {
        protocol: match protocol {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => panic!("`{other}` is not tcp or udp"),
        },
        address: socket.ip(),
        port: socket.port(),
        user: Some(user.to_string()),
        processes,
    }
}

/// The audit of the scenario's only host, as `portcullis audit` reports it with the default
/// levels.
fn audited(scenario: &Scenario) -> Checked {
    let settings = Settings::default();
    let levels = Levels::from_config(&settings.config.lint);
    let loaded = portcullis::load::load_text("audit.pcl", scenario.policy);
    let mut checked = pipeline::resolve(loaded, &settings, &levels);
    assert!(!checked.has_errors(), "{}", render(&checked));
    let listeners: Vec<Listener> = scenario.listeners.iter().map(|l| listener(l)).collect();
    let found = audit(&checked.policy.hosts[0], &listeners);
    checked.diagnostics = lint::engine::finish(found, &checked.loaded.sources, &levels, Run::Audit);
    checked
}

#[test]
fn every_audit_rule_has_scenarios_that_trigger_it_or_not() {
    let rules: Vec<_> = lint::rules::ALL
        .iter()
        .filter(|r| r.category == Category::Audit)
        .collect();
    assert_eq!(rules.len(), 5, "the audit's rules");
    for rule in rules {
        let (trigger, clean) =
            scenarios(rule.name).unwrap_or_else(|| panic!("`{}` has no scenarios", rule.name));
        let mut checked = audited(&trigger);
        assert!(
            checked.diagnostics.iter().any(|d| d.rule == rule.name),
            "the trigger scenario does not report `{}`:\n{}",
            rule.name,
            render(&checked)
        );
        checked.diagnostics.retain(|d| d.rule == rule.name);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("tests/snapshots/audit"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(rule.name, render(&checked)));

        let checked = audited(&clean);
        assert!(
            checked.diagnostics.iter().all(|d| d.rule != rule.name),
            "the clean scenario reports `{}`:\n{}",
            rule.name,
            render(&checked)
        );
    }
}

/// `check` runs no audit rule, so it cannot tell whether a suppression of one is used: it leaves
/// them alone (and `audit` leaves the lint rules' alone).
#[test]
fn check_and_audit_each_report_only_their_own_unused_suppressions() {
    let policy = "# portcullis: ignore[bind-without-listener]\nbind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  allow tcp/8080  # portcullis: ignore[insecure-service]\n}\n";
    let checked = pipeline::check_text("audit.pcl", policy);
    let unused: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.rule == "unused-suppression")
        .map(|d| &*d.message)
        .collect();
    assert_eq!(
        unused,
        ["`insecure-service` is suppressed here but reports nothing"]
    );
    let scenario = Scenario {
        policy,
        listeners: &["tcp 0.0.0.0:8080 app/5 app"],
    };
    let audited = audited(&scenario);
    let messages: Vec<&str> = audited.diagnostics.iter().map(|d| &*d.message).collect();
    assert_eq!(
        messages,
        ["`bind-without-listener` is suppressed here but reports nothing"]
    );
}

#[test]
fn the_rules_list_and_document_the_audit_rules() {
    let run = portcullis(None, &["rules"]);
    run.code(0);
    assert!(
        run.stdout.contains("PC501  undeclared-listener"),
        "{}",
        run.stdout
    );
    let run = portcullis(None, &["rule", "PC503"]);
    run.code(0);
    assert!(
        run.stdout
            .starts_with("# mismatched-listener (PC503)\n\nA socket a bind declares"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Category: audit."), "{}", run.stdout);
}

#[test]
fn a_policy_of_several_hosts_none_named_as_this_machine_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "host portcullis-test-a {\n  input drop {\n  }\n}\nhost portcullis-test-b {\n  input drop {\n  }\n}\n";
    std::fs::write(dir.path().join("p.pcl"), policy).unwrap();
    let run = portcullis(Some(dir.path()), &["audit", "p.pcl"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("the policy has 2 hosts and none is named as this machine")
            && run
                .stderr
                .contains("(portcullis-test-a, portcullis-test-b)"),
        "{}",
        run.stderr
    );
    let run = portcullis(Some(dir.path()), &["audit", "p.pcl", "--host", "nope"]);
    run.code(2);
    assert!(run.stderr.contains("no host `nope`"), "{}", run.stderr);
    let run = portcullis(
        Some(dir.path()),
        &[
            "audit",
            "p.pcl",
            "--host",
            "portcullis-test-a",
            "--warn",
            "no-such-rule",
        ],
    );
    run.code(2);
    assert!(
        run.stderr.contains("no lint rule is called `no-such-rule`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_policy_that_does_not_resolve_is_not_audited() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.pcl"), "input drop {\n  allow htps\n}\n").unwrap();
    let run = portcullis(Some(dir.path()), &["audit", "p.pcl"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("`p.pcl` does not parse or resolve; run `portcullis check p.pcl` first"),
        "{}",
        run.stderr
    );
}

/// Whatever listens on the machine running the tests, an open host reports every listener the
/// network reaches, in every format, and `--ignore` and `--deny-warnings` work as in `check`.
#[test]
fn every_format_renders_an_audit_of_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    // A listener of this process, on every address: reachable through a host without an
    // input chain, and known to be there whatever else runs here.
    let socket = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::fs::write(dir.path().join("p.pcl"), "output accept {\n}\n").unwrap();
    let run = portcullis(Some(dir.path()), &["audit", "p.pcl", "--format", "json"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found = json["diagnostics"].as_array().unwrap().iter().any(|d| {
        d["rule"] == "undeclared-listener"
            && d["severity"] == "error"
            && d["message"]
                .as_str()
                .unwrap()
                .contains(&format!("listens on `tcp/{port}` at `0.0.0.0`"))
    });
    assert!(found, "{}", run.stdout);
    for format in ["human", "sarif", "github"] {
        let run = portcullis(Some(dir.path()), &["audit", "p.pcl", "--format", format]);
        run.code(1);
        assert!(
            run.stdout.contains("undeclared-listener"),
            "{format}:\n{}",
            run.stdout
        );
    }
    let quiet = [
        "audit",
        "p.pcl",
        "--ignore",
        "undeclared-listener",
        "--ignore",
        "PC504",
        "--ignore",
        "blocked-listener",
    ];
    let run = portcullis(Some(dir.path()), &quiet);
    run.code(0);
    assert!(
        run.stderr.contains("audited host `(unnamed host)`"),
        "{}",
        run.stderr
    );
    let mut warned = quiet.to_vec();
    warned.extend(["--warn", "undeclared-listener"]);
    portcullis(Some(dir.path()), &warned).code(0);
    warned.push("--deny-warnings");
    portcullis(Some(dir.path()), &warned).code(1);
    drop(socket);
}
