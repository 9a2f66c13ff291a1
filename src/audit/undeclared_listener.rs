//! `undeclared-listener`: a listener the network reaches where no bind declares it.

use super::describe::{how_in, point_at_accepts, sources_text};
use super::survey::Survey;
use crate::diagnostic::Diagnostic;
use crate::rule::UNDECLARED_LISTENER;

pub fn check(survey: &Survey, out: &mut Vec<Diagnostic>) {
    let host = survey.host;
    for (listener, seen) in survey.each() {
        let reach = &seen.undeclared_reach;
        if reach.is_empty() {
            continue;
        }
        let wider = if seen.binds.is_empty() {
            String::new()
        } else {
            let declared: Vec<String> = seen
                .binds
                .iter()
                .map(|&b| format!("`{}`", host.binds[b].address))
                .collect();
            format!(
                " (its bind says {}; these are its other addresses)",
                declared.join(" and ")
            )
        };
        let d = Diagnostic::new(
            &UNDECLARED_LISTENER,
            host.span,
            format!(
                "{} listens on `{}/{}` at `{}`{}, reachable from {}{}{}, but no bind of host `{}` declares it",
                listener.holder(),
                listener.protocol,
                listener.port,
                listener.address,
                if seen.v6only { " (IPv6 only)" } else { "" },
                sources_text(&reach.sources),
                how_in(host),
                wider,
                host.display_name()
            ),
        )
        .label("no bind declares it");
        let address = if seen.binds.is_empty() {
            listener.address.to_string()
        } else {
            "ADDRESS".to_string()
        };
        let user = listener
            .user
            .as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default();
        out.push(point_at_accepts(d, host, reach).help(format!(
            "declare it if it belongs here (`bind {} on {address} {}/{}{user}`); otherwise stop it, make it listen on a loopback address, or close its port",
            listener.process_name(),
            listener.protocol,
            listener.port
        )));
    }
}
