//! Traffic the baseline decides, and traffic without ports: loopback connections, ICMP and
//! ICMPv6 echo, IPv6 neighbour solicitations, packets of other IP protocols. Every probe is held
//! against the model ([`portcullis::model::Host::traverse`], through the oracle) and against the
//! verdict `portcullis explain --format json` prints for it, with the baseline on and with its
//! parts switched off and the policy deciding instead.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path as FsPath;
use std::process::Command;
use std::time::Duration;

use portcullis::config::CompileConfig;
use portcullis::model::{Packet, Protocol, Transport};

use super::oracle::{verdict_admits, Path};
use super::probe::{self, Outcome, Probe};
use super::scenario::{Bench, PolicyCase};
use super::special;
use super::topology::{Spec, CLIENT_IF, CLIENT_V4, CLIENT_V6, SERVER_IF, SERVER_V4, SERVER_V6};

const DEADLINE: Duration = Duration::from_millis(600);
const LOOPBACK_PORT: u16 = 2001;

/// One probe of the table: what is sent, from which namespace, and the packet the model sees.
struct Case {
    what: String,
    packet: Packet,
    send: Send,
}

enum Send {
    /// A TCP connection from the server to itself.
    Loopback(Probe),
    /// An echo request from the client.
    Echo,
    /// A packet of this IP protocol from the client.
    Protocol(u8),
    /// A neighbour solicitation for the server's address, from the client's link-local address.
    Solicit,
}

fn client_link_local(bench: &Bench) -> (Ipv6Addr, [u8; 6]) {
    let out = bench
        .topology
        .client
        .exec("ip", &["-j", "addr", "show", "dev", CLIENT_IF])
        .unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value = serde_json::from_str(&out).expect("`ip -j` prints JSON");
    let link = &json[0];
    let mac: Vec<u8> = link["address"]
        .as_str()
        .expect("a hardware address")
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    let local = link["addr_info"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter_map(|a| a["local"].as_str()?.parse::<Ipv6Addr>().ok())
        .find(|a| a.segments()[0] == 0xfe80)
        .expect("a link-local address on the client");
    (local, mac.try_into().expect("six bytes"))
}

fn cases(bench: &Bench) -> Vec<Case> {
    let (link_local, _) = client_link_local(bench);
    let packet = |transport, src: IpAddr, dst: IpAddr, interface: &str| Packet {
        transport,
        src,
        dst,
        interface: Some(interface.to_string()),
        translated: false,
    };
    let mut cases = Vec::new();
    for lo in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        cases.push(Case {
            what: format!("tcp/{LOOPBACK_PORT} from {lo} to itself"),
            packet: packet(Transport::Port(Protocol::Tcp, LOOPBACK_PORT), lo, lo, "lo"),
            send: Send::Loopback(Probe {
                protocol: Protocol::Tcp,
                src: lo,
                dst: lo,
                port: LOOPBACK_PORT,
            }),
        });
    }
    let (v4, v6) = (IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6));
    let (s4, s6) = (IpAddr::V4(SERVER_V4), IpAddr::V6(SERVER_V6));
    cases.push(Case {
        what: "an ICMP echo request".into(),
        packet: packet(Transport::Icmp(8), v4, s4, SERVER_IF),
        send: Send::Echo,
    });
    cases.push(Case {
        what: "an ICMPv6 echo request".into(),
        packet: packet(Transport::Icmpv6(128), v6, s6, SERVER_IF),
        send: Send::Echo,
    });
    let t = match s6 {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(_) => unreachable!(),
    };
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    cases.push(Case {
        what: "a neighbour solicitation".into(),
        packet: packet(
            Transport::Icmpv6(135),
            IpAddr::V6(link_local),
            IpAddr::V6(group),
            SERVER_IF,
        ),
        send: Send::Solicit,
    });
    for number in [253u8, 112, 89] {
        for (src, dst) in [(v4, s4), (v6, s6)] {
            cases.push(Case {
                what: format!("a packet of protocol {number} from {src}"),
                packet: packet(Transport::Other(number), src, dst, SERVER_IF),
                send: Send::Protocol(number),
            });
        }
    }
    cases
}

fn fire(bench: &Bench, case: &Case, deadline: Duration) -> Outcome {
    let client = &bench.topology.client;
    let p = &case.packet;
    match &case.send {
        Send::Loopback(probe) => probe::run(
            &bench.topology.server,
            std::slice::from_ref(probe),
            deadline,
        )
        .expect("cannot probe")[0],
        Send::Echo => special::echo(client, p.src, p.dst, deadline),
        Send::Protocol(number) => special::protocol(client, *number, p.src, p.dst, deadline),
        Send::Solicit => {
            let (_, mac) = client_link_local(bench);
            special::solicit(client, CLIENT_IF, mac, SERVER_V6, deadline)
        }
    }
}

