//! `mismatched-listener`: a declared socket held by another process or user than its bind's.

use super::survey::Survey;
use crate::diagnostic::Diagnostic;
use crate::rule::MISMATCHED_LISTENER;

pub fn check(survey: &Survey, out: &mut Vec<Diagnostic>) {
    let host = survey.host;
    for (b, bind) in host.binds.iter().enumerate() {
        // (who holds it, what differs, the ports): one finding per holder of the bind's ports.
        let mut found: Vec<(String, Mismatch, Vec<String>)> = Vec::new();
        for (listener, seen) in survey.each() {
            if !seen.binds.contains(&b) || listener.is_socket_activated() {
                continue;
            }
            let process = !listener.processes.is_empty()
                && !listener.processes.iter().any(|p| p.is_named(&bind.process));
            let users = listener.users();
            let user = bind
                .user
                .as_deref()
                .is_some_and(|u| !users.is_empty() && !users.contains(&u));
            let mismatch = match (process, user) {
                (false, false) => continue,
                (true, false) => Mismatch::Process,
                (false, true) => Mismatch::User,
                (true, true) => Mismatch::Both,
            };
            let holder = listener.holder();
            let port = format!(
                "`{}/{}` at `{}`",
                listener.protocol, listener.port, listener.address
            );
            match found
                .iter_mut()
                .find(|(h, m, _)| *h == holder && *m == mismatch)
            {
                Some((_, _, ports)) => ports.push(port),
                None => found.push((holder, mismatch, vec![port])),
            }
        }
        for (holder, mismatch, ports) in found {
            let declared = match (&bind.user, mismatch) {
                (Some(user), Mismatch::User) => format!("`{}` as `{user}`", bind.process),
                (Some(user), Mismatch::Both) => format!("`{}` as `{user}`", bind.process),
                _ => format!("`{}`", bind.process),
            };
            let span = match (mismatch, bind.user_span) {
                (Mismatch::User, Some(span)) => span,
                _ => bind.span,
            };
            let label = match mismatch {
                Mismatch::Process => "another process listens here",
                Mismatch::User => "another user listens here",
                Mismatch::Both => "another process and user listen here",
            };
            out.push(
                Diagnostic::new(
                    &MISMATCHED_LISTENER,
                    span,
                    format!(
                        "{holder} listens on {}, which host `{}` declares for {declared}",
                        ports.join(", "),
                        host.display_name()
                    ),
                )
                .label(label)
                .help(
                    "find out what holds the port (`ss -tulpn`): start the declared service in its place, or correct the bind to name the process and user that serve there",
                ),
            );
        }
    }
}

/// What differs from the bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mismatch {
    Process,
    User,
    Both,
}
