//! Syntax tree -> [`Policy`]: names become ports and addresses, every mistake becomes a finding.
//!
//! Service names resolve in this order: the policy's own `service` definitions, the services(5)
//! overlays of the project configuration, the embedded IANA registry. A registry name without a
//! protocol opens the protocols it is actually used on (Debian netbase's set) when known, else all
//! of its registered protocols.

mod definitions;
mod hosts;
mod memo;
mod nets;
mod services;

use crate::diagnostic::Diagnostic;
use crate::load::Loaded;
use crate::model::{baseline, Policy};
use crate::registry::Overlay;
use crate::rule::EMPTY_POLICY;
use crate::source::Span;

pub use definitions::Definitions;

/// Resolves a loaded policy. Findings are appended to `diagnostics`.
pub fn resolve(
    loaded: &Loaded,
    overlays: &[Overlay],
    baseline: baseline::Parts,
    diagnostics: &mut Vec<Diagnostic>,
) -> Policy {
    let defs = Definitions::collect(&loaded.files, diagnostics);
    let mut services = services::ServiceResolver::new(&defs, overlays);
    let mut nets = nets::NetResolver::new(&defs);
    let hosts = hosts::resolve_hosts(
        &loaded.files,
        &mut services,
        &mut nets,
        diagnostics,
        baseline,
    );
    let service_defs = services.finish(diagnostics);
    let net_defs = nets.finish(diagnostics);

    let is_empty = loaded.files.iter().all(|f| f.items.is_empty());
    let has_syntax_errors = !loaded.diagnostics.is_empty();
    if is_empty && !has_syntax_errors {
        let root = loaded.root();
        diagnostics.push(
            Diagnostic::new(&EMPTY_POLICY, Span::new(root, 0, 0), "the policy is empty")
                .label("no definitions or rules in this file")
                .help("write at least one chain, e.g. `input drop { allow ssh }`"),
        );
    }
    Policy {
        hosts,
        services: service_defs,
        nets: net_defs,
    }
}

