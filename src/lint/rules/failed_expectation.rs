//! `failed-expectation`: an `expect` statement does not hold for its chain.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{chain_name, statement_text};
use crate::lint::LintContext;
use crate::model::compare::Decider;
use crate::model::expect::{self, Failure};
use crate::model::{Chain, ExpectKind, Expectation, Family, Packet, RuleOrigin};

crate::declare_lint! {
    /// An `expect` statement does not hold: some of the traffic it describes is decided otherwise.
    ///
    /// ## What it does
    /// Proves each `expect` of a chain against the chain's rules, exactly, for every packet of
    /// the traffic it describes (its services, from its sources to its destinations, on its
    /// interfaces, or on every interface but the loopback when it names none):
    ///
    /// - `expect open`: every packet is accepted, also by a flood: no rate limit on the accepting
    ///   rule, and no rate-limited refusal before it;
    /// - `expect closed`: no packet is accepted, not even under a rate limit;
    /// - `expect limited`: every packet is accepted while under a rate limit, and refused over it.
    ///
    /// Traffic that is partly accepted fails `open` and `closed` alike. The finding sits at the
    /// expectation, names a packet for which it fails and the rule (or the chain's default) that
    /// decides that packet, and gives the `portcullis explain` command that shows it. An
    /// expectation that describes no packet at all (IPv4 sources with IPv6 destinations, ICMP
    /// between IPv6 addresses) proves nothing and is reported too. Rules are
    /// evaluated as the compiled ruleset has them, the baseline first. An expectation with a name
    /// that does not resolve is not judged (the name is reported).
    ///
    /// ## Why it matters
    /// Expectations write down what must survive every later edit: "postgres is never reachable
    /// from outside", "ssh stays open from the admins". A rule added above, a net that grows, an
    /// include that changes: any of them can break one without touching the line it is about.
    /// `check` in pre-commit and CI catches that before it is deployed.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh from admins limit 10/minute
    ///   allow postgresql
    ///   expect open ssh from admins
    ///   expect closed postgresql from any
    /// }
    /// ```
    ///
    /// ## Fix
    /// Change the rules so that the traffic is decided as expected (a rule above the one that
    /// decides the example packet), or, when the expectation itself is wrong, correct it.
    pub static FAILED_EXPECTATION = {
        name: "failed-expectation",
        code: "PC309",
        category: Exposure,
        default_level: Error,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for (host, chain) in ctx.chains() {
        for expectation in &chain.expectations {
            if expectation.resolved && !describes_a_packet(expectation) {
                out.push(
                    Diagnostic::new(
                        &FAILED_EXPECTATION,
                        expectation.span,
                        format!(
                            "`{}` describes no packet, so it proves nothing",
                            statement_text(ctx.sources, expectation.span)
                        ),
                    )
                    .label("no address family has both its sources, its destinations and its traffic")
                    .help("give sources and destinations of one family (IPv4 or IPv6), and traffic sent over it"),
                );
                continue;
            }
            if let Some(failure) = expect::check(chain, expectation) {
                out.push(report(
                    ctx,
                    &chain_name(host, chain),
                    chain,
                    expectation,
                    &failure,
                ));
            }
        }
    }
}

/// Whether some packet fits the expectation: a family with sources, destinations and traffic.
fn describes_a_packet(expectation: &Expectation) -> bool {
    [Family::V4, Family::V6].into_iter().any(|family| {
        expectation.src.has(family)
            && expectation.dst.has(family)
            && expectation.traffic.matches_family(family)
    })
}

fn report(
    ctx: &LintContext,
    chain_text: &str,
    chain: &Chain,
    expectation: &Expectation,
    failure: &Failure,
) -> Diagnostic {
    let packet = packet_text(chain, &failure.packet, expectation);
    let what = statement_text(ctx.sources, expectation.span);
    let fate = fate(chain, failure.decider);
    let mut d = Diagnostic::new(
        &FAILED_EXPECTATION,
        expectation.span,
        format!("`{what}` does not hold in the {chain_text}: {packet} is {fate}"),
    )
    .label(match (expectation.kind, failure.partial) {
        (ExpectKind::Open, true) => "only part of this traffic is accepted",
        (ExpectKind::Open, false) => "none of this traffic is accepted as expected",
        (ExpectKind::Closed, true) => "part of this traffic is accepted",
        (ExpectKind::Closed, false) => "this traffic is accepted",
        (ExpectKind::Limited, true) => "only part of this traffic is rate-limited",
        (ExpectKind::Limited, false) => "this traffic is not accepted under a rate limit",
    });
    match failure.decider.rule {
        Some(i) => {
            let rule = &chain.rules[i];
            let who = match rule.origin {
                RuleOrigin::Written => "this rule decides it".to_string(),
                RuleOrigin::Baseline(part) => format!(
                    "{} decides it (`{}` in portcullis.yaml)",
                    part.describe(),
                    part.config_key()
                ),
                RuleOrigin::PortForward(_) => "this port forward's accept decides it".to_string(),
            };
            d = d.secondary(rule.span, who);
        }
        None => {
            d = d.secondary(chain.policy_span, "the chain's default decides it");
        }
    }
    if let Some(i) = failure.decider.limited {
        d = d.secondary(
            chain.rules[i].span,
            "this rate-limited rule decides it first, while under its rate",
        );
    }
    let file = ctx.sources.location(expectation.span).file;
    d.help(format!(
        "`portcullis explain {file} {packet_words}{chain_flag}` shows how it is decided",
        packet_words = explain_words(chain, &failure.packet),
        chain_flag = match chain.kind {
            crate::model::ChainKind::Input => String::new(),
            kind => format!(" --chain {kind}"),
        }
    ))
}

/// `denied by the input chain's default`, `accepted while under the rate limit of ..., then denied`.
fn fate(chain: &Chain, d: Decider) -> String {
    let steady = d.verdict(chain).past_tense();
    match d.limited {
        Some(i) => format!(
            "{} while under a rate limit, else {steady}",
            chain.rules[i].verdict.past_tense()
        ),
        None => steady.to_string(),
    }
}

/// The packet as `explain` reads it: its transport, `from`, `to` unless the input chain
/// cannot tell destinations apart (`explain` then takes the host's own address), and `on`.
fn explain_words(chain: &Chain, packet: &Packet) -> String {
    let mut words = format!("{} from {}", packet.transport, packet.src);
    let destinations_matter =
        chain.kind != crate::model::ChainKind::Input || chain.rules.iter().any(|r| !r.dst.is_any());
    if destinations_matter {
        words.push_str(&format!(" to {}", packet.dst));
    }
    if let Some(interface) = &packet.interface {
        words.push_str(&format!(" on {interface}"));
    }
    words
}

fn packet_text(chain: &Chain, packet: &Packet, expectation: &Expectation) -> String {
    let mut text = explain_words(chain, packet);
    if packet.interface.is_none() && expectation.interface.is_some() {
        text.push_str(" on another interface");
    }
    text
}
