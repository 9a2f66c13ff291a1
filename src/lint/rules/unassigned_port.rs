//! `unassigned-port`: a named service on a port the IANA registry has not assigned.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;
use crate::model::{Origin, PortRange, Protocol, ServiceUse};
use crate::registry::{self, PortClass, PortStatus};

crate::declare_lint! {
    /// A user-defined service is on ports the IANA registry lists as unassigned or reserved.
    ///
    /// ## What it does
    /// Reports a port spec of a `service NAME = ...` definition when none of its ports is
    /// assigned to any service in the IANA registry: IANA lists them as unassigned, or keeps
    /// them reserved. Ports in the Dynamic range (49152-65535), which IANA never assigns, are
    /// left to `ephemeral-port`; whole protocols (`service x = udp`) claim no port and are not
    /// reported.
    ///
    /// ## Why it matters
    /// Nothing is wrong with a private service on an unassigned port, but nothing outside this
    /// policy documents what runs there: `portcullis lookup`, scanners and colleagues find no
    /// name for it, and IANA may later assign the port to something else. A reserved port is
    /// one IANA keeps out of general use.
    ///
    /// ## Example
    /// ```text
    /// service backup-agent = tcp/4
    /// ```
    ///
    /// ## Fix
    /// Usually nothing: say what the service is in a comment, and leave the finding at `info` or
    /// turn the rule off. If the service is published, register its port with IANA; if it
    /// implements a registered protocol, use that protocol's port.
    pub static UNASSIGNED_PORT = {
        name: "unassigned-port",
        code: "PC107",
        category: Ports,
        default_level: Info,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for def in &ctx.policy.services {
        for part in &def.parts {
            if let Some(d) = unassigned(&def.name, part) {
                out.push(d);
            }
        }
    }
}

fn unassigned(name: &str, part: &ServiceUse) -> Option<Diagnostic> {
    if part.origin != Origin::Spec {
        return None; // registry names and other definitions are documented elsewhere
    }
    let last_user = PortClass::User.range().hi;
    let mut protocol_ports: Option<(Protocol, PortRange)> = None;
    let (mut unassigned, mut reserved) = (false, false);
    for protocol in part.traffic.protocols() {
        let ports = part.traffic.of(protocol);
        if ports.is_full() {
            return None;
        }
        for &(lo, hi) in ports.ranges() {
            if lo > last_user {
                continue;
            }
            let hi = hi.min(last_user);
            for port in lo..=hi {
                match registry::by_port(protocol, port).status {
                    PortStatus::Assigned => return None,
                    PortStatus::Reserved => reserved = true,
                    PortStatus::Unassigned => unassigned = true,
                }
            }
            protocol_ports.get_or_insert((protocol, PortRange { lo, hi }));
        }
    }
    let (protocol, ports) = protocol_ports?;
    let status = match (unassigned, reserved) {
        (true, true) => "unassigned or reserved",
        (false, true) => "reserved",
        _ => "unassigned",
    };
    // IANA's note on a single reserved port says what it is kept for ("any private mail
    // system" on 24/tcp).
    let note = if ports.is_single() {
        registry::lookup(&format!("{protocol}/{}", ports.lo))
            .ok()
            .and_then(|r| r.status.first().and_then(|s| s.note))
    } else {
        None
    };
    let status_text = match note {
        Some(note) => format!("{status} ({note})"),
        None => status.to_string(),
    };
    let (plural, pronoun) = if ports.is_single() {
        ("", "it")
    } else {
        ("s", "them")
    };
    let message =
        format!("service `{name}` uses {protocol}/{ports}, which IANA lists as {status_text}");
    let help = format!(
        "fine for a private service, but nothing outside this policy documents the port{plural}: no registry, \
         scanner or colleague can tell what runs there{}; say what it is in a comment, or register the \
         port{plural} with IANA if the service is published",
        if reserved && !unassigned {
            ", and IANA keeps reserved ports out of general use".to_string()
        } else {
            format!(", and IANA may assign {pronoun} to another service later")
        }
    );
    Some(
        Diagnostic::new(&UNASSIGNED_PORT, part.span, message)
            .label(format!("{status} in the IANA registry"))
            .help(help),
    )
}

#[cfg(test)]
mod tests {
    use crate::pipeline::check_text;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        let checked = check_text("test.pcl", text);
        checked
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == "unassigned-port")
            .collect()
    }

    #[test]
    fn an_unassigned_port() {
        let found = findings("service backup-agent = tcp/4\n");
        assert_eq!(found.len(), 1);
        assert_eq!(
            &*found[0].message,
            "service `backup-agent` uses tcp/4, which IANA lists as unassigned"
        );
    }

    #[test]
    fn a_reserved_port_with_its_note() {
        let found = findings("service relay = tcp/24\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("reserved (any private mail system)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_range_is_reported_only_when_no_port_is_assigned() {
        assert_eq!(findings("service game = udp/27015-27030\n").len(), 1);
        assert!(findings("service metrics = tcp/9100-9110\n").is_empty());
    }

    #[test]
    fn assigned_dynamic_and_whole_protocol_ports_are_not_reported() {
        for text in [
            "service app = tcp/8080\n",
            "service web = http\n",
            "service high = tcp/50000\n",
            "service everything = udp\n",
        ] {
            assert!(findings(text).is_empty(), "{text}: {:?}", findings(text));
        }
    }
}
