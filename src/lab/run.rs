//! Runs probes through a lab network and holds each outcome against the oracle; a probe that
//! disagrees is asked again with more patience, so a loaded machine never passes for a firewall
//! that drops.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::listen::{Hit, Listeners};
use super::oracle::{Expectation, Oracle, Path, Routed};
use super::probe::{self, Outcome};
use super::topology::Topology;
use super::LabError;
use crate::model::Protocol;

/// How long a batch of probes waits for answers. Answers on a veth come back in well under a
/// millisecond; this only bounds how long a dropped probe is waited for.
pub const DEADLINE: Duration = Duration::from_millis(400);
/// A probe that disagrees is asked again with this much patience before it counts as a failure.
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
    /// What the first, impatient try saw when it disagreed and the patient one agreed.
    pub first_try: Option<Outcome>,
}

impl Checked {
    pub fn agrees(&self) -> bool {
        self.expectation.admits(self.outcome) && self.reached_target != Some(false)
    }

    /// The probe, what the policy says of it and what the kernel did, on three lines.
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
            if let Some((addr, port)) = self.expectation.dnat {
                line.push_str(&format!(
                    ", but the target never saw it at {addr} port {port} (something else answered)"
                ));
            }
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
    /// Listeners for `(server, client, target)`: the ports each namespace must answer on.
    pub fn start(
        topology: &Topology,
        sets: &[BTreeSet<(Protocol, u16)>; 3],
    ) -> Result<Listening, LabError> {
        let mut server_addresses = topology.server_addresses();
        // Forwarded probes leave the client's own side for the target's.
        server_addresses.retain(|a| !topology.spec.target_addresses.contains(a));
        Ok(Listening {
            server: Listeners::start(&topology.server, &sets[0], &server_addresses)?,
            _client: Listeners::start(&topology.client, &sets[1], &topology.client_addresses())?,
            target: match &topology.target {
                Some(ns) => Some(Listeners::start(
                    ns,
                    &sets[2],
                    &topology.target_addresses(),
                )?),
                None => None,
            },
        })
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
) -> Result<Vec<Checked>, LabError> {
    let mut checked: Vec<Checked> = probes
        .iter()
        .map(|routed| {
            let interface = topology.interface(routed);
            Checked {
                expectation: oracle.expect(routed.path, &routed.probe, &interface),
                interface,
                routed: routed.clone(),
                outcome: Outcome::TimedOut,
                reached_target: None,
                first_try: None,
            }
        })
        .collect();
    let outcomes = fire(topology, &checked, deadline)?;
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
        let outcomes = fire(topology, &subset, PATIENT_DEADLINE.max(deadline))?;
        for (&i, outcome) in again.iter().zip(outcomes) {
            if checked[i].expectation.admits(outcome) {
                checked[i].first_try = Some(checked[i].outcome);
            }
            checked[i].outcome = outcome;
            checked[i].reached_target = None;
        }
        mark_targets(&mut checked, listening);
    }
    Ok(checked)
}

/// Sends all probes, those from the client and those from the server at the same time.
fn fire(
    topology: &Topology,
    checked: &[Checked],
    deadline: Duration,
) -> Result<Vec<Outcome>, LabError> {
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
                Ok(Vec::new())
            } else {
                probe::run(&topology.server, &server_probes, deadline)
            }
        });
        let client = probe::run(&topology.client, &client_probes, deadline);
        let server = server
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (client, server)
    });
    let mut outcomes = vec![Outcome::TimedOut; checked.len()];
    for (&i, o) in from_client.iter().zip(client_outcomes?) {
        outcomes[i] = o;
    }
    for (&i, o) in from_server.iter().zip(server_outcomes?) {
        outcomes[i] = o;
    }
    Ok(outcomes)
}

fn mark_targets(checked: &mut [Checked], listening: &Listening) {
    // A connection is complete for the client before the target's listener thread has accepted
    // and recorded it: on a busy machine the record comes a moment later, so wait for it a while.
    let deadline = Instant::now() + Duration::from_secs(3);
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
        if checked.iter().all(|c| c.reached_target != Some(false)) || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Dual-stack listeners see IPv4 peers as `::ffff:a.b.c.d`.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}
