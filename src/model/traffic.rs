//! Which protocols and destination ports a rule, a service or a bind covers.

use std::fmt;

use super::{IntervalSet, PortRange, Protocol};

/// Destination ports per transport protocol, plus whether packets of protocols without ports
/// (ICMP, GRE, ...) are included. A rule that names no service matches all of it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Traffic {
    pub ports: [IntervalSet<u16>; 4],
    pub other: bool,
}

impl Traffic {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every protocol, every port.
    pub fn all() -> Self {
        Traffic {
            ports: std::array::from_fn(|_| IntervalSet::full()),
            other: true,
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

    /// The ports of the given protocols only.
    pub fn only(&self, protocols: &[Protocol]) -> Traffic {
        let mut t = Traffic::empty();
        for &p in protocols {
            t.ports[p.index()] = self.ports[p.index()].clone();
        }
        t
    }

    /// Each protocol's ports on their own, for messages: `tcp/80,443`, `udp/443`.
    pub fn per_protocol(&self) -> Vec<String> {
        self.protocols()
            .map(|p| self.only(&[p]).to_string())
            .collect()
    }

    pub fn of(&self, protocol: Protocol) -> &IntervalSet<u16> {
        &self.ports[protocol.index()]
    }

    pub fn is_empty(&self) -> bool {
        !self.other && self.ports.iter().all(IntervalSet::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.other && self.ports.iter().all(IntervalSet::is_full)
    }

    /// The protocols with at least one port.
    pub fn protocols(&self) -> impl Iterator<Item = Protocol> + '_ {
        Protocol::ALL
            .into_iter()
            .filter(|p| !self.ports[p.index()].is_empty())
    }

    pub fn contains(&self, protocol: Option<Protocol>, port: u16) -> bool {
        match protocol {
            Some(p) => self.ports[p.index()].contains(port),
            None => self.other,
        }
    }

    fn zip(
        &self,
        other: &Self,
        f: impl Fn(&IntervalSet<u16>, &IntervalSet<u16>) -> IntervalSet<u16>,
        g: impl Fn(bool, bool) -> bool,
    ) -> Self {
        Traffic {
            ports: std::array::from_fn(|i| f(&self.ports[i], &other.ports[i])),
            other: g(self.other, other.other),
        }
    }

    pub fn union(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::union, |a, b| a || b)
    }

    pub fn intersection(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::intersection, |a, b| a && b)
    }

    pub fn difference(&self, other: &Self) -> Self {
        self.zip(other, IntervalSet::difference, |a, b| a && !b)
    }

    pub fn intersects(&self, other: &Self) -> bool {
        (self.other && other.other) || (0..4).any(|i| self.ports[i].intersects(&other.ports[i]))
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        self.difference(other).is_empty()
    }

    /// One concrete protocol and port in the set, for examples in messages.
    pub fn example(&self) -> Option<(Option<Protocol>, u16)> {
        Protocol::ALL
            .into_iter()
            .find_map(|p| self.ports[p.index()].first().map(|port| (Some(p), port)))
            .or(self.other.then_some((None, 0)))
    }
}

impl fmt::Debug for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `tcp/22,80-81 udp/53 other`; `all` for everything; `nothing` when empty.
impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all traffic");
        }
        if self.is_empty() {
            return f.write_str("nothing");
        }
        let mut first = true;
        for p in Protocol::ALL {
            let set = &self.ports[p.index()];
            if set.is_empty() {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            if set.is_full() {
                write!(f, "{p}")?;
                continue;
            }
            write!(f, "{p}/")?;
            for (i, &(lo, hi)) in set.ranges().iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{}", PortRange { lo, hi })?;
            }
        }
        if self.other {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str("other protocols")?;
        }
        Ok(())
    }
}
