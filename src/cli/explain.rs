//! `portcullis explain FILE [--host NAME] [--chain KIND] PROTO/PORT from ADDR [to ADDR] [on IFACE]`

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::arguments::{Arguments, ExplainArgs};
use super::error::CliError;
use super::output::{DataFormat, Outcome, Output};
use super::project;
use crate::model::ChainKind;
#[cfg(test)]
use crate::model::Protocol;
use crate::model::{Chain, Family, Packet, RuleOrigin, Transport};
use crate::source::{Sources, Span};

/// Parses `tcp/8080 from 10.10.0.5 to 192.0.2.1 on eth0`: the protocol (with its port or type)
/// and the `from`, `to` and `on` parts, in any order.
///
/// Which addresses are needed depends on the path: `from` for a packet to the host (its
/// destination is then one of the host's own), `to` for a packet the host sends (its source is
/// the host's), both for one passing through.
pub fn parse_packet(words: &[String], path: ChainKind) -> Result<Packet, String> {
    let mut words = words.iter().map(String::as_str);
    let mut transport: Option<Transport> = None;
    let mut src = None;
    let mut dst = None;
    let mut interface = None;
    while let Some(word) = words.next() {
        match word {
            "from" | "to" | "on" => {
                let value = words.next().ok_or_else(|| match word {
                    "on" => "`on` needs an interface name, e.g. `on eth0`".to_string(),
                    _ => format!("`{word}` needs an address, e.g. `{word} 192.0.2.10`"),
                })?;
                let given = match word {
                    "on" => interface.is_some(),
                    "from" => src.is_some(),
                    _ => dst.is_some(),
                };
                if given {
                    return Err(format!("`{word}` is given twice; a packet has one"));
                }
                if word == "on" {
                    interface = Some(value.to_string());
                    continue;
                }
                let addr: IpAddr = value.parse().map_err(|_| {
                    format!("`{value}` after `{word}` is not an IPv4 or IPv6 address")
                })?;
                if word == "from" {
                    src = Some(addr);
                } else {
                    dst = Some(addr);
                }
            }
            spec => {
                if let Some(first) = transport {
                    return Err(format!(
                        "`{spec}`: the packet already has its protocol, `{first}`; give `from ADDR`, `to ADDR` or `on IFACE` after it"
                    ));
                }
                // `icmp echo-request`, as in a policy, is `icmp/echo-request`.
                let joined;
                let spec = if matches!(spec, "icmp" | "icmpv6") {
                    match words.clone().next() {
                        Some(next) if !matches!(next, "from" | "to" | "on") => {
                            words.next();
                            joined = format!("{spec}/{next}");
                            joined.as_str()
                        }
                        _ => spec,
                    }
                } else {
                    spec
                };
                transport = Some(spec.parse()?);
            }
        }
    }
    let transport = transport.ok_or(
        "the packet needs a protocol: `tcp/8080`, `udp/53`, `icmp/echo-request`, `gre` or `proto/47`",
    )?;
    let unspecified = |other: IpAddr| match other {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    // The host's own address, where the path says it is one, is the unspecified address: no
    // rule's `to` (or `from` in output) names it.
    let (src, dst) =
        match (path, src, dst) {
            (ChainKind::Input, Some(src), dst) => (src, dst.unwrap_or(unspecified(src))),
            (ChainKind::Output, src, Some(dst)) => (src.unwrap_or(unspecified(dst)), dst),
            (ChainKind::Forward, Some(src), Some(dst)) => (src, dst),
            (ChainKind::Output, _, None) => {
                return Err("a packet the host sends needs a destination: `to ADDR`".to_string())
            }
            (ChainKind::Forward, _, _) => return Err(
                "a packet through the host needs a source and a destination: `from ADDR to ADDR`"
                    .to_string(),
            ),
            (ChainKind::Input, None, _) => {
                return Err("the packet needs a source: `from ADDR`".to_string())
            }
        };
    if src.is_ipv4() != dst.is_ipv4() {
        return Err("source and destination must both be IPv4 or both IPv6".to_string());
    }
    if let Some(family) = transport.family() {
        if family != Family::of(src) {
            let (other, keyword) = match family {
                Family::V4 => ("IPv6", "icmpv6"),
                Family::V6 => ("IPv4", "icmp"),
            };
            return Err(format!(
                "`{transport}` is not sent over {other}; for {other} write `{keyword}/...`"
            ));
        }
    }
    Ok(Packet {
        transport,
        src,
        dst,
        interface,
        translated: false,
    })
}

#[derive(Serialize)]
struct Explanation {
    host: Option<String>,
    /// The path the packet was asked about: `input`, `forward` or `output`.
    path: String,
    packet: String,
    /// The `forward-port` that translated the packet on arrival, or `null`.
    forward: Option<ForwardRef>,
    /// The chain that decides, after any translation.
    chain: String,
    verdict: &'static str,
    /// The deciding rule, or `null` when the chain's default decides (or there is no chain).
    rule: Option<RuleRef>,
    /// Rate-limited rules that decide first while under their rate.
    limited: Vec<RuleRef>,
    /// Source NATs that rewrite the packet's source on its way out.
    source_nat: Vec<Place>,
}

/// A statement of the policy: where it is and how it reads.
#[derive(Serialize)]
struct Place {
    file: String,
    line: usize,
    column: usize,
    text: String,
}

#[derive(Serialize)]
struct ForwardRef {
    #[serde(flatten)]
    place: Place,
    /// `192.168.1.30:443`, `[2001:db8::5]:443`.
    translated_to: String,
}

#[derive(Serialize)]
struct RuleRef {
    /// `rule` (written in the policy), `baseline` or `port-forward` (the forward chain's accept
    /// for the connections a `forward-port` translated).
    origin: &'static str,
    /// Where the rule is written; for the baseline, the chain it belongs to.
    #[serde(flatten)]
    place: Place,
    /// For the baseline: the key of portcullis.yaml that switches the part.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'static str>,
    verdict: &'static str,
}

fn place(sources: &Sources, span: Span) -> Place {
    let location = sources.location(span);
    Place {
        file: location.file,
        line: location.line,
        column: location.column,
        text: sources
            .text(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn rule_ref(sources: &Sources, chain: &Chain, index: usize) -> RuleRef {
    let rule = &chain.rules[index];
    let (origin, config, place) = match rule.origin {
        RuleOrigin::Written => ("rule", None, place(sources, rule.span)),
        RuleOrigin::Baseline(part) => {
            let mut at = place(sources, rule.span);
            at.text = part.describe().to_string();
            ("baseline", Some(part.config_key()), at)
        }
        RuleOrigin::PortForward(_) => {
            let mut at = place(sources, rule.span);
            at.text = "the accept for the connections this forward-port translated".to_string();
            ("port-forward", None, at)
        }
    };
    RuleRef {
        origin,
        place,
        config,
        verdict: rule.verdict.rule_word(),
    }
}

/// `192.168.1.30:443`, `[2001:db8::5]:443`.
fn socket_text(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The packet as a person reads it: an unspecified destination is "this host".
fn packet_text(packet: &Packet) -> String {
    let text = packet.to_string();
    if packet.dst.is_unspecified() {
        text.replacen(&format!(" to {}", packet.dst), " to this host", 1)
    } else {
        text
    }
}

fn rule_line(rule: &RuleRef) -> String {
    match rule.origin {
        "baseline" => format!(
            "{} (`{}`)",
            rule.place.text,
            rule.config.unwrap_or_default()
        ),
        _ => format!(
            "{}:{}:{}: {}",
            rule.place.file, rule.place.line, rule.place.column, rule.place.text
        ),
    }
}

pub fn run(cmd: &ExplainArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    let path = cmd.chain.kind();
    let packet = parse_packet(&cmd.packet, path)?;
    // The level flags are checked, but lint findings do not stop an explanation: a policy
    // that a lint refuses (a lock-out, a failed expectation) is exactly one to explain. Only a
    // policy that does not parse or resolve cannot be.
    project::level_flags(&cmd.levels)?;
    let checked = project::resolve(&cmd.file, &cmd.stdin, args)?;
    if checked.has_errors() {
        return Err(CliError::Usage(format!(
            "`{}` does not parse or resolve; run `portcullis check {}` first",
            project::anchor(&cmd.file, &cmd.stdin).display(),
            project::anchor(&cmd.file, &cmd.stdin).display()
        )));
    }
    let host = project::pick_host(&checked, cmd.host.as_deref())?;
    let sources = &checked.loaded.sources;
    let way = host.traverse(path, &packet);
    let chain = host.chain(way.chain);
    let forward = way.forward.map(|i| {
        let f = &host.forwards[i];
        let port = match way.packet.transport {
            crate::model::Transport::Port(_, port) => port,
            _ => 0,
        };
        ForwardRef {
            place: place(sources, f.span),
            translated_to: socket_text(f.target, port),
        }
    });
    let (rule, limited) = match (chain, &way.decision) {
        (Some(chain), Some(decision)) => (
            decision.rule.map(|i| rule_ref(sources, chain, i)),
            decision
                .limited
                .iter()
                .map(|&i| rule_ref(sources, chain, i))
                .collect(),
        ),
        _ => (None, Vec::new()),
    };
    let explanation = Explanation {
        host: host.name.clone(),
        path: path.to_string(),
        packet: packet_text(&packet),
        forward,
        chain: way.chain.to_string(),
        verdict: way.verdict().rule_word(),
        rule,
        limited,
        source_nat: way
            .source_nats
            .iter()
            .map(|&i| place(sources, host.source_nats[i].span))
            .collect(),
    };
    match cmd.format {
        DataFormat::Json => {
            let text = serde_json::to_string_pretty(&explanation)?;
            out.print(&text);
            out.print("\n");
        }
        _ => {
            let mut text = String::new();
            let mut seen = explanation.packet.clone();
            if let Some(forward) = &explanation.forward {
                text.push_str(&format!(
                    "{seen} prerouting: translated to {} by {}:{}:{}: {}\n",
                    forward.translated_to,
                    forward.place.file,
                    forward.place.line,
                    forward.place.column,
                    forward.place.text
                ));
                seen = packet_text(&way.packet);
            }
            let kind = way.chain;
            for limited in &explanation.limited {
                text.push_str(&format!(
                    "while under its rate limit: {} by {}\n",
                    limited.verdict,
                    rule_line(limited)
                ));
            }
            let prefix = if explanation.limited.is_empty() {
                ""
            } else {
                "over the limit: "
            };
            match (&explanation.rule, chain) {
                (Some(rule), _) => text.push_str(&format!(
                    "{prefix}{seen} {kind}: {} by {}\n",
                    rule.verdict,
                    rule_line(rule)
                )),
                (None, Some(chain)) => {
                    let location = sources.location(chain.policy_span);
                    let why = if explanation.limited.is_empty() {
                        "no rule matches"
                    } else {
                        "no other rule matches"
                    };
                    text.push_str(&format!(
                        "{prefix}{seen} {kind}: {} by the chain's default at {location} ({why})\n",
                        chain.policy.policy_word()
                    ));
                }
                (None, None) => text.push_str(&format!(
                    "{seen} {kind}: accept: host `{}` has no {kind} chain, so portcullis does not filter it\n",
                    host.display_name()
                )),
            }
            // Rules that name destinations (sources, going out) could not match the host's own
            // address the packet was given.
            let assumed = match path {
                ChainKind::Input if packet.dst.is_unspecified() => Some(("to", "destination")),
                ChainKind::Output if packet.src.is_unspecified() => Some(("from", "source")),
                _ => None,
            };
            if let (Some((word, what)), Some(chain)) = (assumed, host.chain(path)) {
                let named = chain.rules.iter().any(|r| {
                    r.is_written()
                        && if word == "to" {
                            !r.dst.is_any()
                        } else {
                            !r.src.is_any()
                        }
                });
                if named {
                    text.push_str(&format!(
                        "note: the {what} was taken to be an address of this host that no rule's `{word}` names; give `{word} ADDR` to ask about another\n"
                    ));
                }
            }
            for nat in &explanation.source_nat {
                text.push_str(&format!(
                    "leaving by the interface it names, its source address is rewritten by {}:{}:{}: {}\n",
                    nat.file, nat.line, nat.column, nat.text
                ));
            }
            out.print(&text);
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_packet_in(words: &[String]) -> Result<Packet, String> {
        parse_packet(words, ChainKind::Input)
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_a_full_packet() {
        let p = parse_packet_in(&words("tcp/8080 from 10.10.0.5 to 10.0.0.1 on eth0")).unwrap();
        assert_eq!(p.transport, Transport::Port(Protocol::Tcp, 8080));
        assert_eq!(p.interface.as_deref(), Some("eth0"));
    }

    #[test]
    fn rejects_what_is_not_a_packet() {
        assert!(parse_packet_in(&words("8080 from 10.0.0.1")).is_err());
        assert!(parse_packet_in(&words("tcp/0 from 10.0.0.1")).is_err());
        assert!(parse_packet_in(&words("tcp/22")).is_err());
        assert!(parse_packet_in(&words("tcp/22 from 10.0.0.1 to ::1")).is_err());
        assert!(parse_packet_in(&words("tcp/22 from 10.0.0.1 via x")).is_err());
        assert!(parse_packet_in(&words("icmpv6/echo-request from 10.0.0.1")).is_err());
    }

    #[test]
    fn parts_come_in_any_order() {
        let p = parse_packet_in(&words("from 1.2.3.4 tcp/22")).unwrap();
        assert_eq!(p.transport, Transport::Port(Protocol::Tcp, 22));
        let p = parse_packet_in(&words("from 2001:db8::1 icmpv6 echo-request")).unwrap();
        assert_eq!(p.transport, Transport::Icmpv6(128));
        let p = parse_packet_in(&words("esp from 192.0.2.1")).unwrap();
        assert_eq!(p.transport, Transport::Other(50));
        let e = parse_packet_in(&words("from 1.2.3.4 tcp/22 udp/53")).unwrap_err();
        assert!(e.contains("already has its protocol"), "{e}");
    }

    #[test]
    fn each_path_needs_its_addresses_once() {
        let out = parse_packet(&words("udp/53 to 192.0.2.53"), ChainKind::Output).unwrap();
        assert!(out.src.is_unspecified());
        assert!(parse_packet(&words("udp/53 from 192.0.2.53"), ChainKind::Output).is_err());
        assert!(parse_packet(&words("tcp/443 from 10.0.0.5"), ChainKind::Forward).is_err());
        assert!(parse_packet(
            &words("tcp/443 from 10.0.0.5 to 192.0.2.1"),
            ChainKind::Forward
        )
        .is_ok());
        let e = parse_packet_in(&words("tcp/22 from 10.0.0.1 on eth0 on eth1")).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        assert!(parse_packet_in(&words("tcp/22 from 10.0.0.1 from 10.0.0.2")).is_err());
    }
}
