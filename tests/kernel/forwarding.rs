//! Port forwarding: a connection to the server's forwarded port must land on the target's
//! listener (not on anything of the server's own), keep the client's source address, and be
//! admitted by a forward chain that drops everything else.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portcullis::model::Protocol;

use super::oracle::Path;
use super::oracle::Routed;
use super::probe::{Outcome, Probe};
use super::scenario::{Bench, PolicyCase};
use super::topology::{
    Spec, CLIENT_B_V4, CLIENT_V4, CLIENT_V6, ROUTER_T_V4, ROUTER_T_V6, SERVER_B_V4, SERVER_IF,
    SERVER_IF_B, SERVER_IF_TARGET, SERVER_V4, SERVER_V6, TARGET_V4, TARGET_V6,
};
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

fn a_forwarded_port_reaches_the_target_through_a_dropping_forward_chain() {
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

/// The inside server the router publishes, behind the target link.
const NAS_V4: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
const NAS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x96, 0, 0, 0, 0, 0, 0x10);

/// Runs `probes` against a loaded bench, panics with every disagreement with the model.
fn agree(bench: &Bench, probes: &[Routed], title: &str) -> Vec<verify::Checked> {
    let oracle = bench.oracle();
    let checked = verify::run(
        &bench.topology,
        &oracle,
        &bench.listening,
        probes,
        verify::DEADLINE,
    );
    verify::assert_agree(
        &Report {
            title,
            policy: &bench.case.text,
            ruleset: &bench.compiled.nft,
        },
        &checked,
    );
    checked
}

fn routed(path: Path, protocol: Protocol, src: IpAddr, dst: IpAddr, port: u16) -> Routed {
    Routed {
        path,
        probe: Probe {
            protocol,
            src,
            dst,
            port,
        },
    }
}

/// Whether the target saw `protocol/port` from `src`.
fn target_saw(bench: &Bench, protocol: Protocol, port: u16, src: IpAddr) -> bool {
    // The listener records a connection after the client has it: allow a busy machine a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let hits = bench.listening.target.as_ref().expect("a target").hits();
        let saw = hits
            .iter()
            .any(|h| h.protocol == protocol && h.port == port && canonical(h.peer.ip()) == src);
        if saw || std::time::Instant::now() >= deadline {
            return saw;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn a_forwarded_port_leaves_connections_through_the_router_alone() {
    // A home router: the LAN (the client) browses the world (the target) on tcp/443, and the
    // router publishes the NAS's tcp/8443 as its own tcp/443, in both families.
    let policy = "\
input drop {
  allow ssh from 10.99.0.0/24
}

forward drop {
  allow tcp/443 from 10.99.0.0/24, fd00:99::/64
}

forward-port tcp/443 to 10.96.0.10:8443
forward-port tcp/443 to [fd00:96::10]:8443
";
    let case = PolicyCase::from_text("router.pcl", policy);
    let host = case.host(None);
    let spec = Spec {
        target: true,
        target_addresses: vec![IpAddr::V4(NAS_V4), IpAddr::V6(NAS_V6)],
        ..Spec::default()
    };
    let ports: BTreeSet<(Protocol, u16)> = [(Protocol::Tcp, 443), (Protocol::Tcp, 8443)]
        .into_iter()
        .collect();
    let bench = Bench::new(&case, host, spec, &ports);
    let (v4, v6) = (IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6));
    let probes = vec![
        // To the world: passes through untranslated.
        routed(Path::Forward, Protocol::Tcp, v4, IpAddr::V4(TARGET_V4), 443),
        routed(Path::Forward, Protocol::Tcp, v6, IpAddr::V6(TARGET_V6), 443),
        // To the router: translated to the NAS.
        routed(Path::Input, Protocol::Tcp, v4, IpAddr::V4(SERVER_V4), 443),
        routed(Path::Input, Protocol::Tcp, v6, IpAddr::V6(SERVER_V6), 443),
    ];
    let checked = agree(&bench, &probes, "router.pcl");
    assert!(checked.iter().all(|c| c.outcome == Outcome::Answered));
    assert_eq!(
        checked
            .iter()
            .filter(|c| c.expectation.dnat.is_some())
            .count(),
        2,
        "the model translates only the connections to the router"
    );
    for src in [v4, v6] {
        if !target_saw(&bench, Protocol::Tcp, 443, src) {
            bench.fail(&format!(
                "the outside server never saw tcp/443 from {src}: the router took it"
            ));
        }
        if !target_saw(&bench, Protocol::Tcp, 8443, src) {
            bench.fail(&format!(
                "the NAS never saw the forwarded tcp/443 from {src}"
            ));
        }
    }
}

fn a_forwarded_port_can_be_narrowed_to_an_interface_and_widened_to_other_addresses() {
    // tcp/8080 only from the second link; tcp/9090 for a routed public address that is not the
    // router's own.
    let policy = "\
input drop {
  allow ssh from 10.99.0.0/24
}

forward drop {
}

