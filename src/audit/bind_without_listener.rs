//! `bind-without-listener`: a service of a bind that nothing listens on.

use super::survey::{declares, Survey};
use crate::diagnostic::Diagnostic;
use crate::model::{Protocol, Transport};
use crate::rule::BIND_WITHOUT_LISTENER;

pub fn check(survey: &Survey, out: &mut Vec<Diagnostic>) {
    let host = survey.host;
    for bind in &host.binds {
        for service in &bind.services {
            let ports = service.traffic.only(&Protocol::ALL);
            if ports.is_empty() {
                continue;
            }
            let on_port = |listener: &super::Listener| {
                ports.contains(Transport::Port(listener.protocol, listener.port))
            };
            // A bind on a network address is not served by a listener on a loopback one.
            let heard = survey.each().any(|(listener, seen)| {
                let addresses = if bind.is_loopback() {
                    listener.addresses(seen.v6only)
                } else {
                    seen.network.clone()
                };
                on_port(listener) && declares(bind, listener, &addresses)
            });
            if heard {
                continue;
            }
            let elsewhere: Vec<String> = survey
                .listeners
                .iter()
                .filter(|l| on_port(l))
                .map(|l| match l.processes.first() {
                    Some(p) => format!("`{}` at `{}`", p.name, l.address),
                    None => format!("a process at `{}`", l.address),
                })
                .collect();
            let elsewhere = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(" (on its port: {})", elsewhere.join(", "))
            };
            let what = service.quoted_with(&ports);
            out.push(
                Diagnostic::new(
                    &BIND_WITHOUT_LISTENER,
                    service.span,
                    format!(
                        "`{}` is declared to listen on {what} at `{}`, but nothing on host `{}` listens there{elsewhere}",
                        bind.process,
                        bind.address,
                        host.display_name()
                    ),
                )
                .label("nothing listens here")
                .help(format!(
                    "start `{}` or make it listen at `{}`; if it no longer runs here, remove it from the bind",
                    bind.process, bind.address
                )),
            );
        }
    }
}
