//! ICMP and ICMPv6 message types by name, as nftables names them (`nft describe icmp type`), so
//! that a policy, `explain` and the generated ruleset use the same words.

use super::Family;

const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];

/// Another name nftables accepts for an ICMPv6 type.
const ICMPV6_ALIASES: &[(&str, u8)] = &[("mld-listener-reduction", 132)];

/// The named types of the family's ICMP: ICMP for IPv4, ICMPv6 for IPv6.
pub fn types(family: Family) -> &'static [(&'static str, u8)] {
    match family {
        Family::V4 => ICMP_TYPES,
        Family::V6 => ICMPV6_TYPES,
    }
}

/// A type by name or number (`echo-request`, `8`).
pub fn parse_type(family: Family, text: &str) -> Option<u8> {
    if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() && text.len() <= 3 {
        return text.parse().ok();
    }
    let aliases: &[(&str, u8)] = match family {
        Family::V4 => &[],
        Family::V6 => ICMPV6_ALIASES,
    };
    types(family)
        .iter()
        .chain(aliases)
        .find(|(name, _)| *name == text)
        .map(|&(_, number)| number)
}

/// The name of a type, if it has one.
pub fn type_name(family: Family, number: u8) -> Option<&'static str> {
    types(family)
        .iter()
        .find(|(_, n)| *n == number)
        .map(|&(name, _)| name)
}

/// A type as a policy writes it: its name, or its number when it has none.
pub fn type_text(family: Family, number: u8) -> String {
    type_name(family, number).map_or_else(|| number.to_string(), str::to_string)
}

/// The protocol's keyword: `icmp` or `icmpv6`.
pub fn keyword(family: Family) -> &'static str {
    match family {
        Family::V4 => "icmp",
        Family::V6 => "icmpv6",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_type(Family::V4, "echo-request"), Some(8));
        assert_eq!(parse_type(Family::V6, "echo-request"), Some(128));
        assert_eq!(parse_type(Family::V6, "mld-listener-reduction"), Some(132));
        assert_eq!(parse_type(Family::V4, "nd-neighbor-solicit"), None);
        assert_eq!(parse_type(Family::V4, "255"), Some(255));
        assert_eq!(parse_type(Family::V4, "256"), None);
        assert_eq!(type_text(Family::V6, 135), "nd-neighbor-solicit");
        assert_eq!(type_text(Family::V4, 200), "200");
    }
}
