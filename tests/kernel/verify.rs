//! Runs probes, holds each outcome against the oracle, and explains every disagreement.

use std::fmt::Write as _;
use std::time::Duration;

use super::listen::{Hit, Listeners};
use super::oracle::{Expectation, Oracle, Path};
use super::plan::{self, Routed};
use super::probe::{self, Outcome};
use super::topology::Topology;
use super::trials::say;

/// How long a batch of probes waits for answers. Answers on a veth come back in well under a
/// millisecond; this only bounds how long a dropped probe is waited for.
pub const DEADLINE: Duration = Duration::from_millis(400);
/// A probe that disagrees is asked again with this much patience before it counts as a failure,
/// so that a loaded machine never passes for a firewall that drops.
pub const PATIENT_DEADLINE: Duration = Duration::from_millis(2500);

/// A probe with its expectation and what the kernel did.
#[derive(Debug, Clone)]
pub struct Checked {
    pub routed: Routed,
    pub interface: String,
    pub expectation: Expectation,
    pub outcome: Outcome,
    /// For a translated probe that answered: whether the target got it (with the client's source).
    pub reached_target: Option<bool>,
}

impl Checked {
    pub fn agrees(&self) -> bool {
        self.expectation.admits(self.outcome) && self.reached_target != Some(false)
    }

    pub fn line(&self) -> String {
        let probe = &self.routed.probe;
        let mut line = format!(
            "{probe} on {} ({} chain)\n      policy: {}\n      kernel: {}",
            self.interface,
            self.routed.path,
            self.expectation.describe(probe),
            self.outcome.describe(probe.protocol),
        );
        if self.reached_target == Some(false) {
            let (addr, port) = self.expectation.dnat.expect("only translated probes");
            let _ = write!(
                line,
                ", but the target never saw it at {addr} port {port} (something else answered)"
            );
        }
        line
    }
}

/// The listeners of a run, by namespace.
pub struct Listening {
    pub server: Listeners,
    /// Answers output-chain probes; only needs to live as long as the run.
    _client: Listeners,
    pub target: Option<Listeners>,
}

impl Listening {
    pub fn start(
        topology: &Topology,
        sets: &[std::collections::BTreeSet<(portcullis::model::Protocol, u16)>; 3],
    ) -> Listening {
        let mut server_addresses = topology.server_addresses();
        // Forwarded probes leave the client's own side for the target's.
        server_addresses.retain(|a| !topology.spec.target_addresses.contains(a));
        Listening {
            server: Listeners::start(&topology.server, &sets[0], &server_addresses),
            _client: Listeners::start(&topology.client, &sets[1], &topology.client_addresses()),
            target: topology
                .target
                .as_ref()
                .map(|ns| Listeners::start(ns, &sets[2], &topology.target_addresses())),
        }
    }

    fn target_hits(&self) -> Vec<Hit> {
        self.target
            .as_ref()
            .map(Listeners::hits)
            .unwrap_or_default()
    }
}

/// Runs the probes and returns each with its outcome, disagreements asked twice.
pub fn run(
    topology: &Topology,
    oracle: &Oracle,
    listening: &Listening,
    probes: &[Routed],
    deadline: Duration,
) -> Vec<Checked> {
    let mut checked: Vec<Checked> = probes
        .iter()
        .map(|routed| {
            let interface = plan::interface(topology, routed);
            Checked {
                expectation: oracle.expect(routed.path, &routed.probe, &interface),
                interface,
                routed: routed.clone(),
                outcome: Outcome::TimedOut,
                reached_target: None,
            }
        })
        .collect();
    let outcomes = fire(topology, &checked, deadline);
    for (c, outcome) in checked.iter_mut().zip(outcomes) {
        c.outcome = outcome;
    }
    mark_targets(&mut checked, listening);

    // Ask disagreeing probes again, patiently, unless a rate limit makes the answer depend on
    // how often it was asked.
    let again: Vec<usize> = (0..checked.len())
        .filter(|&i| !checked[i].agrees() && !checked[i].expectation.is_limited())
        .collect();
    if !again.is_empty() {
        let subset: Vec<Checked> = again.iter().map(|&i| checked[i].clone()).collect();
        let outcomes = fire(topology, &subset, PATIENT_DEADLINE);
        for (&i, outcome) in again.iter().zip(outcomes) {
            if checked[i].expectation.admits(outcome) {
                say!(
                    "note: {} agreed only when asked again ({} the first time)",
                    checked[i].routed.probe,
                    checked[i]
                        .outcome
                        .describe(checked[i].routed.probe.protocol)
                );
            }
            checked[i].outcome = outcome;
            checked[i].reached_target = None;
        }
        mark_targets(&mut checked, listening);
    }
    checked
}

