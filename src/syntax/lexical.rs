//! Small value checks shared by the text and YAML forms: ports, addresses, names, strings.
//!
//! The grammar only finds where a value is; these functions decide whether it is valid and say why
//! not. They return a [`ValueError`] without a span: the caller knows where the value came from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::model::{icmp, values, Family, PortRange};

/// Names of services, nets, hosts, processes and users.
pub(crate) const MAX_NAME_LEN: usize = 63;

/// Why a value is not valid: the same type the model's value checks return.
pub(crate) use crate::model::values::ValueProblem as ValueError;

/// A port number, 1 to 65535.
pub(crate) fn port(text: &str) -> Result<u16, ValueError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::new(format!("`{text}` is not a port number"))
            .help("a port is a number from 1 to 65535"));
    }
    let digits = text.trim_start_matches('0');
    if digits.is_empty() {
        return Err(ValueError::new("port 0 cannot be matched").help(
            "ports run from 1 to 65535; to match every port, write the protocol alone: `tcp`",
        ));
    }
    match digits.parse::<u16>() {
        Ok(port) if digits.len() <= 5 => Ok(port),
        _ => Err(ValueError::new(format!("port `{text}` is above 65535"))
            .help("ports run from 1 to 65535")),
    }
}

/// A port or an inclusive range `lo-hi` with `lo <= hi`, from its already separated parts.
pub(crate) fn port_range(lo: &str, hi: Option<&str>) -> Result<PortRange, ValueError> {
    let lo_port = port(lo)?;
    let Some(hi) = hi else {
        return Ok(PortRange::single(lo_port));
    };
    let hi_port = port(hi).map_err(|e| e.at(lo.len() + 1..lo.len() + 1 + hi.len()))?;
    PortRange::new(lo_port, hi_port).ok_or_else(|| {
        ValueError::new(format!("the port range `{lo}-{hi}` is inverted"))
            .help(format!("write the lower port first: `{hi_port}-{lo_port}`"))
    })
}

/// An ICMP (IPv4) or ICMPv6 (IPv6) type: nft's name for it, or a number from 0 to 255.
pub(crate) fn icmp_type(family: Family, text: &str) -> Result<u8, ValueError> {
    if let Some(number) = icmp::parse_type(family, text) {
        return Ok(number);
    }
    let keyword = icmp::keyword(family);
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            ValueError::new(format!("{keyword} type `{text}` is above 255"))
                .help("a type is a name such as `echo-request`, or a number from 0 to 255"),
        );
    }
    let mut error = ValueError::new(format!("unknown {keyword} type `{text}`"));
    let other = match family {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    };
    let closest = icmp::types(family)
        .iter()
        .map(|&(name, _)| (strsim::levenshtein(name, text), name))
        .min();
    error = if icmp::parse_type(other, text).is_some() {
        error.help(format!(
            "`{text}` is an {} type; {keyword} is {}'s",
            icmp::keyword(other),
            match family {
                Family::V4 => "IPv4",
                Family::V6 => "IPv6",
            }
        ))
    } else if let Some((distance, name)) = closest.filter(|&(d, _)| d <= 3) {
        let _ = distance;
        error.help(format!("did you mean `{name}`?"))
    } else {
        error.help(format!(
            "{keyword} types are named as nftables names them (`nft describe {keyword} type`), or numbered 0 to 255"
        ))
    };
    Err(error)
}

