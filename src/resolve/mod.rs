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
        diagnostics.into_iter().map(|d| d.message).collect()
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
}
