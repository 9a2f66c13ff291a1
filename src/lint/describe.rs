//! Short descriptions of policy parts for messages.

use crate::model::{Chain, Host, Packet, Rule};
use crate::source::Sources;

/// The rule as written, on one line: `allow ssh from admins`.
pub fn rule_text(sources: &Sources, rule: &Rule) -> String {
    let text = sources.text(rule.span);
    let mut joined = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    // (No more characters than bytes: most rules are shorter than the limit in bytes already.)
    if joined.len() > 60 && joined.chars().count() > 60 {
        let cut: String = joined.chars().take(57).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

/// `input chain of host web-1`, or `input chain` for an unnamed host.
pub fn chain_name(host: &Host, chain: &Chain) -> String {
    match &host.name {
        Some(name) => format!("{} chain of host `{name}`", chain.kind),
        None => format!("{} chain", chain.kind),
    }
}

/// A packet for an example, leaving out the parts neither rule cares about.
pub fn packet_example(packet: &Packet, rules: &[&Rule]) -> String {
    let mut out = packet.transport.to_string();
    if rules.iter().any(|r| !r.src.is_any()) {
        out.push_str(&format!(" from {}", packet.src));
    }
    if rules.iter().any(|r| !r.dst.is_any()) {
        out.push_str(&format!(" to {}", packet.dst));
    }
    if rules.iter().any(|r| r.interface.is_some()) {
        match &packet.interface {
            Some(i) => out.push_str(&format!(" on {i}")),
            None => out.push_str(" on another interface"),
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A traffic set as `tcp/80,443 and udp/443`.
pub fn traffic_list(traffic: &crate::model::Traffic) -> String {
    join_and(&traffic.per_protocol())
}