/// Loads nothing: resolves policy text in memory. For tests and tools.
pub fn resolve_text(
    name: &str,
    text: &str,
    overlays: &[Overlay],
) -> (Loaded, Policy, Vec<Diagnostic>) {
    let loaded = crate::load::load_text(name, text);
    let mut diagnostics = loaded.diagnostics.clone();
    let policy = resolve(
        &loaded,
        overlays,
        baseline::Parts::default(),
        &mut diagnostics,
    );
    (loaded, policy, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::resolve_text;

    fn messages(text: &str) -> Vec<String> {
        let (_, _, diagnostics) = resolve_text("t.pcl", text, &[]);
        diagnostics.into_iter().map(|d| d.message.into()).collect()
    }

    #[test]
    fn a_net_cycle_is_reported_once() {
        let found = messages(
            "net a = b, 10.0.0.0/8\nnet b = a\ninput drop {\n  allow ssh from a\n  allow ssh from b\n}\n",
        );
        let cycles: Vec<_> = found
            .iter()
            .filter(|m| m.contains("in terms of itself"))
            .collect();
        assert_eq!(cycles.len(), 1, "{found:?}");
    }

    #[test]
    fn a_service_cycle_is_reported_once_and_leaves_the_rule_unresolved() {
        let (_, policy, diagnostics) = resolve_text(
            "t.pcl",
            "service a = b\nservice b = a, tcp/1\ninput drop {\n  allow a\n}\n",
            &[],
        );
        let cycles = diagnostics
            .iter()
            .filter(|d| d.message.contains("in terms of itself"))
            .count();
        assert_eq!(cycles, 1, "{diagnostics:?}");
        let written = policy.hosts[0].chains[0]
            .rules
            .iter()
            .find(|r| r.is_written());
        assert!(!written.unwrap().resolved);
    }

    #[test]
    fn a_definition_used_twice_is_resolved_once() {
        let found = messages(
            "net a = 10.0.0.1/8\ninput drop {\n  allow ssh from a\n  allow tcp/2 from a\n}\n",
        );
        let bits = found.iter().filter(|m| m.contains("host bits")).count();
        assert_eq!(bits, 1, "{found:?}");
    }

    const EXPECTING: &str = "\
service app = tcp/8080
net admins = 10.1.0.0/16
net db = 10.0.0.5
input drop {
  allow ssh from admins
  expect open ssh from admins on eth0
  allow app
  expect closed app to db
  expect limited tcp/22 from !admins
}
";

    #[test]
    fn an_expectation_resolves_like_a_rule_and_is_no_rule() {
        let (_, policy, diagnostics) = resolve_text("t.pcl", EXPECTING, &[]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let chain = &policy.hosts[0].chains[0];
        let written: Vec<_> = chain.rules.iter().filter(|r| r.is_written()).collect();
        assert_eq!(written.len(), 2);
        let kinds: Vec<&str> = chain.expectations.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["open", "closed", "limited"]);
        assert!(chain.expectations.iter().all(|e| e.resolved));
        let (open, closed, limited) = (
            &chain.expectations[0],
            &chain.expectations[1],
            &chain.expectations[2],
        );
        // The same traffic and sources as the rule that says the same.
        assert_eq!(open.traffic, *written[0].traffic);
        assert_eq!(open.src, *written[0].src);
        assert_eq!(open.dst, crate::model::AddrSet::any());
        assert!(open.interface.is_some());
        assert_eq!(closed.traffic, *written[1].traffic);
        assert_eq!(closed.src, crate::model::AddrSet::any());
        assert_eq!(closed.dst, policy.nets[1].addresses);
        assert_eq!(closed.interface, None);
        assert_eq!(limited.src, written[0].src.complement());
        assert_eq!(&*closed.services[0].text, "app");
    }

    #[test]
    fn unknown_names_in_an_expectation_are_reported_as_in_a_rule() {
        let findings = |line: &str| {
            let text = format!("net office = 10.0.0.0/8\ninput drop {{\n  {line}\n}}\n");
            let (_, policy, diagnostics) = resolve_text("t.pcl", &text, &[]);
            let found: Vec<_> = diagnostics
                .into_iter()
                .map(|d| (d.rule, d.message, d.help, d.primary.span.start))
                .collect();
            (policy, found)
        };
        // `allow` and `expect open` have the same length: the findings sit at the same offsets.
        let (_, in_rule) = findings("allow  sshh from ofice on eth0");
        let (policy, in_expect) = findings("expect open sshh from ofice on eth0");
        let shifted: Vec<_> = in_rule
            .into_iter()
            .map(|(rule, message, help, start)| (rule, message, help, start + 5))
            .collect();
        assert_eq!(shifted, in_expect);
        assert_eq!(in_expect.len(), 2, "{in_expect:?}");
        let expectation = &policy.hosts[0].chains[0].expectations[0];
        assert!(!expectation.resolved);
    }

    #[test]
    fn a_broken_expectation_does_not_resolve() {
        let (_, policy, _) = resolve_text(
            "t.pcl",
            "input drop {\n  expect open ssh limit 1/second\n  expect open ssh\n}\n",
            &[],
        );
        let resolved: Vec<bool> = policy.hosts[0].chains[0]
            .expectations
            .iter()
            .map(|e| e.resolved)
            .collect();
        assert_eq!(resolved, [false, true]);
    }

    #[test]
    fn a_definition_used_only_by_an_expectation_is_used() {
        let (_, policy, _) = resolve_text(
            "t.pcl",
            "service app = tcp/8080\nnet db = 10.0.0.5\nnet lan = 10.0.0.0/8\ninput drop {\n  expect closed app to db on eth0\n}\n",
            &[],
        );
        let used: Vec<(&str, bool)> = policy
            .services
            .iter()
            .map(|d| (d.name.as_str(), d.used))
            .chain(policy.nets.iter().map(|d| (d.name.as_str(), d.used)))
            .collect();
        assert_eq!(used, [("app", true), ("db", true), ("lan", false)]);
        let unused = crate::lint::findings_in(
            "service app = tcp/8080\nnet db = 10.0.0.5\ninput drop {\n  expect closed app to db\n}\n",
            "unused-definition",
        );
        assert!(unused.is_empty(), "{unused:?}");
    }

    #[test]
    fn expectations_leave_the_ruleset_unchanged() {
        let without: String = EXPECTING
            .lines()
            .filter(|l| !l.trim_start().starts_with("expect"))
            .map(|l| format!("{l}\n"))
            .collect();
        let compiled = |text: &str| {
            let (_, policy, _) = resolve_text("t.pcl", text, &[]);
            let host = &policy.hosts[0];
            crate::compile::compile_host(&policy, host, &Default::default())
                .unwrap()
                .to_nft()
        };
        assert_eq!(compiled(EXPECTING), compiled(&without));
    }

    #[test]
    fn the_yaml_form_resolves_to_the_same_expectations() {
        let yaml = "\
services: {app: tcp/8080}
nets: {admins: 10.1.0.0/16, db: 10.0.0.5}
input:
  policy: drop
  rules:
    - {allow: ssh, from: admins}
    - {allow: app}
  expect:
    - {open: ssh, from: admins, on: eth0}
    - {closed: app, to: db}
    - {limited: tcp/22, from: \"!admins\"}
";
        let expectations = |name: &str, text: &str| {
            let (_, policy, diagnostics) = resolve_text(name, text, &[]);
            assert!(diagnostics.is_empty(), "{diagnostics:?}");
            let chain = &policy.hosts[0].chains[0];
            chain
                .expectations
                .iter()
                .map(|e| {
                    let texts: Vec<&str> = e.services.iter().map(|u| &*u.text).collect();
                    format!(
                        "{} {texts:?} {:?} {:?} {:?} {:?} {}",
                        e.kind.as_str(),
                        e.traffic,
                        e.src,
                        e.dst,
                        e.interface,
                        e.resolved
                    )
                })
                .collect::<Vec<_>>()
        };
        let text = expectations("t.pcl", EXPECTING);
        assert_eq!(text.len(), 3);
        assert_eq!(text, expectations("t.yaml", yaml));
    }
}
