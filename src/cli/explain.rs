//! `portcullis explain FILE [--host NAME] [--chain KIND] PROTO/PORT from ADDR [to ADDR] [on IFACE]`

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::arguments::{Arguments, ExplainArgs};
use super::output::{Format, Outcome, Output};
use super::project;
use crate::model::{Chain, Packet, Protocol};
use crate::source::Sources;

/// Parses `tcp/8080 from 10.10.0.5 to 192.0.2.1 on eth0`.
pub fn parse_packet(words: &[String]) -> Result<Packet, String> {
    let mut words = words.iter().map(String::as_str);
    let spec = words
        .next()
        .ok_or("the packet needs a protocol and port, e.g. `tcp/8080`")?;
    let (protocol, port) =
        if spec.eq_ignore_ascii_case("other") || spec.eq_ignore_ascii_case("icmp") {
            (None, 0)
        } else {
            let (proto, port) = spec.split_once('/').ok_or_else(|| {
                format!("`{spec}` is not a protocol and port; write e.g. `tcp/{spec}`")
            })?;
            let protocol: Protocol = proto.parse().map_err(|_| {
                format!("unknown protocol `{proto}`: expected tcp, udp, sctp or dccp")
            })?;
            let port: u16 = port
                .parse()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("`{port}` is not a port (1-65535)"))?;
            (Some(protocol), port)
        };
    let mut src = None;
    let mut dst = None;
    let mut interface = None;
    while let Some(word) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("`{word}` needs a value"))?;
        match word {
            "from" | "to" => {
                let addr: IpAddr = value
                    .parse()
                    .map_err(|_| format!("`{value}` is not an IPv4 or IPv6 address"))?;
                if word == "from" {
                    src = Some(addr);
                } else {
                    dst = Some(addr);
                }
            }
            "on" => interface = Some(value.to_string()),
            other => {
                return Err(format!(
                    "unexpected `{other}`: expected `from ADDR`, `to ADDR` or `on IFACE`"
                ))
            }
        }
    }
    let src = src.ok_or("the packet needs a source: `from ADDR`")?;
    // Without `to`, an address of the source's family that no `to` names is assumed.
    let dst = dst.unwrap_or(match src {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    if src.is_ipv4() != dst.is_ipv4() {
        return Err("source and destination must both be IPv4 or both IPv6".to_string());
    }
    Ok(Packet {
        protocol,
        port,
        src,
        dst,
        interface,
    })
}

#[derive(Serialize)]
struct Explanation {
    host: Option<String>,
    chain: String,
    packet: String,
    verdict: &'static str,
    /// The deciding rule, or `null` when the chain's default decides.
    rule: Option<RuleRef>,
    /// Rate-limited rules that decide first while under their rate.
    limited: Vec<RuleRef>,
}

#[derive(Serialize)]
struct RuleRef {
    file: String,
    line: usize,
    column: usize,
    text: String,
    verdict: &'static str,
}

fn rule_ref(sources: &Sources, chain: &Chain, index: usize) -> RuleRef {
    let rule = &chain.rules[index];
    let location = sources.location(rule.span);
    RuleRef {
        file: location.file,
        line: location.line,
        column: location.column,
        text: sources
            .text(rule.span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        verdict: rule.verdict.rule_word(),
    }
}

pub fn run(cmd: &ExplainArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, String> {
    let packet = parse_packet(&cmd.packet)?;
    let (checked, _) = project::load(&cmd.file, args)?;
    if checked.has_errors() {
        return Err(format!(
            "`{}` has errors; run `portcullis check {}` first",
            cmd.file.display(),
            cmd.file.display()
        ));
    }
    let host = project::pick_host(&checked, cmd.host.as_deref())?;
    let kind = cmd.chain.kind();
    let chain = host.chain(kind).ok_or_else(|| {
        format!(
            "host `{}` has no {kind} chain: without one, portcullis adds no {kind} filtering",
            host.display_name()
        )
    })?;
    let sources = &checked.loaded.sources;
    let decision = chain.evaluate(&packet);
    let explanation = Explanation {
        host: host.name.clone(),
        chain: kind.to_string(),
        packet: packet.to_string(),
        verdict: decision.verdict.rule_word(),
        rule: decision.rule.map(|i| rule_ref(sources, chain, i)),
        limited: decision
            .limited
            .iter()
            .map(|&i| rule_ref(sources, chain, i))
            .collect(),
    };
    match cmd.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&explanation).map_err(|e| e.to_string())?;
            out.print(&text);
            out.print("\n");
        }
        _ => {
            let mut text = String::new();
            for limited in &explanation.limited {
                text.push_str(&format!(
                    "while under its rate limit: {} by {}:{}:{}: {}\n",
                    limited.verdict, limited.file, limited.line, limited.column, limited.text
                ));
            }
            let prefix = if explanation.limited.is_empty() {
                ""
            } else {
                "over the limit: "
            };
            match &explanation.rule {
                Some(rule) => text.push_str(&format!(
                    "{prefix}{} {}: {} by {}:{}:{}: {}\n",
                    explanation.packet,
                    kind,
                    rule.verdict,
                    rule.file,
                    rule.line,
                    rule.column,
                    rule.text
                )),
                None => {
                    let location = sources.location(chain.policy_span);
                    let why = if explanation.limited.is_empty() {
                        "no rule matches"
                    } else {
                        "no other rule matches"
                    };
                    text.push_str(&format!(
                        "{prefix}{} {}: {} by the chain's default at {location} ({why})\n",
                        explanation.packet,
                        kind,
                        chain.policy.policy_word()
                    ));
                }
            }
            out.print(&text);
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_a_full_packet() {
        let p = parse_packet(&words("tcp/8080 from 10.10.0.5 to 10.0.0.1 on eth0")).unwrap();
        assert_eq!(p.protocol, Some(Protocol::Tcp));
        assert_eq!(p.port, 8080);
        assert_eq!(p.interface.as_deref(), Some("eth0"));
    }

    #[test]
    fn rejects_what_is_not_a_packet() {
        assert!(parse_packet(&words("8080 from 10.0.0.1")).is_err());
        assert!(parse_packet(&words("tcp/0 from 10.0.0.1")).is_err());
        assert!(parse_packet(&words("tcp/22")).is_err());
        assert!(parse_packet(&words("tcp/22 from 10.0.0.1 to ::1")).is_err());
        assert!(parse_packet(&words("tcp/22 from 10.0.0.1 via x")).is_err());
    }
}