forward-port tcp/8080 on pcs1 to 10.96.0.10:80
forward-port tcp/9090 at 198.51.100.7 to 10.96.0.10:90
";
    let case = PolicyCase::from_text("narrow.pcl", policy);
    let host = case.host(None);
    let spec = Spec {
        target: true,
        second_if: Some(SERVER_IF_B.to_string()),
        target_addresses: vec![IpAddr::V4(NAS_V4)],
        ..Spec::default()
    };
    let ports: BTreeSet<(Protocol, u16)> = [8080, 80, 9090, 90]
        .into_iter()
        .map(|p| (Protocol::Tcp, p))
        .collect();
    let bench = Bench::new(&case, host, spec, &ports);
    let v4 = IpAddr::V4(CLIENT_V4);
    let b4 = IpAddr::V4(CLIENT_B_V4);
    let public = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    let probes = vec![
        // Arriving on the second link: translated.
        routed(
            Path::Input,
            Protocol::Tcp,
            b4,
            IpAddr::V4(SERVER_B_V4),
            8080,
        ),
        // On the first: the input chain drops it.
        routed(Path::Input, Protocol::Tcp, v4, IpAddr::V4(SERVER_V4), 8080),
        // To the routed public address: translated though it is not the router's.
        routed(Path::Forward, Protocol::Tcp, v4, public, 9090),
        // To the router's own address: not `at`, so the input chain drops it.
        routed(Path::Input, Protocol::Tcp, v4, IpAddr::V4(SERVER_V4), 9090),
    ];
    let checked = agree(&bench, &probes, "narrow.pcl");
    let answered: Vec<bool> = checked
        .iter()
        .map(|c| c.outcome == Outcome::Answered)
        .collect();
    assert_eq!(answered, [true, false, true, false], "{checked:?}");
    assert!(target_saw(&bench, Protocol::Tcp, 80, b4));
    assert!(target_saw(&bench, Protocol::Tcp, 90, v4));
}

fn masquerade_and_snat_give_the_outside_the_router_address() {
    // The LAN reaches the world with the router's address: masquerade for tcp, and a fixed
    // address for udp (one the router holds on that link, so that replies find it).
    let policy = "\
input drop {
  allow ssh from 10.99.0.0/24
}

forward drop {
  allow from 10.99.0.0/24, fd00:99::/64
}

masquerade on pcs2 from fd00:99::/64
masquerade on pcs2 from 10.99.0.0/24
";
    let snat = "snat on pcs2 from 10.99.0.0/24 to 10.97.0.5\n";
    let snat_address = IpAddr::V4(Ipv4Addr::new(10, 97, 0, 5));
    for (label, text, seen_v4) in [
        (
            "masquerade.pcl",
            policy.to_string(),
            IpAddr::V4(ROUTER_T_V4),
        ),
        (
            "snat.pcl",
            // The snat comes first: the first source NAT that matches decides.
            policy.replace(
                "masquerade on pcs2 from 10.99",
                &format!("{snat}masquerade on pcs2 from 10.99"),
            ),
            snat_address,
        ),
    ] {
        let case = PolicyCase::from_text(label, &text);
        let host = case.host(None);
        let spec = Spec {
            target: true,
            ..Spec::default()
        };
        let ports: BTreeSet<(Protocol, u16)> = [(Protocol::Tcp, 80), (Protocol::Udp, 53)]
            .into_iter()
            .collect();
        let bench = Bench::new(&case, host, spec, &ports);
        bench
            .topology
            .server
            .ip(&[format!("addr add {snat_address}/32 dev {SERVER_IF_TARGET}")])
            .expect("ip failed");
        let (v4, v6) = (IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6));
        let probes = vec![
            routed(Path::Forward, Protocol::Tcp, v4, IpAddr::V4(TARGET_V4), 80),
            routed(Path::Forward, Protocol::Udp, v4, IpAddr::V4(TARGET_V4), 53),
            routed(Path::Forward, Protocol::Tcp, v6, IpAddr::V6(TARGET_V6), 80),
        ];
        let checked = agree(&bench, &probes, label);
        assert!(checked.iter().all(|c| c.outcome == Outcome::Answered));
        // The model names the source NAT for each, and the outside saw the router's address.
        let oracle_host = bench.host;
        for c in &checked {
            let p = &c.routed.probe;
            let packet = portcullis::model::Packet {
                transport: portcullis::model::Transport::Port(p.protocol, p.port),
                src: p.src,
                dst: p.dst,
                interface: Some(SERVER_IF.to_string()),
                translated: false,
            };
            let way = oracle_host.traverse(portcullis::model::ChainKind::Forward, &packet);
            assert!(
                !way.source_nats.is_empty(),
                "{label}: no source NAT for {p}"
            );
        }
        for (protocol, port, seen) in [
            (Protocol::Tcp, 80, seen_v4),
            (Protocol::Udp, 53, seen_v4),
            (Protocol::Tcp, 80, IpAddr::V6(ROUTER_T_V6)),
        ] {
            if !target_saw(&bench, protocol, port, seen) {
                let hits = bench.listening.target.as_ref().expect("a target").hits();
                bench.fail(&format!(
                    "{label}: the outside server did not see {protocol}/{port} from {seen}; it saw {hits:?}"
                ));
            }
        }
    }
}

super::trials::tests! {
    Kernel:
        a_forwarded_port_reaches_the_target_through_a_dropping_forward_chain,
        a_forwarded_port_leaves_connections_through_the_router_alone,
        a_forwarded_port_can_be_narrowed_to_an_interface_and_widened_to_other_addresses,
        masquerade_and_snat_give_the_outside_the_router_address;
}
