//! Sets of IPv4 and IPv6 addresses: the sources and destinations of rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::IntervalSet;

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// A set of addresses of both families.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AddrSet {
    pub v4: IntervalSet<u32>,
    pub v6: IntervalSet<u128>,
}

impl AddrSet {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn any() -> Self {
        AddrSet {
            v4: IntervalSet::full(),
            v6: IntervalSet::full(),
        }
    }

    /// The network a prefix denotes (host bits are ignored, as the kernel ignores them).
    pub fn prefix(net: IpNet) -> Self {
        let mut set = Self::empty();
        match net.trunc() {
            IpNet::V4(n) => {
                set.v4 = IntervalSet::range(u32::from(n.network()), u32::from(n.broadcast()))
            }
            IpNet::V6(n) => {
                set.v6 = IntervalSet::range(u128::from(n.network()), u128::from(n.broadcast()))
            }
        }
        set
    }

    pub fn is_any(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    pub fn union(&self, other: &Self) -> Self {
        AddrSet {
            v4: self.v4.union(&other.v4),
            v6: self.v6.union(&other.v6),
        }
    }

    /// The union of many, each family sorted and merged once: a net may list 50k prefixes.
    pub fn union_all<'a>(all: impl IntoIterator<Item = &'a AddrSet> + Clone) -> Self {
        AddrSet {
            v4: IntervalSet::union_all(all.clone().into_iter().map(|a| &a.v4)),
            v6: IntervalSet::union_all(all.into_iter().map(|a| &a.v6)),
        }
    }

    /// Every address of both families the set does not hold.
    pub fn complement(&self) -> Self {
        AddrSet {
            v4: self.v4.complement(),
            v6: self.v6.complement(),
        }
    }

    pub fn intersection(&self, other: &Self) -> Self {
        AddrSet {
            v4: self.v4.intersection(&other.v4),
            v6: self.v6.intersection(&other.v6),
        }
    }

    pub fn intersects(&self, other: &Self) -> bool {
        self.v4.intersects(&other.v4) || self.v6.intersects(&other.v6)
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        self.v4.is_subset(&other.v4) && self.v6.is_subset(&other.v6)
    }

    pub fn has(&self, family: Family) -> bool {
        match family {
            Family::V4 => !self.v4.is_empty(),
            Family::V6 => !self.v6.is_empty(),
        }
    }

    /// One address of the set, preferring IPv4, for examples in messages.
    pub fn example(&self) -> Option<IpAddr> {
        self.v4
            .first()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
            .or_else(|| self.v6.first().map(|a| IpAddr::V6(Ipv6Addr::from(a))))
    }

    /// The set as the fewest CIDR prefixes, IPv4 first; `ranges` is what nft sets take.
    pub fn v4_ranges(&self) -> impl Iterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.v4
            .ranges()
            .iter()
            .map(|&(lo, hi)| (Ipv4Addr::from(lo), Ipv4Addr::from(hi)))
    }

    pub fn v6_ranges(&self) -> impl Iterator<Item = (Ipv6Addr, Ipv6Addr)> + '_ {
        self.v6
            .ranges()
            .iter()
            .map(|&(lo, hi)| (Ipv6Addr::from(lo), Ipv6Addr::from(hi)))
    }

    /// The set as CIDR prefixes (a range is split into the prefixes that cover it exactly).
    pub fn prefixes(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for (lo, hi) in self.v4_ranges() {
            out.extend(ipnet::Ipv4Subnets::new(lo, hi, 0).map(IpNet::V4));
        }
        for (lo, hi) in self.v6_ranges() {
            out.extend(ipnet::Ipv6Subnets::new(lo, hi, 0).map(IpNet::V6));
        }
        out
    }
}

impl fmt::Debug for AddrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for AddrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("any");
        }
        if self.is_empty() {
            return f.write_str("no address");
        }
        let prefixes = self.prefixes();
        for (i, p) in prefixes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if i == 4 && prefixes.len() > 5 {
                return write!(f, "and {} more", prefixes.len() - 4);
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_round_trip() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        let set = AddrSet::prefix(net).union(&AddrSet::prefix("2001:db8::/32".parse().unwrap()));
        assert_eq!(set.to_string(), "10.0.0.0/8, 2001:db8::/32");
        assert!(set.contains("10.255.0.1".parse().unwrap()));
        assert!(!set.contains("11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn host_bits_are_ignored() {
        let set = AddrSet::prefix("10.0.0.1/8".parse().unwrap());
        assert_eq!(set.to_string(), "10.0.0.0/8");
    }
}
