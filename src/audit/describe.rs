//! The words `audit`'s findings share: sets of sources, and the rules that let a listener in.

use crate::diagnostic::Diagnostic;
use crate::model::{AddrSet, ChainKind, Host, Reach, RuleOrigin};

/// How many rules that let a listener in are pointed at; the message says how many more.
const SHOWN_RULES: usize = 3;

/// `any address`, `any IPv4 address`, or the prefixes of the set in backticks.
pub fn sources_text(sources: &AddrSet) -> String {
    if sources.is_any() {
        "any address".to_string()
    } else if sources.v4.is_full() && sources.v6.is_empty() {
        "any IPv4 address".to_string()
    } else if sources.v6.is_full() && sources.v4.is_empty() {
        "any IPv6 address".to_string()
    } else {
        format!("`{sources}`")
    }
}

/// Points `d` at what lets the connections of `reach` in: the rules of the host's input chain
/// (the first few), or its `accept` default.
pub fn point_at_accepts(mut d: Diagnostic, host: &Host, reach: &Reach) -> Diagnostic {
    let Some(chain) = host.chain(ChainKind::Input) else {
        return d;
    };
    for accept in reach.accepted_by.iter().take(SHOWN_RULES) {
        d = match accept {
            Some(i) => {
                let rule = &chain.rules[*i];
                let message = match rule.origin {
                    RuleOrigin::Baseline(part) => format!("{} lets it in", part.describe()),
                    _ => "lets it in".to_string(),
                };
                d.secondary(rule.span, message)
            }
            None => d.secondary(chain.policy_span, "this `accept` default lets it in"),
        };
    }
    d
}

/// Nothing, or for a host without an input chain, that it lets every connection in.
pub fn how_in(host: &Host) -> &'static str {
    if host.chain(ChainKind::Input).is_some() {
        ""
    } else {
        " (the host has no input chain, which lets every connection in)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_families_are_named() {
        assert_eq!(sources_text(&AddrSet::any()), "any address");
        let v4 = AddrSet {
            v6: crate::model::IntervalSet::empty(),
            ..AddrSet::any()
        };
        assert_eq!(sources_text(&v4), "any IPv4 address");
        let net = AddrSet::prefix("192.0.2.0/24".parse().unwrap());
        assert_eq!(sources_text(&net), "`192.0.2.0/24`");
    }
}
