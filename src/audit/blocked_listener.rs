//! `blocked-listener`: an undeclared listener on every address that the input chain closes.

use super::survey::Survey;
use crate::diagnostic::Diagnostic;
use crate::model::{ChainKind, Verdict};
use crate::rule::BLOCKED_LISTENER;

pub fn check(survey: &Survey, out: &mut Vec<Diagnostic>) {
    let host = survey.host;
    for (listener, seen) in survey.each() {
        if !listener.is_wildcard() || seen.undeclared.is_empty() || !seen.reach.is_empty() {
            continue;
        }
        let mut d = Diagnostic::new(
            &BLOCKED_LISTENER,
            host.span,
            format!(
                "{} listens on `{}/{}` at `{}`, but the input chain of host `{}` lets no connection to it in",
                listener.holder(),
                listener.protocol,
                listener.port,
                listener.address,
                host.display_name()
            ),
        )
        .label("no bind declares it");
        if let Some(chain) = host.chain(ChainKind::Input) {
            if chain.policy != Verdict::Accept {
                d = d.secondary(
                    chain.policy_span,
                    format!(
                        "connections to it fall through to this `{}`",
                        chain.policy.policy_word()
                    ),
                );
            }
        }
        let user = listener
            .user
            .as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default();
        out.push(d.help(format!(
            "if only programs on this host use it, make it listen on a loopback address; otherwise declare it (`bind {} on {} {}/{}{user}`)",
            listener.process_name(),
            listener.address,
            listener.protocol,
            listener.port
        )));
    }
}
