//! Looking services up by port, and IANA's assignment status of a port.

use std::fmt;

use super::table;
use super::{Entry, Source};
use crate::model::{PortRange, Protocol};

/// IANA's status of one port on one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortStatus {
    /// IANA registers at least one service on the port.
    Assigned,
    /// IANA set the port aside: port 0, ports marked "Reserved", ports de-assigned as reserved,
    /// and the nameless private-use registrations ("any private mail system").
    Reserved,
    /// No service registered: IANA says "Unassigned" (or "De-registered"), or no source lists
    /// the port at all.
    Unassigned,
}

impl PortStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PortStatus::Assigned => "assigned",
            PortStatus::Reserved => "reserved",
            PortStatus::Unassigned => "unassigned",
        }
    }
}

impl fmt::Display for PortStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the registry knows about one port on one protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Services on the port, IANA's first; may include netbase-only names, which do not make the
    /// port [`PortStatus::Assigned`].
    pub entries: Vec<&'static Entry>,
    pub status: PortStatus,
}

/// The services on `port` and IANA's status of it.
pub fn by_port(protocol: Protocol, port: u16) -> PortInfo {
    let mut entries = entries_overlapping(protocol, PortRange::single(port));
    // IANA's names first, then netbase's; the sort is stable, so IANA's first-name-first order
    // within a port survives.
    entries.sort_by_key(|e| e.source);
    let status = status(protocol, port, &entries);
    PortInfo { entries, status }
}

/// The status given the entries already found on the port.
fn status(protocol: Protocol, port: u16, entries: &[&Entry]) -> PortStatus {
    if entries.iter().any(|e| e.source == Source::Iana) {
        PortStatus::Assigned
    } else if port == 0 {
        // RFC 6335: port 0 is reserved on every protocol, whether or not a source says so.
        PortStatus::Reserved
    } else {
        table::reservation(protocol, port).map_or(PortStatus::Unassigned, |r| r.status)
    }
}

/// IANA's note on an explicitly reserved or unassigned port, when it says more than the status:
/// "any private mail system" on 24/tcp.
pub(super) fn reservation_note(protocol: Protocol, port: u16) -> Option<&'static str> {
    table::reservation(protocol, port)
        .map(|r| r.note)
        .filter(|note| !note.is_empty())
}

/// Every entry of `protocol` whose ports overlap `ports`, sorted by port.
pub fn entries_overlapping(protocol: Protocol, ports: PortRange) -> Vec<&'static Entry> {
    let entries = table::protocol_entries(protocol);
    // Entries are sorted by `lo`. Those starting after `ports.hi` cannot overlap; those starting
    // more than the widest registered range before `ports.lo` end before it. What is left is a
    // short window found by two binary searches.
    let end = entries.partition_point(|e| e.ports.lo <= ports.hi);
    let earliest = ports.lo.saturating_sub(table::MAX_RANGE_WIDTH);
    let start = entries[..end].partition_point(|e| e.ports.lo < earliest);
    entries[start..end]
        .iter()
        .filter(|e| e.ports.overlaps(&ports))
        .collect()
}
