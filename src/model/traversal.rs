//! A packet's way through a host: the port forward that may translate it on arrival, the chain
//! that decides it, and the source NAT it may get on the way out. `explain` and the kernel tests
//! ask this; it is what the compiled ruleset does to the first packet of a connection.

use super::{ChainKind, Verdict};
use super::{Decision, Host, Packet, Transport};

/// What happens to a packet crossing a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traversal {
    /// The `forward-port` (index into [`Host::forwards`]) that translated its destination on
    /// arrival, if one did.
    pub forward: Option<usize>,
    /// The packet as the deciding chain sees it: translated, if a port forward took it.
    pub packet: Packet,
    /// The chain that decides: the one the packet's path names, or after a translation `forward`
    /// (or `input` when the target is the host's own address).
    pub chain: ChainKind,
    /// The chain's decision; `None` when the host writes no such chain, which accepts.
    pub decision: Option<Decision>,
    /// Source NATs (indices into [`Host::source_nats`]) that rewrite its source on the way out:
    /// in `output`, those of its outgoing interface; in `forward`, where the outgoing interface is
    /// not part of the packet, those that would apply on their interfaces.
    pub source_nats: Vec<usize>,
}

impl Traversal {
    /// The verdict of the deciding chain (or accept, where there is none), for a packet over
    /// every rate limit it meets.
    pub fn verdict(&self) -> Verdict {
        self.decision
            .as_ref()
            .map_or(Verdict::Accept, |d| d.verdict)
    }
}

impl Host {
    /// The way of a packet whose path is `path`: `input` for a packet addressed to the host,
    /// `forward` for one passing through, `output` for one the host sends. The packet's
    /// interface is the incoming one for `input` and `forward`, the outgoing one for `output`.
    pub fn traverse(&self, path: ChainKind, packet: &Packet) -> Traversal {
        let mut packet = packet.clone();
        let mut chain = path;
        let mut forward = None;
        if path != ChainKind::Output {
            let local = path == ChainKind::Input;
            let found = self
                .forwards
                .iter()
                .enumerate()
                .find(|(_, f)| f.translates(&packet, local));
            if let (Some((index, f)), Transport::Port(protocol, port)) = (found, packet.transport) {
                forward = Some(index);
                packet.dst = f.target;
                packet.transport = Transport::Port(protocol, f.target_port_for(port));
                packet.translated = true;
                chain = if self.is_own_address(f.target) {
                    ChainKind::Input
                } else {
                    ChainKind::Forward
                };
            }
        }
        let decision = self.chain(chain).map(|c| c.evaluate(&packet));
        let leaves = chain != ChainKind::Input
            && decision
                .as_ref()
                .is_none_or(|d| d.verdict == Verdict::Accept);
        let source_nats = if leaves {
            self.source_nats
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    let interface = match chain {
                        ChainKind::Output => packet.interface.as_deref(),
                        _ => None,
                    };
                    n.takes(packet.src)
                        && (chain != ChainKind::Output || n.interface.matches(interface))
                })
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        Traversal {
            forward,
            packet,
            chain,
            decision,
            source_nats,
        }
    }
}
