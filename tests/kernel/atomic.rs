//! The compiled ruleset owns one table and replaces it whole: a table of someone else's survives
//! loading it (twice, and a different policy after it), and nothing of the old policy lingers.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use portcullis::model::Protocol;

use super::listen::Listeners;
use super::netns::Netns;
use super::probe::{self, Outcome, Probe};
use super::ruleset::{self, Format};
use super::scenario::PolicyCase;
use super::topology::{Topology, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6};

const FOREIGN: &str = "\
table ip foreign {
  set keep {
    type ipv4_addr
    elements = { 192.0.2.1 }
  }
  chain c {
    type filter hook input priority 10; policy accept;
    ip saddr @keep counter
  }
}
";

const FIRST: &str = "\
net lab = 10.99.0.0/24, fd00:99::/64
input drop {
  allow ssh from lab
  allow tcp/2000 from lab log counter
}
";

const SECOND: &str = "\
input drop {
  allow ssh from 10.99.0.0/24
  allow tcp/2001
}
";

fn tables(ns: &Netns) -> BTreeSet<String> {
    ns.exec("nft", &["list", "tables"])
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Which of tcp/2000 and tcp/2001 answer, over both families.
pub(super) fn open_ports(topology: &Topology) -> Vec<(IpAddr, u16, Outcome)> {
    let mut probes = Vec::new();
    for (src, dst) in [
        (IpAddr::V4(CLIENT_V4), IpAddr::V4(SERVER_V4)),
        (IpAddr::V6(CLIENT_V6), IpAddr::V6(SERVER_V6)),
    ] {
        for port in [2000, 2001] {
            probes.push(Probe {
                protocol: Protocol::Tcp,
                src,
                dst,
                port,
            });
        }
    }
    let outcomes =
        probe::run(&topology.client, &probes, Duration::from_millis(1000)).expect("cannot probe");
    probes
        .iter()
        .zip(outcomes)
        .map(|(p, o)| (p.src, p.port, o))
        .collect()
}

fn assert_open(topology: &Topology, open: u16, when: &str) {
    for (src, port, outcome) in open_ports(topology) {
        let expected = if port == open {
            Outcome::Answered
        } else {
            Outcome::TimedOut
        };
        assert_eq!(
            outcome,
            expected,
            "{when}: tcp/{port} from {src} should be {} but was {}",
            expected.describe(Protocol::Tcp),
            outcome.describe(Protocol::Tcp)
        );
    }
}

fn loading_replaces_only_its_own_table() {
    let topology = Topology::basic().expect("cannot build the lab network");
    let ports: BTreeSet<(Protocol, u16)> = [(Protocol::Tcp, 2000), (Protocol::Tcp, 2001)]
        .into_iter()
        .collect();
    let _listeners = Listeners::start(&topology.server, &ports, &[]).expect("cannot listen");
    let server = &topology.server;
    ruleset::load_text(server, FOREIGN, Format::Nft).expect("the foreign table loads");
    let foreign_before = server
        .exec("nft", &["list", "table", "ip", "foreign"])
        .unwrap_or_else(|e| panic!("{e}"));

    let first = PolicyCase::from_text("first.pcl", FIRST);
    let first = first.compile(first.host(None));
    let second = PolicyCase::from_text("second.pcl", SECOND);
    let second = second.compile(second.host(None));

    let expected_tables: BTreeSet<String> = ["table inet portcullis", "table ip foreign"]
        .into_iter()
        .map(str::to_string)
        .collect();
    let check_foreign = |when: &str| {
        assert_eq!(tables(server), expected_tables, "{when}: the tables");
        assert_eq!(
            server
                .exec("nft", &["list", "table", "ip", "foreign"])
                .unwrap_or_else(|e| panic!("{e}")),
            foreign_before,
            "{when}: the foreign table changed"
        );
    };

    for round in ["first load", "second load of the same ruleset"] {
        ruleset::must_load(server, &first, Format::Nft);
        check_foreign(round);
        assert_open(&topology, 2000, round);
    }
    let first_listing = server
        .exec("nft", &["list", "table", "inet", "portcullis"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        first_listing.contains("set net_lab"),
        "the first policy was meant to make a named set:\n{first_listing}"
    );

    for (round, format) in [
        ("a different policy loaded over it", Format::Nft),
        ("the same again as JSON", Format::Json),
    ] {
        ruleset::must_load(server, &second, format);
        check_foreign(round);
        assert_open(&topology, 2001, round);
        let listing = server
            .exec("nft", &["list", "table", "inet", "portcullis"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !listing.contains("net_lab") && !listing.contains("2000"),
            "{round}: the first policy's set or rules are still there:\n{listing}"
        );
    }
}

super::trials::tests! {
    Kernel: loading_replaces_only_its_own_table;
}
