//! Port forwarding: a connection to the server's forwarded port must land on the target's
//! listener (not on anything of the server's own), keep the client's source address, and be
//! admitted by a forward chain that drops everything else.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use portcullis::model::Protocol;

use super::env;
use super::oracle::Path;
use super::plan::Routed;
use super::probe::{Outcome, Probe};
use super::scenario::{Bench, PolicyCase};
use super::topology::{Spec, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, TARGET_V4, TARGET_V6};
use super::verify::{self, canonical, Report};

const POLICY: &str = "\
input drop {
  allow ssh from 10.99.0.0/24
}

forward drop {
}

forward-port tcp/8443 to 10.97.0.2:443
forward-port tcp/8080 to [fd00:97::2]:80
forward-port udp/5353 from 10.99.0.0/24 to 10.97.0.2:53
";

#[test]
fn a_forwarded_port_reaches_the_target_through_a_dropping_forward_chain() {
    if !env::ready(
        "kernel::forwarding::a_forwarded_port_reaches_the_target_through_a_dropping_forward_chain",
    ) {
        return;
    }
    let case = PolicyCase::from_text("forward.pcl", POLICY);
    let host = case.host(None);
    let outsider = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let spec = Spec {
        target: true,
        client_addresses: vec![outsider],
        ..Spec::default()
    };
    // Everyone listens everywhere: an answer from the server's own 8443 would be a failed
    // translation passing for a good one.
    let ports: BTreeSet<(Protocol, u16)> = [
        (Protocol::Tcp, 8443),
        (Protocol::Tcp, 443),
        (Protocol::Tcp, 8080),
        (Protocol::Tcp, 80),
        (Protocol::Udp, 5353),
        (Protocol::Udp, 53),
    ]
    .into_iter()
    .collect();
    let bench = Bench::new(&case, host, spec, &ports);

    let v4 = IpAddr::V4(CLIENT_V4);
    let v6 = IpAddr::V6(CLIENT_V6);
    let server_v4 = IpAddr::V4(SERVER_V4);
    let server_v6 = IpAddr::V6(SERVER_V6);
    let input = |protocol, src, dst, port| Routed {
        path: Path::Input,
        probe: Probe {
            protocol,
            src,
            dst,
            port,
        },
    };
    let forward = |protocol, src, dst, port| Routed {
        path: Path::Forward,
        probe: Probe {
            protocol,
            src,
            dst,
            port,
        },
    };
    let probes = vec![
        // Translated: must reach the target.
        input(Protocol::Tcp, v4, server_v4, 8443),
        input(Protocol::Tcp, v6, server_v6, 8080),
        input(Protocol::Udp, v4, server_v4, 5353),
        // Not translated: the wrong family, or a source outside `from`; the input chain drops.
        input(Protocol::Tcp, v6, server_v6, 8443),
        input(Protocol::Tcp, v4, server_v4, 8080),
        input(Protocol::Udp, outsider, server_v4, 5353),
        // The forward accept is for translated connections only: straight to the target, the
        // forward chain drops.
        forward(Protocol::Tcp, v4, IpAddr::V4(TARGET_V4), 443),
        forward(Protocol::Tcp, v6, IpAddr::V6(TARGET_V6), 80),
        forward(Protocol::Udp, v4, IpAddr::V4(TARGET_V4), 53),
    ];
    let oracle = bench.oracle();
    let checked = verify::run(
        &bench.topology,
        &oracle,
        &bench.listening,
        &probes,
        verify::DEADLINE,
    );
    let translated = checked
        .iter()
        .filter(|c| c.expectation.dnat.is_some())
        .count();
    assert_eq!(
        translated, 3,
        "the oracle should translate exactly the first three probes"
    );
    let report = Report {
        title: "forward.pcl",
        policy: POLICY,
        ruleset: &bench.compiled.nft,
    };
    verify::assert_agree(&report, &checked);

    // Belt and braces: the target saw each translated connection on its own port, from the
    // client's address, and the server's listeners saw nothing.
    let target_hits = bench.listening.target.as_ref().expect("a target").hits();
    for (protocol, src, port) in [
        (Protocol::Tcp, v4, 443),
        (Protocol::Tcp, v6, 80),
        (Protocol::Udp, v4, 53),
    ] {
        if !target_hits
            .iter()
            .any(|h| h.protocol == protocol && h.port == port && canonical(h.peer.ip()) == src)
        {
            bench.fail(&format!(
                "the target never saw {protocol}/{port} from {src}; it saw {target_hits:?}"
            ));
        }
    }
    let server_hits = bench.listening.server.hits();
    if !server_hits.is_empty() {
        bench.fail(&format!(
            "the server's own listeners answered: {server_hits:?}"
        ));
    }
    assert!(checked
        .iter()
        .take(3)
        .all(|c| c.outcome == Outcome::Answered));
}
