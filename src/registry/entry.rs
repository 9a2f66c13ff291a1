//! One registry record: a named service on a port or port range of one protocol.

use crate::model::{PortRange, Protocol};

/// A service the registry knows, on one protocol and port (or range, like `x11` on 6000-6063).
///
/// A name usually has several entries (one per protocol), and a port can carry several names:
/// IANA's first and last registration for it both stay, e.g. `http` and `www-http` on 80/tcp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Entry {
    pub name: &'static str,
    pub protocol: Protocol,
    pub ports: PortRange,
    pub description: &'static str,
    /// Where the entry comes from; see [`Source`].
    pub source: Source,
}

/// Where a registry entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The IANA Service Name and Transport Protocol Port Number Registry.
    Iana,
    /// Debian's netbase `/etc/services` only: a name systems know (`webmin`, `bgpd`) that IANA
    /// does not register on that port. It resolves like any name, but never makes a port
    /// [`Assigned`](super::PortStatus::Assigned).
    Netbase,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Iana => "iana",
            Source::Netbase => "netbase",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