/// Sends all probes, those from the client and those from the server at the same time.
fn fire(topology: &Topology, checked: &[Checked], deadline: Duration) -> Vec<Outcome> {
    let (from_server, from_client): (Vec<usize>, Vec<usize>) =
        (0..checked.len()).partition(|&i| checked[i].routed.path == Path::Output);
    let pick = |indices: &[usize]| -> Vec<probe::Probe> {
        indices
            .iter()
            .map(|&i| checked[i].routed.probe.clone())
            .collect()
    };
    let (client_probes, server_probes) = (pick(&from_client), pick(&from_server));
    let (client_outcomes, server_outcomes) = std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            if server_probes.is_empty() {
                Vec::new()
            } else {
                probe::run(&topology.server, &server_probes, deadline)
            }
        });
        let client = probe::run(&topology.client, &client_probes, deadline);
        (client, server.join().expect("server probes panicked"))
    });
    let mut outcomes = vec![Outcome::TimedOut; checked.len()];
    for (&i, o) in from_client.iter().zip(client_outcomes) {
        outcomes[i] = o;
    }
    for (&i, o) in from_server.iter().zip(server_outcomes) {
        outcomes[i] = o;
    }
    outcomes
}

fn mark_targets(checked: &mut [Checked], listening: &Listening) {
    // A connection is complete for the client before the target's listener thread has accepted
    // and recorded it: on a busy machine the record comes a moment later, so wait for it a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let hits = listening.target_hits();
        for c in checked.iter_mut() {
            if let (Some((_, port)), Outcome::Answered) = (c.expectation.dnat, c.outcome) {
                let probe = &c.routed.probe;
                c.reached_target = Some(hits.iter().any(|h| {
                    h.protocol == probe.protocol
                        && h.port == port
                        && canonical(h.peer.ip()) == probe.src
                }));
            }
        }
        if checked.iter().all(|c| c.reached_target != Some(false))
            || std::time::Instant::now() >= deadline
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Dual-stack listeners see IPv4 peers as `::ffff:a.b.c.d`.
pub fn canonical(addr: std::net::IpAddr) -> std::net::IpAddr {
    match addr {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(std::net::IpAddr::V4)
            .unwrap_or(addr),
        v4 => v4,
    }
}

/// Context for a failure message.
pub struct Report<'a> {
    /// What was tested: `examples/web.pcl, host web-1, loaded with nft -f`.
    pub title: &'a str,
    pub policy: &'a str,
    pub ruleset: &'a str,
}

/// Panics with every disagreement, the policy and the ruleset, if there is any.
pub fn assert_agree(report: &Report, checked: &[Checked]) {
    if let Err(message) = agree(report, checked) {
        panic!("{message}");
    }
}

/// Every disagreement, the policy and the ruleset, if there is any.
pub fn agree(report: &Report, checked: &[Checked]) -> Result<(), String> {
    let wrong: Vec<&Checked> = checked.iter().filter(|c| !c.agrees()).collect();
    if wrong.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{}: the kernel disagrees with the policy on {} of {} probes\n\n",
        report.title,
        wrong.len(),
        checked.len()
    );
    for c in wrong.iter().take(40) {
        let _ = writeln!(message, "  {}\n", c.line());
    }
    if wrong.len() > 40 {
        let _ = writeln!(message, "  ... and {} more\n", wrong.len() - 40);
    }
    let _ = write!(
        message,
        "--- policy ---\n{}\n--- ruleset ---\n{}",
        report.policy.trim_end(),
        super::ruleset::numbered(report.ruleset)
    );
    Err(message)
}

/// Counts of outcomes, for a one-line summary.
pub fn summary(checked: &[Checked]) -> String {
    let count = |f: &dyn Fn(&Checked) -> bool| checked.iter().filter(|c| f(c)).count();
    let mut paths = Vec::new();
    for path in [Path::Input, Path::Forward, Path::Output] {
        let n = count(&|c| c.routed.path == path);
        if n > 0 {
            paths.push(format!("{n} {path}"));
        }
    }
    format!(
        "{} probes ({}; {} translated by forward-port, {} rate-limited): {} answered, {} refused, {} dropped",
        checked.len(),
        paths.join(", "),
        count(&|c| c.expectation.dnat.is_some()),
        count(&|c| c.expectation.is_limited()),
        count(&|c| c.outcome == Outcome::Answered),
        count(&|c| matches!(c.outcome, Outcome::Refused(_))),
        count(&|c| matches!(c.outcome, Outcome::TimedOut | Outcome::Blocked(_))),
    )
}
