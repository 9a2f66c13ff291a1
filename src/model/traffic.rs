//! Which packets a rule, a service or a bind covers above IP: destination ports per transport
//! protocol, ICMP and ICMPv6 types, and the numbers of other IP protocols.

use std::fmt;

use super::transport::{SLOTS, SLOT_ICMP, SLOT_ICMPV6, SLOT_OTHER};
use super::{icmp, ip_protocol, Family, IntervalSet, PortRange, Protocol, Transport};

/// Destination ports per transport protocol, ICMP types, ICMPv6 types, and other IP protocols by
/// number. A rule that names no service matches all of it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Traffic {
    pub ports: [IntervalSet<u16>; 4],
    /// ICMP types; ICMP is IPv4's, so these match IPv4 packets only.
    pub icmp: IntervalSet<u8>,
    /// ICMPv6 types; IPv6 packets only.
    pub icmpv6: IntervalSet<u8>,
    /// Numbers of the other IP protocols (never those of the four protocols with ports or of the
    /// ICMPs, which have their own fields).
    pub other: IntervalSet<u8>,
}

/// Every protocol number without a field of its own.
fn all_other() -> IntervalSet<u8> {
    let own = IntervalSet::from_ranges(
        [ip_protocol::ICMP, ip_protocol::ICMPV6]
            .into_iter()
            .chain(Protocol::ALL.map(ip_protocol::number))
            .map(|n| (n, n)),
    );
    own.complement()
}

impl Traffic {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every protocol, every port and type.
    pub fn all() -> Self {
        Traffic {
            ports: std::array::from_fn(|_| IntervalSet::full()),
            icmp: IntervalSet::full(),
            icmpv6: IntervalSet::full(),
            other: all_other(),
        }
    }

    /// Every port of one protocol.
    pub fn protocol(protocol: Protocol) -> Self {
        let mut t = Self::empty();
        t.ports[protocol.index()] = IntervalSet::full();
        t
    }

    pub fn ports(protocol: Protocol, range: PortRange) -> Self {
        let mut t = Self::empty();
        t.ports[protocol.index()] = IntervalSet::range(range.lo, range.hi);
        t
    }

    /// ICMP (IPv4) or ICMPv6 (IPv6) messages of the given types.
    pub fn icmp_types(family: Family, types: IntervalSet<u8>) -> Self {
        let mut t = Self::empty();
        *t.icmp_mut(family) = types;
        t
    }

    /// Every packet of an IP protocol, by number: every port or type where it has them.
    pub fn ip_protocol(number: u8) -> Self {
        if let Some(protocol) = ip_protocol::ported(number) {
            return Self::protocol(protocol);
        }
        match number {
            ip_protocol::ICMP => Self::icmp_types(Family::V4, IntervalSet::full()),
            ip_protocol::ICMPV6 => Self::icmp_types(Family::V6, IntervalSet::full()),
            n => Traffic {
                other: IntervalSet::range(n, n),
                ..Self::empty()
            },
        }
    }

    /// Every protocol without ports or types, as a rule naming no service matches them.
    pub fn other_protocols() -> Self {
        Traffic {
            other: all_other(),
            ..Self::empty()
        }
    }

    /// The ports of the given protocols only.
    pub fn only(&self, protocols: &[Protocol]) -> Traffic {
        let mut t = Traffic::empty();
        for &p in protocols {
            t.ports[p.index()] = self.ports[p.index()].clone();
        }
        t
    }

    /// What packets of one address family can be: without ICMPv6 for IPv4, without ICMP for
    /// IPv6.
    pub fn for_family(&self, family: Family) -> Traffic {
        let mut t = self.clone();
        match family {
            Family::V4 => t.icmpv6 = IntervalSet::empty(),
            Family::V6 => t.icmp = IntervalSet::empty(),
        }
        t
    }

    /// Whether packets of this family can match at all.
    pub fn matches_family(&self, family: Family) -> bool {
        !self.for_family(family).is_empty()
    }

    /// The types of the family's ICMP.
    pub fn icmp_of(&self, family: Family) -> &IntervalSet<u8> {
        match family {
            Family::V4 => &self.icmp,
            Family::V6 => &self.icmpv6,
        }
    }

