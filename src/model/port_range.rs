//! An inclusive range of port numbers.

use std::fmt;

/// Ports `lo..=hi`; `lo <= hi` always holds for values built through [`PortRange::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    /// Every port a rule can match (port 0 is not a real destination).
    pub const ALL: PortRange = PortRange { lo: 1, hi: 65535 };

    pub fn new(lo: u16, hi: u16) -> Option<Self> {
        (lo <= hi).then_some(PortRange { lo, hi })
    }

    pub fn single(port: u16) -> Self {
        PortRange { lo: port, hi: port }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// How many ports the range holds (never zero).
    pub fn port_count(&self) -> u32 {
        u32::from(self.hi) - u32::from(self.lo) + 1
    }

    pub fn is_single(&self) -> bool {
        self.lo == self.hi
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}
