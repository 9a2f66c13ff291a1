//! What a packet carries above IP, as far as a rule can tell: a transport protocol and port, an
//! ICMP or ICMPv6 type, or the number of another IP protocol.

use std::fmt;

use super::{icmp, ip_protocol, Family, Protocol};

/// The part of a packet above IP that rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP, UDP, SCTP or DCCP to a destination port.
    Port(Protocol, u16),
    /// An ICMP message of a type (IPv4 only).
    Icmp(u8),
    /// An ICMPv6 message of a type (IPv6 only).
    Icmpv6(u8),
    /// Another IP protocol, by number (never one of the six above).
    Other(u8),
}

/// [`Transport`]s grouped by what their value is: the four protocols' ports, ICMP types, ICMPv6
/// types, other protocols' numbers. Analyses keep one table per slot.
pub const SLOTS: usize = 7;
pub const SLOT_ICMP: usize = 4;
pub const SLOT_ICMPV6: usize = 5;
pub const SLOT_OTHER: usize = 6;

impl Transport {
    /// A packet of an IP protocol, by number; `value` is the port or the ICMP type where the
    /// protocol has one.
    pub fn of_protocol(number: u8, value: u16) -> Transport {
        match (number, ip_protocol::ported(number)) {
            (_, Some(protocol)) => Transport::Port(protocol, value),
            (ip_protocol::ICMP, _) => Transport::Icmp(value as u8),
            (ip_protocol::ICMPV6, _) => Transport::Icmpv6(value as u8),
            _ => Transport::Other(number),
        }
    }

    /// The slot and the value within it.
    pub fn slot(self) -> (usize, u32) {
        match self {
            Transport::Port(p, port) => (p.index(), u32::from(port)),
            Transport::Icmp(t) => (SLOT_ICMP, u32::from(t)),
            Transport::Icmpv6(t) => (SLOT_ICMPV6, u32::from(t)),
            Transport::Other(n) => (SLOT_OTHER, u32::from(n)),
        }
    }

    /// The transport at `value` of `slot`.
    pub fn from_slot(slot: usize, value: u32) -> Transport {
        match slot {
            SLOT_ICMP => Transport::Icmp(value as u8),
            SLOT_ICMPV6 => Transport::Icmpv6(value as u8),
            SLOT_OTHER => Transport::Other(value as u8),
            _ => Transport::Port(Protocol::ALL[slot], value as u16),
        }
    }

    /// The IP protocol number.
    pub fn protocol_number(self) -> u8 {
        match self {
            Transport::Port(p, _) => ip_protocol::number(p),
            Transport::Icmp(_) => ip_protocol::ICMP,
            Transport::Icmpv6(_) => ip_protocol::ICMPV6,
            Transport::Other(n) => n,
        }
    }

    /// The only address family such packets exist in, for the ICMPs.
    pub fn family(self) -> Option<Family> {
        match self {
            Transport::Icmp(_) => Some(Family::V4),
            Transport::Icmpv6(_) => Some(Family::V6),
            _ => None,
        }
    }

    /// The transport protocol with ports, if it is one.
    pub fn ported(self) -> Option<Protocol> {
        match self {
            Transport::Port(p, _) => Some(p),
            _ => None,
        }
    }
}

/// `tcp/22`, `icmp/echo-request`, `icmpv6/135` (named where nftables names it), `gre`, `proto/253`.
impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Transport::Port(p, port) => write!(f, "{p}/{port}"),
            Transport::Icmp(t) => write!(f, "icmp/{}", icmp::type_text(Family::V4, t)),
            Transport::Icmpv6(t) => write!(f, "icmpv6/{}", icmp::type_text(Family::V6, t)),
            Transport::Other(n) => match ip_protocol::name(n) {
                Some(name) => f.write_str(name),
                None => write!(f, "proto/{n}"),
            },
        }
    }
}