    fn icmp_mut(&mut self, family: Family) -> &mut IntervalSet<u8> {
        match family {
            Family::V4 => &mut self.icmp,
            Family::V6 => &mut self.icmpv6,
        }
    }

    /// Each protocol's part on its own, for messages: `tcp/80,443`, `udp/443`, `icmp/echo-request`.
    pub fn per_protocol(&self) -> Vec<String> {
        let mut parts: Vec<String> = self
            .protocols()
            .map(|p| self.only(&[p]).to_string())
            .collect();
        for family in [Family::V4, Family::V6] {
            if !self.icmp_of(family).is_empty() {
                parts.push(Self::icmp_types(family, self.icmp_of(family).clone()).to_string());
            }
        }
        if !self.other.is_empty() {
            parts.push(
                Traffic {
                    other: self.other.clone(),
                    ..Self::empty()
                }
                .to_string(),
            );
        }
        parts
    }

    pub fn of(&self, protocol: Protocol) -> &IntervalSet<u16> {
        &self.ports[protocol.index()]
    }

    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(IntervalSet::is_empty) && !self.has_portless()
    }

    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    /// Whether any ICMP type or other protocol is included: traffic without ports.
    pub fn has_portless(&self) -> bool {
        !self.icmp.is_empty() || !self.icmpv6.is_empty() || !self.other.is_empty()
    }

    /// The same traffic without its ports: ICMP types and other protocols only.
    pub fn portless(&self) -> Traffic {
        Traffic {
            ports: Default::default(),
            ..self.clone()
        }
    }

    /// The protocols with at least one port.
    pub fn protocols(&self) -> impl Iterator<Item = Protocol> + '_ {
        Protocol::ALL
            .into_iter()
            .filter(|p| !self.ports[p.index()].is_empty())
    }

    pub fn contains(&self, transport: Transport) -> bool {
        match transport {
            Transport::Port(p, port) => self.ports[p.index()].contains(port),
            Transport::Icmp(t) => self.icmp.contains(t),
            Transport::Icmpv6(t) => self.icmpv6.contains(t),
            Transport::Other(n) => self.other.contains(n),
        }
    }

    /// The ranges of one slot (see [`Transport::slot`]), widened to `u32`.
    pub fn slot_ranges(&self, slot: usize) -> Vec<(u32, u32)> {
        fn widen<T: super::Point + Into<u32>>(set: &IntervalSet<T>) -> Vec<(u32, u32)> {
            set.ranges()
                .iter()
                .map(|&(lo, hi)| (lo.into(), hi.into()))
                .collect()
        }
        match slot {
            SLOT_ICMP => widen(&self.icmp),
            SLOT_ICMPV6 => widen(&self.icmpv6),
            SLOT_OTHER => widen(&self.other),
            _ => widen(&self.ports[slot]),
        }
    }

    /// How many slots there are, for per-slot tables.
    pub const SLOTS: usize = SLOTS;

    fn zip(
        &self,
        other: &Self,
        f: impl Fn(&IntervalSet<u16>, &IntervalSet<u16>) -> IntervalSet<u16>,
        g: impl Fn(&IntervalSet<u8>, &IntervalSet<u8>) -> IntervalSet<u8>,
    ) -> Self {
        Traffic {
            ports: std::array::from_fn(|i| f(&self.ports[i], &other.ports[i])),
            icmp: g(&self.icmp, &other.icmp),
            icmpv6: g(&self.icmpv6, &other.icmpv6),
            other: g(&self.other, &other.other),
        }
    }

    pub fn union(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::union, IntervalSet::union)
    }

    /// The union of many, each field sorted and merged once: a rule may list 100k services.
    pub fn union_all<'a>(all: impl IntoIterator<Item = &'a Traffic> + Clone) -> Self {
        Traffic {
            ports: std::array::from_fn(|i| {
                IntervalSet::union_all(all.clone().into_iter().map(|t| &t.ports[i]))
            }),
            icmp: IntervalSet::union_all(all.clone().into_iter().map(|t| &t.icmp)),
            icmpv6: IntervalSet::union_all(all.clone().into_iter().map(|t| &t.icmpv6)),
            other: IntervalSet::union_all(all.into_iter().map(|t| &t.other)),
        }
    }

    pub fn intersection(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::intersection, IntervalSet::intersection)
    }

    pub fn difference(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::difference, IntervalSet::difference)
    }

    pub fn intersects(&self, other: &Self) -> bool {
        (0..4).any(|i| self.ports[i].intersects(&other.ports[i]))
            || self.icmp.intersects(&other.icmp)
            || self.icmpv6.intersects(&other.icmpv6)
            || self.other.intersects(&other.other)
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        self.difference(other).is_empty()
    }

    /// One concrete packet of the set, for examples in messages: a port where there is one.
    pub fn example(&self) -> Option<Transport> {
        Protocol::ALL
            .into_iter()
            .find_map(|p| {
                self.ports[p.index()]
                    .first()
                    .map(|port| Transport::Port(p, port))
            })
            .or_else(|| self.icmp.first().map(Transport::Icmp))
            .or_else(|| self.icmpv6.first().map(Transport::Icmpv6))
            .or_else(|| self.other.first().map(Transport::Other))
    }
}

