//! What the rules of `audit` share: for every listener, the binds that declare it, the addresses
//! the network reaches it at, and who reaches it there, asked of the model once.

use super::Listener;
use crate::model::{AddrSet, Bind, ChainKind, Host, IntervalSet, PortRange, Reach, Traffic};

/// A host and the sockets listening on it, with what the rules ask about each.
pub struct Survey<'a> {
    pub host: &'a Host,
    pub listeners: &'a [Listener],
    /// For each listener, in the same order.
    pub seen: Vec<Seen>,
}

/// What the policy says about one listener.
pub struct Seen {
    /// Whether a `::` listener is taken as IPv6 only (see [`Survey::new`]).
    pub v6only: bool,
    /// The addresses it takes connections on from the network: its own, without loopback ones.
    pub network: AddrSet,
    /// The binds of the host that declare it (indices into [`Host::binds`]): its protocol and
    /// port, at an address it listens on.
    pub binds: Vec<usize>,
    /// Of `network`, the addresses no bind declares for its port.
    pub undeclared: AddrSet,
    /// Who reaches it at `network`.
    pub reach: Reach,
    /// Who reaches it at `undeclared`.
    pub undeclared_reach: Reach,
}

impl<'a> Survey<'a> {
    /// Asks the host's policy about every listener.
    ///
    /// A listener on `::` is taken as IPv6 only when an IPv4 socket listens on the same
    /// protocol and port: Linux refuses a dual-stack socket beside one, so the daemon must
    /// have set `IPV6_V6ONLY` (the same reading the policy language gives a `bind` on `::`).
    /// Otherwise it is dual-stack, Linux's default.
    pub fn new(host: &'a Host, listeners: &'a [Listener]) -> Self {
        let seen = listeners
            .iter()
            .map(|listener| {
                let v6only = listener.address.is_ipv6()
                    && listeners.iter().any(|other| {
                        other.address.is_ipv4()
                            && other.protocol == listener.protocol
                            && other.port == listener.port
                    });
                let network = without_loopback(&listener.addresses(v6only));
                let binds: Vec<usize> = host
                    .binds
                    .iter()
                    .enumerate()
                    .filter(|(_, bind)| declares(bind, listener, &listener.addresses(v6only)))
                    .map(|(i, _)| i)
                    .collect();
                let declared = binds.iter().fold(AddrSet::empty(), |set, &b| {
                    set.union(&host.binds[b].listens_on())
                });
                let undeclared = network.intersection(&declared.complement());
                let traffic = Traffic::ports(listener.protocol, PortRange::single(listener.port));
                Seen {
                    v6only,
                    reach: reach(host, &traffic, &network),
                    undeclared_reach: reach(host, &traffic, &undeclared),
                    network,
                    binds,
                    undeclared,
                }
            })
            .collect();
        Survey {
            host,
            listeners,
            seen,
        }
    }

    /// The listeners with what was found about each.
    pub fn each(&self) -> impl Iterator<Item = (&'a Listener, &Seen)> + '_ {
        self.listeners.iter().zip(&self.seen)
    }
}

/// Whether `bind` declares a listener that takes connections at `addresses`.
pub fn declares(bind: &Bind, listener: &Listener, addresses: &AddrSet) -> bool {
    bind.traffic.contains(crate::model::Transport::Port(
        listener.protocol,
        listener.port,
    )) && bind.listens_on().intersects(addresses)
}

/// Who reaches `traffic` at `dst` through the host's input chain; a host without one accepts
/// every connection.
fn reach(host: &Host, traffic: &Traffic, dst: &AddrSet) -> Reach {
    match host.chain(ChainKind::Input) {
        Some(chain) => chain.reach(traffic, dst),
        None => Reach {
            sources: AddrSet {
                v4: whole_if(!dst.v4.is_empty()),
                v6: whole_if(!dst.v6.is_empty()),
            },
            accepted_by: Vec::new(),
        },
    }
}

fn whole_if<T: crate::model::Point>(some: bool) -> IntervalSet<T> {
    if some {
        IntervalSet::full()
    } else {
        IntervalSet::empty()
    }
}

/// The addresses without the loopback ones (`127.0.0.0/8`, `::1`), which only the host itself
/// can connect to.
fn without_loopback(set: &AddrSet) -> AddrSet {
    let loopback = ["127.0.0.0/8", "::1/128"]
        .iter()
        .map(|net| AddrSet::prefix(net.parse().expect("a valid prefix")))
        .fold(AddrSet::empty(), |all, net| all.union(&net));
    set.intersection(&loopback.complement())
}
