//! Which probes prove that a host's ruleset does what its policy says: every port the policy
//! mentions with its neighbours and range edges, over TCP and UDP, from sources inside and just
//! outside every net it names, to destinations inside and outside every `to` net, over each
//! interface an `on` names, in both address families.

use std::collections::BTreeSet;
use std::net::IpAddr;

use portcullis::model::ChainKind;
use portcullis::model::{AddrSet, Family, Host, Protocol, Rule};

use super::addresses::Picker;
use super::oracle::{Oracle, Path, Routed};
use super::probe::Probe;
use super::rng::Rng;
use super::topology::{can_name_server_link, Spec, Topology, SERVER_IF, SERVER_IF_B};

/// Probed on every path besides the policy's own ports: ports no rule names, for the defaults.
const FILLER_PORTS: [u16; 3] = [9, 4321, 31000];
/// The protocols a probe can speak. Every port is probed over both: a rule for one must not
/// open the other.
pub const PROBED: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];
/// At most this many probes per path (those from the primary addresses are always sent), so that
/// a policy with many nets stays quick.
const MAX_PROBES_PER_PATH: usize = 700;

#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: Spec,
    /// Port numbers per path (each probed over TCP and UDP).
    ports: Vec<(Path, BTreeSet<u16>)>,
    /// Ports of rules whose addresses or interface matter: probed from every address pair.
    restricted: Vec<(Path, BTreeSet<u16>)>,
    seed: u64,
}

impl Plan {
    pub fn for_host(host: &Host) -> Plan {
        let mut picker = Picker::default();
        let mut spec = Spec {
            target: host.chain(ChainKind::Forward).is_some() || !host.forwards.is_empty(),
            ..Spec::default()
        };
        for forward in &host.forwards {
            if super::addresses::usable(forward.target) && !picker.is_taken(forward.target) {
                picker.reserve(forward.target);
                spec.target_addresses.push(forward.target);
            }
        }
        let interfaces = interface_names(host);
        if let Some(first) = interfaces.first() {
            spec.server_if = first.clone();
            spec.second_if = Some(match interfaces.get(1) {
                Some(second) => second.clone(),
                None if first == SERVER_IF_B => SERVER_IF.to_string(),
                None => SERVER_IF_B.to_string(),
            });
        }

        let rules = |kind: ChainKind| -> Vec<&Rule> {
            host.chain(kind)
                .map(|c| c.rules.iter().collect())
                .unwrap_or_default()
        };
        // Each net gets its addresses once per role, however many rules use it.
        let mut seen: BTreeSet<(usize, AddrSet)> = BTreeSet::new();
        let mut around = |role: usize, set: &AddrSet, out: &mut Vec<IpAddr>| {
            if !seen.insert((role, set.clone())) {
                return;
            }
            for family in [Family::V4, Family::V6] {
                out.extend(picker.inside(set, family));
                out.extend(picker.outside(set, family));
            }
        };
        const CLIENT: usize = 0;
        const SERVER: usize = 1;
        const TARGET: usize = 2;
        const CLIENT_B: usize = 3;
        for rule in rules(ChainKind::Input) {
            around(CLIENT, &rule.src, &mut spec.client_addresses);
            around(SERVER, &rule.dst, &mut spec.server_addresses);
        }
        for forward in &host.forwards {
            around(CLIENT, &forward.from, &mut spec.client_addresses);
        }
        for rule in rules(ChainKind::Forward) {
            around(CLIENT, &rule.src, &mut spec.client_addresses);
            if spec.target {
                around(TARGET, &rule.dst, &mut spec.target_addresses);
            }
        }
        for rule in rules(ChainKind::Output) {
            around(SERVER, &rule.src, &mut spec.server_addresses);
            around(CLIENT, &rule.dst, &mut spec.client_addresses);
        }
        if spec.second_if.is_some() {
            // A second, different address for every net, reaching the server by the other link.
            for rule in rules(ChainKind::Input)
                .into_iter()
                .chain(rules(ChainKind::Forward))
            {
                around(CLIENT_B, &rule.src, &mut spec.client_addresses_b);
            }
        }

        let mut ports = Vec::new();
        let mut restricted = Vec::new();
        for path in [Path::Input, Path::Forward, Path::Output] {
            let Some(chain) = host.chain(path.chain()) else {
                if path == Path::Input && !host.forwards.is_empty() {
                    ports.push((path, forward_ports(host)));
                }
                continue;
            };
            let mut all: BTreeSet<u16> = FILLER_PORTS.into_iter().collect();
            let mut narrow = BTreeSet::new();
            for rule in &chain.rules {
                let points = rule_ports(rule);
                if !rule.src.is_any() || !rule.dst.is_any() || rule.interface.is_some() {
                    narrow.extend(points.iter().copied());
                }
                all.extend(points);
            }
            if path == Path::Input {
                all.extend(forward_ports(host));
            }
            ports.push((path, all));
            restricted.push((path, narrow));
        }
        Plan {
            spec,
            ports,
            restricted,
            seed: 0x5eed_0001,
        }
    }

