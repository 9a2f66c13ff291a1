//! Short descriptions of policy parts for messages.

use crate::diagnostic::Text;
use crate::model::{Chain, Host, Packet, Rule, RuleOrigin};
use crate::source::{Sources, Span};

/// The rule as written, on one line: `allow ssh from admins`.
pub fn rule_text(sources: &Sources, rule: &Rule) -> String {
    statement_text(sources, rule.span)
}

/// A statement as written, on one line, cut at about 60 characters.
pub fn statement_text(sources: &Sources, span: Span) -> String {
    const LIMIT: usize = 60;
    let text = sources.text(span);
    // Only the words that can show are joined: a rule may list 100k ports, and one finding per
    // port must not cost the whole rule each time.
    let mut joined = String::with_capacity(LIMIT + 8);
    let mut chars = 0;
    let mut cut = false;
    for word in text.split_whitespace() {
        if chars > LIMIT {
            cut = true;
            break;
        }
        if !joined.is_empty() {
            joined.push(' ');
            chars += 1;
        }
        for c in word.chars().take(LIMIT + 1 - chars.min(LIMIT)) {
            joined.push(c);
            chars += 1;
        }
    }
    if cut || chars > LIMIT {
        let head: String = joined.chars().take(LIMIT - 3).collect();
        format!("{head}...")
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

/// Labels for earlier rules of `chain` (by index, in order) that decide packets of a later rule
/// first: a written rule gets `written(rule)` at its own place; the baseline and the port forwards'
/// accepts, which the policy does not write, get a label naming them, once per part. At most
/// `limit` labels.
pub fn earlier_labels(
    chain: &Chain,
    indices: &[usize],
    limit: usize,
    written: impl Fn(&Rule) -> Text,
) -> Vec<(Span, Text)> {
    let mut labels: Vec<(Span, Text)> = Vec::new();
    for &i in indices {
        let rule = &chain.rules[i];
        let label = match rule.origin {
            RuleOrigin::Written => written(rule),
            RuleOrigin::Baseline(part) => format!(
                "{} accepts it before any rule (`{}`)",
                part.describe(),
                part.config_key()
            )
            .into(),
            RuleOrigin::PortForward(_) => {
                "connections this `forward-port` translated are accepted first".into()
            }
        };
        if labels
            .iter()
            .any(|(span, l)| *span == rule.span && *l == label)
        {
            continue;
        }
        if labels.len() == limit {
            break;
        }
        labels.push((rule.span, label));
    }
    labels
}

/// Who decides first: `an earlier rule`, `earlier rules`, `the baseline`, `a port forward's
/// accept`, or those joined, for the rules of `chain` at `indices`; and whether a verb after it is
/// plural.
pub fn earlier_who(chain: &Chain, indices: &[usize]) -> (String, bool) {
    let origins = || indices.iter().map(|&i| chain.rules[i].origin);
    let written = origins().filter(|o| *o == RuleOrigin::Written).count();
    let mut who = Vec::new();
    if origins().any(|o| matches!(o, RuleOrigin::Baseline(_))) {
        who.push("the baseline".to_string());
    }
    if origins().any(|o| matches!(o, RuleOrigin::PortForward(_))) {
        who.push("a port forward's accept".to_string());
    }
    match written {
        0 => {}
        1 if who.is_empty() => who.push("an earlier rule".to_string()),
        _ => who.push("earlier rules".to_string()),
    }
    let plural = who.len() > 1 || written > 1;
    (join_and(&who), plural)
}

/// A verdict as a verb after its subject: `allows`, or `allow` after a plural.
pub fn verdict_verb(verdict: crate::model::Verdict, plural: bool) -> String {
    let word = verdict.rule_word();
    match (plural, word) {
        (true, word) => word.to_string(),
        (false, "deny") => "denies".to_string(),
        (false, word) => format!("{word}s"),
    }
}
