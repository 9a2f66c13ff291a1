//! IPv6 through an input chain that drops by default: nothing works unless the baseline lets
//! neighbour discovery in. The test starts from empty neighbour caches (no entry is ever added by
//! hand) and checks afterwards that both sides learned each other through the firewall; the
//! control without the ICMP baseline shows the test would notice.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use portcullis::config::CompileConfig;
use portcullis::model::Protocol;

use super::netns::Netns;
use super::probe::{self, Outcome, Probe};
use super::ruleset::Format;
use super::scenario::{Bench, PolicyCase};
use super::topology::{Spec, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6};

const POLICY: &str = "\
input drop {
  allow ssh from 10.99.0.0/24
  allow tcp/2000, udp/2000
}
";

fn ports() -> BTreeSet<(Protocol, u16)> {
    [(Protocol::Tcp, 2000), (Protocol::Udp, 2000)]
        .into_iter()
        .collect()
}

fn probes() -> Vec<Probe> {
    let mut all = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        all.push(Probe {
            protocol,
            src: IpAddr::V6(CLIENT_V6),
            dst: IpAddr::V6(SERVER_V6),
            port: 2000,
        });
        all.push(Probe {
            protocol,
            src: IpAddr::V4(CLIENT_V4),
            dst: IpAddr::V4(SERVER_V4),
            port: 2000,
        });
    }
    all
}

/// The neighbour entry for `addr`, e.g. `fd00:99::2 dev pcs0 lladdr ... REACHABLE`.
fn neighbour(ns: &Netns, addr: IpAddr) -> Option<String> {
    let out = ns
        .exec("ip", &["-6", "neigh", "show", "to", &addr.to_string()])
        .unwrap_or_else(|e| panic!("{e}"));
    out.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

fn forget_neighbours(bench: &Bench) {
    for ns in [&bench.topology.server, &bench.topology.client] {
        ns.exec("ip", &["-6", "neigh", "flush", "all"])
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn ipv6_works_through_a_default_drop_input_by_neighbour_discovery() {
    let case = PolicyCase::from_text("ipv6.pcl", POLICY);
    let host = case.host(None);
    let bench = Bench::new(&case, host, Spec::default(), &ports());
    forget_neighbours(&bench);
    let server_knows = neighbour(&bench.topology.server, IpAddr::V6(CLIENT_V6));
    let client_knows = neighbour(&bench.topology.client, IpAddr::V6(SERVER_V6));
    assert!(
        server_knows.is_none() && client_knows.is_none(),
        "neighbour entries before any traffic: {server_knows:?} {client_knows:?}"
    );

    let outcomes = probe::run(&bench.topology.client, &probes(), Duration::from_secs(3))
        .expect("cannot probe");
    for (p, outcome) in probes().iter().zip(&outcomes) {
        if *outcome != Outcome::Answered {
            bench.fail(&format!(
                "{p}: {} (the policy allows it; an IPv6 failure here means neighbour discovery \
                 does not get through the input chain)",
                outcome.describe(p.protocol)
            ));
        }
    }
    // Both directions of neighbour discovery crossed the server's input chain: the client's
    // solicitation for the server, and the client's advertisement answering the server's.
    for (ns, addr) in [
        (&bench.topology.server, IpAddr::V6(CLIENT_V6)),
        (&bench.topology.client, IpAddr::V6(SERVER_V6)),
    ] {
        let entry = neighbour(ns, addr).unwrap_or_default();
        let learned = ["REACHABLE", "STALE", "DELAY", "PROBE"]
            .iter()
            .any(|state| entry.contains(state));
        assert!(
            learned && !entry.contains("PERMANENT"),
            "{} did not learn {addr} by neighbour discovery: {entry:?}",
            ns.name()
        );
    }
}

fn without_the_icmp_baseline_ipv6_is_cut_off_and_ipv4_is_not() {
    // The control for the test above: the same policy without the ICMP part of the baseline.
    let mut config = CompileConfig::default();
    config.baseline.icmp = false;
    let case = PolicyCase::from_text_with("ipv6.pcl", POLICY, config);
    let host = case.host(None);
    let compiled = case.compile(host);
    let bench = Bench::with_ruleset(
        &case,
        host,
        compiled,
        Format::Nft,
        Spec::default(),
        &ports(),
    );
    forget_neighbours(&bench);
    let outcomes = probe::run(
        &bench.topology.client,
        &probes(),
        Duration::from_millis(1500),
    )
    .expect("cannot probe");
    for (p, outcome) in probes().iter().zip(&outcomes) {
        let expected = if p.src.is_ipv6() {
            Outcome::TimedOut
        } else {
            Outcome::Answered
        };
        if *outcome != expected {
            bench.fail(&format!(
                "{p}: {} without the ICMP baseline, expected {}",
                outcome.describe(p.protocol),
                expected.describe(p.protocol)
            ));
        }
    }
}

super::trials::tests! {
    Kernel:
        ipv6_works_through_a_default_drop_input_by_neighbour_discovery,
        without_the_icmp_baseline_ipv6_is_cut_off_and_ipv4_is_not;
}
