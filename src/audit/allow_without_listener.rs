//! `allow-without-listener`: an inbound allow for a port nothing listens on.

use super::survey::Survey;
use crate::diagnostic::Diagnostic;
use crate::model::{ChainKind, IntervalSet, Protocol, Transport, Verdict};
use crate::rule::ALLOW_WITHOUT_LISTENER;

pub fn check(survey: &Survey, out: &mut Vec<Diagnostic>) {
    let host = survey.host;
    let Some(chain) = host.chain(ChainKind::Input) else {
        return;
    };
    let on_loopback_only =
        |rule: &crate::model::Rule| rule.interface.as_ref().is_some_and(|i| i.is_only("lo"));
    for rule in &chain.rules {
        if !rule.is_written()
            || !rule.resolved
            || rule.verdict != Verdict::Accept
            || on_loopback_only(rule)
        {
            continue;
        }
        for service in &rule.services {
            let ports = service.traffic.only(&Protocol::ALL);
            let whole_protocol = Protocol::ALL
                .iter()
                .any(|&p| IntervalSet::range(1, u16::MAX).is_subset(service.traffic.of(p)));
            if ports.is_empty() || whole_protocol {
                continue;
            }
            let heard = survey.each().any(|(listener, seen)| {
                !seen.network.is_empty()
                    && ports.contains(Transport::Port(listener.protocol, listener.port))
            });
            if heard {
                continue;
            }
            let what = service.quoted_with(&ports);
            out.push(
                Diagnostic::new(
                    &ALLOW_WITHOUT_LISTENER,
                    service.span,
                    format!(
                        "{what} is allowed in, but nothing on host `{}` listens on it from the network",
                        host.display_name()
                    ),
                )
                .label("nothing listens on it")
                .help(format!(
                    "take `{}` out of this rule if nothing should answer there, or start what should",
                    service.text
                )),
            );
        }
    }
}
