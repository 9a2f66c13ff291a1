//! `portcullis test`: the expectations of a host proven in a real kernel. The host's ruleset is
//! loaded into a throw-away lab network ([`crate::lab`]) and every expectation is probed where
//! the model says its decision could change ([`plan`]); each probe must do what the expectation
//! says, and what the model (`explain`) says. A probe the kernel and the model disagree on means
//! the ruleset is not what the policy compiles to: a compiler bug, or a ruleset edited since.

pub mod plan;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::lab::oracle::{Oracle, Path};
use crate::lab::probe::Outcome;
use crate::lab::run::{self, Checked, Listening};
use crate::lab::topology::{Spec, Topology};
use crate::lab::LabError;
use crate::model::{ChainKind, ExpectKind, Host, Protocol, Verdict};
use crate::source::{Sources, Span};
use plan::{Addresses, ExpectationPlan, Planned, Role};

/// A ruleset to prove, as `nft -f` text or as libnftables JSON.
#[derive(Debug, Clone, Copy)]
pub struct Ruleset<'a> {
    pub text: &'a str,
    pub json: bool,
}

/// What the kernel did with the probes of one host's expectations.
#[derive(Debug, Clone, Serialize)]
pub struct HostProof {
    pub host: String,
    pub expectations: Vec<ExpectationProof>,
}

/// One `expect` statement and its probes.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationProof {
    /// `examples/web.pcl:12`.
    pub location: String,
    pub chain: &'static str,
    pub kind: &'static str,
    /// The statement as written, on one line.
    pub statement: String,
    pub probes: Vec<ProbeResult>,
    /// Parts of the traffic no probe reaches, proven by the model only.
    pub unprobed: Vec<String>,
}

/// One probe, what the expectation and the model say of it, and what the kernel did.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// `tcp/22 from 192.0.2.1 to 10.99.0.1 on eth0`.
    pub probe: String,
    /// `connected`, `refused (...)`, `timed out`.
    pub kernel: String,
    /// What the model says must happen, and which rule or default decides.
    pub model: String,
    /// The kernel did what the expectation says.
    pub held: bool,
    /// The kernel did what the model says.
    pub agrees: bool,
}

impl ExpectationProof {
    pub fn held(&self) -> usize {
        self.probes.iter().filter(|p| p.held && p.agrees).count()
    }

    /// Probes on which the kernel and the model disagree: the ruleset is not the policy's.
    pub fn mismatches(&self) -> impl Iterator<Item = &ProbeResult> {
        self.probes.iter().filter(|p| !p.agrees)
    }

    /// Probes that agree with the model but not with the expectation: the policy breaks it.
    pub fn broken(&self) -> impl Iterator<Item = &ProbeResult> {
        self.probes.iter().filter(|p| p.agrees && !p.held)
    }

    pub fn passed(&self) -> bool {
        self.probes.iter().all(|p| p.held && p.agrees)
    }
}

impl HostProof {
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(ExpectationProof::passed)
    }

    pub fn probe_count(&self) -> usize {
        self.expectations.iter().map(|e| e.probes.len()).sum()
    }
}

/// Proves the expectations of `host` against `ruleset`. Each interface name the probes need
/// gets a lab network of its own, built, probed and torn down in turn.
pub fn prove(host: &Host, sources: &Sources, ruleset: Ruleset) -> Result<HostProof, LabError> {
    let mut addresses = Addresses::default();
    // (chain, index of the expectation in it) -> its plan.
    let mut plans: Vec<(ChainKind, usize, ExpectationPlan)> = Vec::new();
    for chain in &host.chains {
        for (i, plan) in plan::plan_chain(host, chain, &mut addresses) {
            plans.push((chain.kind, i, plan));
        }
    }
    let mut by_interface: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (e, (_, _, plan)) in plans.iter().enumerate() {
        for (p, planned) in plan.probes.iter().enumerate() {
            by_interface
                .entry(planned.interface.as_str())
                .or_default()
                .push((e, p));
        }
    }
    let mut results: BTreeMap<(usize, usize), Checked> = BTreeMap::new();
    let oracle = Oracle::new(host, Some(sources));
    for (interface, probes) in &by_interface {
        let planned: Vec<&Planned> = probes.iter().map(|&(e, p)| &plans[e].2.probes[p]).collect();
        let checked = run_phase(host, &oracle, interface, &planned, &addresses, ruleset)?;
        for (&key, c) in probes.iter().zip(checked) {
            results.insert(key, c);
        }
    }
    let expectations = plans
        .iter()
        .enumerate()
        .map(|(e, (kind, i, plan))| {
            let chain = host.chain(*kind).expect("planned from this chain");
            let expectation = &chain.expectations[*i];
            let probes = (0..plan.probes.len())
                .map(|p| judge(expectation.kind, &results[&(e, p)]))
                .collect();
            ExpectationProof {
                location: location(sources, expectation.span),
                chain: kind.as_str(),
                kind: expectation.kind.as_str(),
                statement: one_line(sources.text(expectation.span)),
                probes,
                unprobed: plan.unprobed.clone(),
            }
        })
        .collect();
    Ok(HostProof {
        host: host.display_name().to_string(),
        expectations,
    })
}