/// An IP protocol after `proto/`: a number from 0 to 255 or a protocol name.
pub(crate) fn ip_protocol(text: &str) -> Result<u8, ValueError> {
    if let Some(number) = crate::model::ip_protocol::by_name(text) {
        return Ok(number);
    }
    if let Some(protocol) = text
        .parse::<crate::model::Protocol>()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_lowercase()))
    {
        return Ok(crate::model::ip_protocol::number(protocol));
    }
    match text.parse::<u8>() {
        Ok(number) => Ok(number),
        Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => Err(ValueError::new(format!(
            "IP protocol `{text}` is above 255"
        ))
        .help("IP protocol numbers run from 0 to 255")),
        Err(_) => Err(
            ValueError::new(format!("unknown IP protocol `{text}`")).help(format!(
                "write its number (`proto/47`) or one of the names {}",
                crate::model::ip_protocol::NAMED
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ),
    }
}

/// An IPv4 or IPv6 address, no prefix length.
pub(crate) fn address(text: &str) -> Result<IpAddr, ValueError> {
    if text.contains('/') {
        return Err(
            ValueError::new(format!("`{text}` is a prefix, not a single address"))
                .help("write one address here, like `10.0.0.1` or `::1`"),
        );
    }
    text.parse::<IpAddr>().map_err(|_| bad_address(text))
}

/// An IPv4 address.
pub(crate) fn ipv4(text: &str) -> Result<Ipv4Addr, ValueError> {
    text.parse().map_err(|_| {
        ValueError::new(format!("`{text}` is not a valid IPv4 address"))
            .help("an IPv4 address is four numbers from 0 to 255, like `10.0.0.5`")
    })
}

/// An IPv6 address.
pub(crate) fn ipv6(text: &str) -> Result<Ipv6Addr, ValueError> {
    text.parse().map_err(|_| {
        ValueError::new(format!("`{text}` is not a valid IPv6 address"))
            .help("write an IPv6 address as in RFC 4291, like `2001:db8::5`")
    })
}

fn bad_address(text: &str) -> ValueError {
    let help = if text.contains(':') {
        "write an IPv6 address as in RFC 4291, like `2001:db8::1`"
    } else {
        "an IPv4 address is four numbers from 0 to 255, like `10.0.0.1`"
    };
    ValueError::new(format!("`{text}` is not a valid IP address")).help(help)
}

/// An address with an optional prefix length, host bits kept as written. A bare address is a
/// full-length prefix.
pub(crate) fn prefix(text: &str) -> Result<IpNet, ValueError> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| bad_address(addr_text).at(0..addr_text.len()))?;
    let max: u16 = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let len = match len_text {
        None => max as u8,
        Some(len_text) => {
            let at = addr_text.len() + 1..text.len();
            let len = if !len_text.is_empty() && len_text.bytes().all(|b| b.is_ascii_digit()) {
                len_text.parse::<u16>().ok()
            } else {
                None
            };
            match len {
                Some(len) if len <= max => len as u8,
                _ => {
                    let family = if max == 32 { "IPv4" } else { "IPv6" };
                    return Err(ValueError::new(format!(
                        "`{len_text}` is not a valid {family} prefix length"
                    ))
                    .help(format!(
                        "an {family} prefix length is a number from 0 to {max}"
                    ))
                    .at(at));
                }
            }
        }
    };
    // Cannot fail: the length was checked against the family above.
    IpNet::new(addr, len).map_err(|_| bad_address(text))
}

/// A name: the grammar checked its characters, this checks its length.
pub(crate) fn name(text: &str) -> Result<(), ValueError> {
    if text.len() > MAX_NAME_LEN {
        return Err(ValueError::new(format!(
            "the name `{text}` is longer than {MAX_NAME_LEN} characters"
        )));
    }
    Ok(())
}

/// An interface name ([`values::check_interface`]).
pub(crate) fn interface(text: &str) -> Result<(), ValueError> {
    values::check_interface(text)
}

/// A log prefix ([`values::check_log_prefix`]).
pub(crate) fn log_prefix(text: &str) -> Result<(), ValueError> {
    values::check_log_prefix(text)
}

/// An include path: not empty, no control characters.
pub(crate) fn include_path(text: &str) -> Result<(), ValueError> {
    if text.is_empty() {
        return Err(ValueError::new("the include path is empty"));
    }
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| c.is_control()) {
        return Err(ValueError::new(format!(
            "an include path cannot contain the character {c:?}"
        ))
        .at(i..i + c.len_utf8()));
    }
    Ok(())
}

