//! IP protocols by number, and the names a policy may use for those without ports.
//!
//! The transport protocols with ports (`tcp`, `udp`, `sctp`, `dccp`) and the two ICMPs have
//! places of their own in [`super::Traffic`]; every other IP protocol is matched by its number
//! alone (`meta l4proto` in nftables, which looks past IPv6 extension headers).

use super::Protocol;

pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// The protocol number of a transport protocol with ports.
pub fn number(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
        Protocol::Dccp => 33,
    }
}

/// The transport protocol with ports that a protocol number stands for, if any.
pub fn ported(number: u8) -> Option<Protocol> {
    Protocol::ALL
        .into_iter()
        .find(|&p| self::number(p) == number)
}

/// Whether a protocol number has a place of its own in [`super::Traffic`] (ports or ICMP types)
/// rather than in its set of other protocols.
pub fn has_own_slot(number: u8) -> bool {
    number == ICMP || number == ICMPV6 || ported(number).is_some()
}

/// Protocols without ports that policies name, with their numbers (IANA's "Assigned Internet
/// Protocol Numbers"). `icmp` and `icmpv6` are here for `lookup` and for messages; as service
/// references they are parsed on their own, with a type.
pub const NAMED: &[(&str, u8)] = &[
    ("icmp", ICMP),
    ("igmp", 2),
    ("ipip", 4),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", ICMPV6),
    ("ospf", 89),
    ("pim", 103),
    ("vrrp", 112),
];

/// The number of a named protocol without ports.
pub fn by_name(name: &str) -> Option<u8> {
    NAMED.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The name of a protocol number, for messages: `gre`, `tcp`; `None` for unnamed numbers.
pub fn name(number: u8) -> Option<&'static str> {
    if let Some(p) = ported(number) {
        return Some(p.as_str());
    }
    NAMED.iter().find(|(_, v)| *v == number).map(|&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_agree() {
        for &(name, number) in NAMED {
            assert_eq!(by_name(name), Some(number));
            assert_eq!(super::name(number), Some(name));
        }
        assert_eq!(ported(6), Some(Protocol::Tcp));
        assert_eq!(super::name(132), Some("sctp"));
        assert!(has_own_slot(58) && has_own_slot(33) && !has_own_slot(47));
    }
}