/// Reads what [`Transport`]'s `Display` writes, and numbers for types and protocols: `tcp/22`,
/// `icmp/echo-request`, `icmpv6/135`, `gre`, `proto/47`. The error is a message for the user.
impl std::str::FromStr for Transport {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (head, tail) = match text.split_once('/') {
            Some((head, tail)) => (head, Some(tail)),
            None => (text, None),
        };
        let lower = head.to_ascii_lowercase();
        if let Ok(protocol) = lower.parse::<Protocol>() {
            let tail = tail
                .ok_or_else(|| format!("a {protocol} packet needs a port: `{protocol}/{}`", 443))?;
            let port: u16 = tail
                .parse()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("`{tail}` is not a port (1-65535)"))?;
            return Ok(Transport::Port(protocol, port));
        }
        for family in [Family::V4, Family::V6] {
            if lower != icmp::keyword(family) {
                continue;
            }
            let keyword = icmp::keyword(family);
            let tail = tail.ok_or_else(|| {
                format!("an {keyword} packet needs a type: `{keyword}/echo-request`")
            })?;
            let number = icmp::parse_type(family, tail).ok_or_else(|| {
                format!("`{tail}` is not an {keyword} type: write a name such as `echo-request`, or a number from 0 to 255")
            })?;
            return Ok(match family {
                Family::V4 => Transport::Icmp(number),
                Family::V6 => Transport::Icmpv6(number),
            });
        }
        let number = match (lower.as_str(), tail) {
            ("proto", Some(tail)) => tail
                .parse::<u8>()
                .ok()
                .or_else(|| ip_protocol::by_name(tail))
                .ok_or_else(|| format!("`{tail}` is not an IP protocol number (0-255)"))?,
            (name, None) => ip_protocol::by_name(name).ok_or_else(|| {
                format!("`{text}` is not a protocol and port; write e.g. `tcp/443`, `udp/53`, `icmp/echo-request`, `gre` or `proto/47`")
            })?,
            _ => {
                return Err(format!(
                    "`{text}` is not a protocol and port; write e.g. `tcp/443`, `udp/53`, `icmp/echo-request`, `gre` or `proto/47`"
                ))
            }
        };
        if number == ip_protocol::ICMP
            || number == ip_protocol::ICMPV6
            || ip_protocol::ported(number).is_some()
        {
            let name = ip_protocol::name(number).unwrap_or("the protocol");
            return Err(format!(
                "`{text}` needs a port or a type: write it as `{name}/...`"
            ));
        }
        Ok(Transport::Other(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip() {
        for t in [
            Transport::Port(Protocol::Sctp, 9),
            Transport::Icmp(8),
            Transport::Icmpv6(135),
            Transport::Other(47),
        ] {
            let (slot, value) = t.slot();
            assert_eq!(Transport::from_slot(slot, value), t);
            assert_eq!(Transport::of_protocol(t.protocol_number(), value as u16), t);
        }
        assert_eq!(Transport::Other(47).to_string(), "gre");
        assert_eq!(Transport::Other(253).to_string(), "proto/253");
        assert_eq!(
            Transport::Icmpv6(135).to_string(),
            "icmpv6/nd-neighbor-solicit"
        );
    }

    #[test]
    fn parses_what_it_writes() {
        for text in [
            "tcp/22",
            "icmp/echo-request",
            "icmpv6/nd-neighbor-solicit",
            "gre",
            "proto/253",
        ] {
            assert_eq!(text.parse::<Transport>().unwrap().to_string(), text);
        }
        assert_eq!("TCP/22".parse(), Ok(Transport::Port(Protocol::Tcp, 22)));
        assert_eq!("proto/50".parse(), Ok(Transport::Other(50)));
        assert_eq!("icmp/8".parse(), Ok(Transport::Icmp(8)));
        for bad in [
            "tcp",
            "tcp/0",
            "icmp",
            "icmp/nope",
            "proto/6",
            "from",
            "8080",
            "proto/300",
        ] {
            assert!(bad.parse::<Transport>().is_err(), "{bad}");
        }
    }
}