/// The verdict `portcullis explain` prints for the packet.
fn explain(file: &FsPath, packet: &Packet) -> String {
    let mut words: Vec<String> = vec![
        packet.transport.to_string(),
        "from".into(),
        packet.src.to_string(),
        "to".into(),
        packet.dst.to_string(),
    ];
    if let Some(interface) = &packet.interface {
        words.extend(["on".to_string(), interface.clone()]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("explain")
        .arg(file)
        .args(["--format", "json"])
        .args(&words)
        .output()
        .expect("the portcullis binary runs");
    assert!(
        out.status.success(),
        "explain {}: {}",
        words.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("explain's JSON");
    json["verdict"].as_str().expect("a verdict").to_string()
}

/// Loads the policy with `config`, fires every case, and holds each outcome against the model
/// and against `explain`.
fn check(label: &str, policy: &str, config: CompileConfig, yaml: &str) {
    let case = PolicyCase::from_text_with(label, policy, config);
    let host = case.host(None);
    let ports: BTreeSet<(Protocol, u16)> = [(Protocol::Tcp, LOOPBACK_PORT)].into_iter().collect();
    let bench = Bench::new(&case, host, Spec::default(), &ports);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(label);
    std::fs::write(&file, policy).expect("the policy is written");
    std::fs::write(dir.path().join("portcullis.yaml"), yaml).expect("the config is written");
    let oracle = bench.oracle();
    let mut wrong = Vec::new();
    for case in cases(&bench) {
        let expectation = oracle.expect_packet(Path::Input, &case.packet);
        let mut outcome = fire(&bench, &case, DEADLINE);
        if !expectation.admits(outcome) {
            outcome = fire(&bench, &case, DEADLINE * 5);
        }
        let connects = matches!(case.send, Send::Loopback(_));
        let explained = explain(&file, &case.packet);
        let model = expectation.verdicts[0].rule_word();
        if !expectation.admits(outcome) || explained != model {
            wrong.push(format!(
                "{} ({}): the model says {}, explain says `{explained}`, the kernel: {}",
                case.what,
                case.packet,
                expectation.describe_as(connects),
                match outcome {
                    Outcome::Answered => "answered".to_string(),
                    other => format!("{other:?}"),
                }
            ));
        }
        assert!(
            !matches!(outcome, Outcome::Broken(_)),
            "{}: the probe is broken: {outcome:?}",
            case.what
        );
        debug_assert!(verdict_admits(expectation.verdicts[0], outcome) || !wrong.is_empty());
    }
    if !wrong.is_empty() {
        bench.fail(&wrong.join("\n"));
    }
}

fn the_baseline_accepts_loopback_echo_and_neighbour_discovery() {
    // Nothing allowed but one port: the baseline alone lets loopback, echo and neighbour
    // discovery in; other protocols fall to the default.
    let policy = "input drop {\n  allow ssh, tcp/2000 from 10.99.0.0/24\n}\n";
    check("baseline.pcl", policy, CompileConfig::default(), "");
}

fn without_the_baseline_the_rules_decide_icmp_loopback_and_protocols() {
    let policy = "\
input drop {
  allow ssh from 10.99.0.0/24
  allow icmp/echo-request from 10.99.0.0/24
  reject icmpv6 echo-request
  allow icmpv6/nd-neighbor-solicit, icmpv6/nd-neighbor-advert
  allow tcp/2001 from 127.0.0.1 on lo
  allow proto/253
  reject vrrp
}
";
    let mut config = CompileConfig::default();
    config.baseline.loopback = false;
    config.baseline.icmp = false;
    check(
        "rules.pcl",
        policy,
        config,
        "compile:\n  baseline:\n    loopback: false\n    icmp: false\n",
    );
}

fn without_the_baseline_a_rule_can_drop_link_local_neighbour_discovery() {
    // Neighbour discovery from the client's global address still works (the probes need it), but
    // not from link-local addresses, where the solicitation probe comes from.
    let policy = "input drop {\n  allow ssh from 10.99.0.0/24\n  deny icmpv6 from fe80::/10\n  allow icmpv6/nd-neighbor-solicit, icmpv6/nd-neighbor-advert\n  allow ospf, icmp\n}\n";
    let mut config = CompileConfig::default();
    config.baseline.icmp = false;
    check(
        "no-nd.pcl",
        policy,
        config,
        "compile:\n  baseline:\n    icmp: false\n",
    );
}

super::trials::tests! {
    Kernel:
        the_baseline_accepts_loopback_echo_and_neighbour_discovery,
        without_the_baseline_the_rules_decide_icmp_loopback_and_protocols,
        without_the_baseline_a_rule_can_drop_link_local_neighbour_discovery;
}