    pub fn ports(&self, path: Path) -> BTreeSet<u16> {
        self.ports
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, ports)| ports.clone())
            .unwrap_or_default()
    }

    fn restricted(&self, path: Path) -> BTreeSet<u16> {
        self.restricted
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, ports)| ports.clone())
            .unwrap_or_default()
    }

    /// What each namespace must listen on: (server, client, target).
    pub fn listeners(&self, oracle: &Oracle) -> [BTreeSet<(Protocol, u16)>; 3] {
        let with_protocols = |ports: BTreeSet<u16>| -> BTreeSet<(Protocol, u16)> {
            ports
                .into_iter()
                .flat_map(|port| PROBED.map(|p| (p, port)))
                .collect()
        };
        let server = with_protocols(self.ports(Path::Input));
        let client = with_protocols(self.ports(Path::Output));
        let mut target = with_protocols(self.ports(Path::Forward));
        for &(protocol, port) in &server {
            for forward in &oracle.host.forwards {
                if forward.protocol == protocol
                    && (forward.ports.lo..=forward.ports.hi).contains(&port)
                {
                    target.insert((protocol, forward.target_port.unwrap_or(port)));
                }
            }
        }
        [server, client, target]
    }

    /// The probes, each with its path.
    pub fn probes(&self, topology: &Topology, oracle: &Oracle) -> Vec<Routed> {
        let mut rng = Rng::new(self.seed);
        let mut out = Vec::new();
        for (path, ports) in &self.ports {
            let (sources, destinations) = match path {
                Path::Input => (topology.client_addresses(), topology.server_addresses()),
                Path::Forward => (topology.client_addresses(), topology.target_addresses()),
                Path::Output => {
                    let mut servers = vec![
                        IpAddr::V4(super::topology::SERVER_V4),
                        IpAddr::V6(super::topology::SERVER_V6),
                    ];
                    servers.extend(topology.spec.server_addresses.iter().copied());
                    let mut clients = vec![
                        IpAddr::V4(super::topology::CLIENT_V4),
                        IpAddr::V6(super::topology::CLIENT_V6),
                    ];
                    clients.extend(topology.spec.client_addresses.iter().copied());
                    (servers, clients)
                }
            };
            let narrow = self.restricted(*path);
            // Every port from the primary addresses; from the other addresses, the ports of the
            // rules whose addresses or interface matter first, then a sample of the rest.
            let mut primary = Vec::new();
            let mut addressed = Vec::new();
            let mut rest = Vec::new();
            for (i, &src) in sources.iter().enumerate() {
                for (j, &dst) in destinations.iter().enumerate() {
                    if src.is_ipv4() != dst.is_ipv4() {
                        continue;
                    }
                    // The first two of each list are the primary addresses.
                    let is_primary = i < 2 && j < 2;
                    for &port in ports {
                        for protocol in PROBED {
                            let probe = Probe {
                                protocol,
                                src,
                                dst,
                                port,
                            };
                            if *path == Path::Forward && self.translated(oracle, &probe) {
                                // What a forward-port does to traffic passing through is not
                                // this test's question.
                                continue;
                            }
                            let routed = Routed { path: *path, probe };
                            if is_primary {
                                primary.push(routed);
                            } else if narrow.contains(&port) {
                                addressed.push(routed);
                            } else {
                                rest.push(routed);
                            }
                        }
                    }
                }
            }
            let room = MAX_PROBES_PER_PATH.saturating_sub(primary.len());
            let addressed = rng.sample(addressed, room);
            let room = room.saturating_sub(addressed.len());
            out.extend(primary);
            out.extend(addressed);
            out.extend(rng.sample(rest, room));
        }
        out
    }

    fn translated(&self, oracle: &Oracle, probe: &Probe) -> bool {
        oracle.host.forwards.iter().any(|f| {
            f.protocol == probe.protocol && (f.ports.lo..=f.ports.hi).contains(&probe.port)
        })
    }
}

/// The first two interface names the host's input and forward rules use that the topology can
/// give the server's links (`lo` cannot be probed from outside).
fn interface_names(host: &Host) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for kind in [ChainKind::Input, ChainKind::Forward] {
        for rule in host.chain(kind).map(|c| c.rules.as_slice()).unwrap_or(&[]) {
            for name in rule.interface.iter().flat_map(|list| list.names()) {
                if can_name_server_link(name, true) && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    names.truncate(2);
    names
}

/// Each port range of a rule (any protocol: the numbers are probed over TCP and UDP) as its
/// edges, their neighbours and its middle.
fn rule_ports(rule: &Rule) -> BTreeSet<u16> {
    let mut points = BTreeSet::new();
    for protocol in Protocol::ALL {
        for &(lo, hi) in rule.traffic.of(protocol).ranges() {
            edges(lo, hi, &mut points);
        }
    }
    points
}

fn forward_ports(host: &Host) -> BTreeSet<u16> {
    let mut points = BTreeSet::new();
    for forward in &host.forwards {
        edges(forward.ports.lo, forward.ports.hi, &mut points);
    }
    points
}

fn edges(lo: u16, hi: u16, points: &mut BTreeSet<u16>) {
    let (lo, hi) = (u32::from(lo), u32::from(hi));
    for p in [
        lo.saturating_sub(1),
        lo,
        lo + 1,
        (lo + hi) / 2,
        hi.saturating_sub(1),
        hi,
        hi + 1,
    ] {
        if (lo.saturating_sub(1)..=hi + 1).contains(&p) && (1..=65535).contains(&p) {
            points.insert(p as u16);
        }
    }
}
