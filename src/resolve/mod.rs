//! Syntax tree -> [`Policy`]: names become ports and addresses, every mistake becomes a finding.
//!
//! Service names resolve in this order: the policy's own `service` definitions, the services(5)
//! overlays of the project configuration, the embedded IANA registry. A registry name without a
//! protocol opens the protocols it is actually used on (Debian netbase's set) when known, else all
//! of its registered protocols.

mod definitions;
mod hosts;
mod nets;
mod services;

use crate::diagnostic::Diagnostic;
use crate::lint::rules::EMPTY_POLICY;
use crate::load::Loaded;
use crate::model::Policy;
use crate::registry::Overlay;
use crate::source::Span;

pub use definitions::Definitions;

/// Resolves a loaded policy. Findings are appended to `diagnostics`.
pub fn resolve(loaded: &Loaded, overlays: &[Overlay], diagnostics: &mut Vec<Diagnostic>) -> Policy {
    let defs = Definitions::collect(&loaded.files, diagnostics);
    let mut services = services::ServiceResolver::new(&defs, overlays);
    let mut nets = nets::NetResolver::new(&defs);
    let hosts = hosts::resolve_hosts(&loaded.files, &mut services, &mut nets, diagnostics);
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
    let policy = resolve(&loaded, overlays, &mut diagnostics);
    (loaded, policy, diagnostics)
}