impl fmt::Debug for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `tcp/22,80-81 udp/53 icmp/echo-request gre`; `all traffic` for everything; `nothing` when
/// empty.
impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all traffic");
        }
        if self.is_empty() {
            return f.write_str("nothing");
        }
        let mut parts: Vec<String> = Vec::new();
        for p in Protocol::ALL {
            let set = &self.ports[p.index()];
            if set.is_empty() {
                continue;
            }
            if set.is_full() {
                parts.push(p.to_string());
                continue;
            }
            let ranges: Vec<String> = set
                .ranges()
                .iter()
                .map(|&(lo, hi)| PortRange { lo, hi }.to_string())
                .collect();
            parts.push(format!("{p}/{}", ranges.join(",")));
        }
        for family in [Family::V4, Family::V6] {
            let set = self.icmp_of(family);
            let keyword = icmp::keyword(family);
            if set.is_empty() {
                continue;
            }
            if set.is_full() {
                parts.push(keyword.to_string());
                continue;
            }
            let types: Vec<String> = set
                .ranges()
                .iter()
                .map(|&(lo, hi)| {
                    if lo == hi {
                        icmp::type_text(family, lo)
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect();
            parts.push(format!("{keyword}/{}", types.join(",")));
        }
        if self.other == all_other() {
            parts.push("other protocols".to_string());
        } else {
            for &(lo, hi) in self.other.ranges() {
                if lo == hi {
                    parts.push(Transport::Other(lo).to_string());
                } else {
                    parts.push(format!("proto/{lo}-{hi}"));
                }
            }
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_land_in_their_own_fields() {
        assert_eq!(Traffic::ip_protocol(6), Traffic::protocol(Protocol::Tcp));
        assert_eq!(Traffic::ip_protocol(58).to_string(), "icmpv6");
        assert_eq!(Traffic::ip_protocol(47).to_string(), "gre");
        assert_eq!(Traffic::ip_protocol(253).to_string(), "proto/253");
        assert!(!Traffic::all().other.contains(6));
        assert!(Traffic::all().other.contains(47));
    }

    #[test]
    fn icmp_is_of_one_family() {
        let echo = Traffic::icmp_types(Family::V4, IntervalSet::range(8, 8));
        assert_eq!(echo.to_string(), "icmp/echo-request");
        assert!(echo.matches_family(Family::V4));
        assert!(!echo.matches_family(Family::V6));
        assert!(echo.contains(Transport::Icmp(8)));
        assert!(!echo.contains(Transport::Icmpv6(8)));
    }

    #[test]
    fn everything_but_ports() {
        let all = Traffic::all();
        assert_eq!(all.to_string(), "all traffic");
        assert_eq!(all.portless().to_string(), "icmp icmpv6 other protocols");
        assert!(all.portless().has_portless());
    }
}