/// Decodes the inside of a double-quoted string: `\"`, `\\`, `\n` and `\t`.
pub(crate) fn unescape(inner: &str) -> Result<String, ValueError> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((j, other)) => {
                return Err(ValueError::new(format!("unknown escape `\\{other}`"))
                    .help("strings know the escapes `\\\"`, `\\\\`, `\\n` and `\\t`")
                    .at(i..j + other.len_utf8()));
            }
            None => {
                return Err(ValueError::new("a string cannot end with a lone `\\`").at(i..i + 1));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_run_from_one_to_65535() {
        assert_eq!(port("1"), Ok(1));
        assert_eq!(port("65535"), Ok(65535));
        assert_eq!(port("0022"), Ok(22));
        assert!(port("0").unwrap_err().message.contains("port 0"));
        assert!(port("000").is_err());
        assert!(port("65536").unwrap_err().message.contains("above 65535"));
        assert!(port("99999999999999999999").is_err());
        assert!(port("8o80").unwrap_err().message.contains("not a port"));
        assert!(port("").is_err());
    }

    #[test]
    fn ranges_must_not_be_inverted() {
        assert_eq!(
            port_range("80", Some("90")),
            Ok(PortRange::new(80, 90).unwrap())
        );
        assert_eq!(port_range("80", Some("80")), Ok(PortRange::single(80)));
        let err = port_range("8100", Some("8000")).unwrap_err();
        assert!(err.message.contains("inverted"));
        assert_eq!(
            err.help.as_deref(),
            Some("write the lower port first: `8000-8100`")
        );
        assert_eq!(port_range("1", Some("0")).unwrap_err().at, Some(2..3));
    }

    #[test]
    fn prefixes_keep_host_bits_and_check_lengths() {
        let net = prefix("10.0.0.1/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.1/8");
        assert_eq!(prefix("10.0.0.1").unwrap().prefix_len(), 32);
        assert_eq!(prefix("::1").unwrap().prefix_len(), 128);
        assert_eq!(prefix("2001:db8::/128").unwrap().prefix_len(), 128);
        assert_eq!(prefix("0.0.0.0/0").unwrap().prefix_len(), 0);
        assert_eq!(prefix("2001:db8::/129").unwrap_err().at, Some(11..14));
        assert!(prefix("10.0.0.0/33").is_err());
        assert!(prefix("10.0.0.0/").is_err());
        assert!(prefix("10.0.0.0/x").is_err());
        assert_eq!(prefix("10.0.0.256").unwrap_err().at, Some(0..10));
        assert!(prefix("1.2.3/24").is_err());
        assert!(prefix("010.0.0.1").is_err());
    }

    #[test]
    fn addresses_are_single() {
        assert!(address("0.0.0.0").is_ok());
        assert!(address("::").is_ok());
        assert!(address("10.0.0.0/8")
            .unwrap_err()
            .message
            .contains("prefix"));
        assert!(address("1.2.3").is_err());
        assert!(ipv4("::1").is_err());
        assert!(ipv6("10.0.0.1").is_err());
    }

    #[test]
    fn names_and_interfaces_have_length_limits() {
        assert!(name(&"a".repeat(63)).is_ok());
        assert!(name(&"a".repeat(64)).is_err());
        assert!(interface("eth0").is_ok());
        assert!(interface("abcdefghijklmno").is_ok());
        assert!(interface("abcdefghijklmnop").is_err());
        assert!(interface("..").is_err());
    }

    #[test]
    fn log_prefixes_are_printable_ascii() {
        assert!(log_prefix("ssh: ").is_ok());
        assert!(log_prefix(&"x".repeat(127)).is_ok());
        assert!(log_prefix(&"x".repeat(128)).is_err());
        assert_eq!(log_prefix("a\nb").unwrap_err().at, Some(1..2));
        assert!(log_prefix("é").is_err());
        assert!(log_prefix("say \"hi\"").is_err());
    }

    #[test]
    fn strings_decode_four_escapes() {
        assert_eq!(unescape(r#"a\"b\\c\nd\te"#).unwrap(), "a\"b\\c\nd\te");
        let err = unescape(r"ab\q").unwrap_err();
        assert_eq!(err.at, Some(2..4));
        assert!(unescape("x\\").is_err());
    }

    #[test]
    fn include_paths_have_no_control_characters() {
        assert!(include_path("common.pcl").is_ok());
        assert!(include_path("").is_err());
        assert!(include_path("a\nb").is_err());
    }
}