/// One lab network with the server's link named `interface`: built, loaded, probed.
fn run_phase(
    host: &Host,
    oracle: &Oracle,
    interface: &str,
    planned: &[&Planned],
    addresses: &Addresses,
    ruleset: Ruleset,
) -> Result<Vec<Checked>, LabError> {
    let mut spec = Spec {
        server_if: interface.to_string(),
        target: host.chain(ChainKind::Forward).is_some() || !host.forwards.is_empty(),
        client_addresses: addresses.of(Role::Client),
        server_addresses: addresses.of(Role::Server),
        target_addresses: addresses.of(Role::Target),
        ..Spec::default()
    };
    for forward in &host.forwards {
        let taken = spec.client_addresses.contains(&forward.target)
            || spec.server_addresses.contains(&forward.target);
        if spec.target && crate::lab::addresses::usable(forward.target) && !taken {
            spec.target_addresses.push(forward.target);
        }
    }
    spec.target_addresses.sort();
    spec.target_addresses.dedup();
    let topology = Topology::build(spec)?;
    topology
        .server
        .nft()
        .load(ruleset.text, ruleset.json)
        .map_err(|e| LabError::Load(e.to_string()))?;
    let routed: Vec<_> = planned.iter().map(|p| p.routed.clone()).collect();
    let listening = Listening::start(&topology, &listeners(oracle, &routed, interface))?;
    run::run(&topology, oracle, &listening, &routed, run::DEADLINE)
}

/// The ports each namespace answers on: (server, client, target).
fn listeners(
    oracle: &Oracle,
    routed: &[crate::lab::oracle::Routed],
    interface: &str,
) -> [BTreeSet<(Protocol, u16)>; 3] {
    let mut sets: [BTreeSet<(Protocol, u16)>; 3] = Default::default();
    for r in routed {
        let point = (r.probe.protocol, r.probe.port);
        match r.path {
            Path::Input => {
                sets[0].insert(point);
                if let Some((_, port)) = oracle.expect(r.path, &r.probe, interface).dnat {
                    sets[2].insert((r.probe.protocol, port));
                }
            }
            Path::Output => {
                sets[1].insert(point);
            }
            Path::Forward => {
                sets[2].insert(point);
            }
        }
    }
    sets
}

/// Whether a probe did what its expectation says, and what the model says.
fn judge(kind: ExpectKind, checked: &Checked) -> ProbeResult {
    let model = &checked.expectation;
    let outcome = checked.outcome;
    let answered = outcome == Outcome::Answered;
    let held = match kind {
        ExpectKind::Open => answered,
        ExpectKind::Closed => matches!(
            outcome,
            Outcome::TimedOut | Outcome::Refused(_) | Outcome::Blocked(_)
        ),
        // Under the rate it is accepted; a probe over it may be dropped.
        ExpectKind::Limited => {
            model.is_limited() && model.verdicts.contains(&Verdict::Accept) && model.admits(outcome)
        }
    };
    let probe = &checked.routed.probe;
    ProbeResult {
        probe: format!("{probe} on {}", checked.interface),
        kernel: outcome.describe(probe.protocol),
        model: model.describe(probe),
        held,
        agrees: checked.agrees(),
    }
}

fn location(sources: &Sources, span: Span) -> String {
    let at = sources.location(span);
    format!("{}:{}", at.file, at.line)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
