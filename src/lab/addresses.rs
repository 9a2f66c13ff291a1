//! Choosing host addresses inside and just outside the nets a policy names, that the test network
//! can really use.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{AddrSet, Family};

use super::topology;

/// Hands out addresses, never the same one twice and never one the topology or the kernel would
/// treat specially.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    taken: BTreeSet<IpAddr>,
}

/// Most intervals of one set looked at; nets rarely have more and each costs probes.
const MAX_INTERVALS: usize = 4;
const MAX_TRIES: u128 = 64;

impl Picker {
    /// Marks an address as used elsewhere (a forward target, a fixed topology address).
    pub fn reserve(&mut self, addr: IpAddr) {
        self.taken.insert(addr);
    }

    pub fn is_taken(&self, addr: IpAddr) -> bool {
        self.taken.contains(&addr)
    }

    /// One fresh address inside each interval of the set's `family` part (none if that part is
    /// empty or everything: `any` needs no special source).
    pub fn inside(&mut self, set: &AddrSet, family: Family) -> Vec<IpAddr> {
        let ranges = ranges(set, family);
        if ranges.is_empty() || ranges == [(0, max(family))] {
            return Vec::new();
        }
        let mut found = Vec::new();
        for &(lo, hi) in ranges.iter().take(MAX_INTERVALS) {
            // A little way in, away from the network address.
            let start = if hi - lo >= 8 { lo + 5 } else { lo };
            let candidates = (start..=hi)
                .take(MAX_TRIES as usize)
                .chain((lo..start).take(MAX_TRIES as usize));
            if let Some(addr) = self.first_usable(family, candidates) {
                found.push(addr);
            }
        }
        found
    }

    /// Fresh addresses just below and just above each interval of the set's `family` part.
    pub fn outside(&mut self, set: &AddrSet, family: Family) -> Vec<IpAddr> {
        let ranges = ranges(set, family);
        if ranges.is_empty() || ranges == [(0, max(family))] {
            return Vec::new();
        }
        let mut found = Vec::new();
        for &(lo, hi) in ranges.iter().take(MAX_INTERVALS) {
            if lo > 0 {
                let below = (lo.saturating_sub(MAX_TRIES)..lo).rev();
                found.extend(self.first_usable(family, below));
            }
            if hi < max(family) {
                let above = hi + 1..=hi.saturating_add(MAX_TRIES).min(max(family));
                found.extend(self.first_usable(family, above));
            }
        }
        found
    }

    fn first_usable(
        &mut self,
        family: Family,
        candidates: impl Iterator<Item = u128>,
    ) -> Option<IpAddr> {
        for n in candidates {
            let addr = from_number(family, n);
            if usable(addr) && self.taken.insert(addr) {
                return Some(addr);
            }
        }
        None
    }
}

/// The set's `family` part as ranges of address numbers.
pub fn ranges(set: &AddrSet, family: Family) -> Vec<(u128, u128)> {
    match family {
        Family::V4 => set
            .v4
            .ranges()
            .iter()
            .map(|&(lo, hi)| (u128::from(lo), u128::from(hi)))
            .collect(),
        Family::V6 => set.v6.ranges().to_vec(),
    }
}

fn max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// The address of a number of [`ranges`].
pub fn from_number(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// Whether an address can be a host in the test network.
pub fn usable(addr: IpAddr) -> bool {
    if topology::is_reserved(addr) {
        return false;
    }
    match addr {
        IpAddr::V4(a) => {
            let [a0, a1, _, _] = a.octets();
            !(a0 == 0 || a0 == 127 || a0 >= 224 || (a0 == 169 && a1 == 254))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_unspecified()
                || a.is_loopback()
                || s[0] & 0xffc0 == 0xfe80
                || s[0] & 0xff00 == 0xff00
                // IPv4-mapped and IPv4-compatible addresses.
                || s[..5] == [0; 5])
        }
    }
}
