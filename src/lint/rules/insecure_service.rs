//! `insecure-service`: a plaintext or legacy service is allowed in.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;
use crate::model::{Origin, PortRange, Protocol, Traffic};

use crate::lint::exposure::{admitted_services, loopback_only, Probe};

crate::declare_lint! {
    /// A plaintext or legacy service, such as telnet or ftp, is allowed in.
    ///
    /// ## What it does
    /// Reports an `allow` in an `input` or `forward` chain that lets in a port of a service that
    /// sends passwords or data in clear text, or trusts the client blindly, and a `forward-port`
    /// to one. Services are recognised by protocol and port, whatever the rule calls them:
    /// `allow tcp/23` is telnet as much as `allow telnet` is. The services are:
    ///
    /// | service | port | use instead |
    /// | --- | --- | --- |
    /// | ftp | tcp/21 | sftp or ftps |
    /// | telnet | tcp/23 | ssh |
    /// | tftp | udp/69 | sftp or https |
    /// | finger | tcp/79 | nothing |
    /// | pop3 | tcp/110 | pop3s (tcp/995) |
    /// | imap | tcp/143 | imaps (tcp/993) |
    /// | snmp v1/v2c, traps | udp/161-162 | SNMPv3 with authPriv |
    /// | rexec, rlogin, rsh | tcp/512, 513, 514 | ssh |
    /// | rsync daemon | tcp/873 | rsync over ssh |
    /// | vnc | tcp/5900-5909 | vnc tunnelled through ssh |
    /// | x11 | tcp/6000-6063 | ssh X11 forwarding |
    ///
    /// Only rules that really let such a port in are reported: `allow tcp/1-1024` after
    /// `deny telnet` is reported for ftp but not for telnet. Rules that allow a whole protocol
    /// (`allow tcp`, or no service at all) are left to `any-port-open` and `broad-protocol`, and
    /// rules on the loopback interface (`on lo`) to nobody. A source restriction does not make a
    /// plaintext protocol safe, so rules with `from` are reported too.
    ///
    /// ## Why it matters
    /// Anyone on the path reads the passwords and the data of these protocols, and several of
    /// them (rsh, rlogin, finger, tftp, x11) let a client in with no password at all. Each has a
    /// replacement that encrypts.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh from admins
    ///   allow telnet from admins
    ///   allow tcp/110
    /// }
    /// ```
    ///
    /// ## Fix
    /// Move the service to its secure replacement and delete the allow. SNMP v1/v2c and SNMPv3
    /// share a port: once the agent only speaks SNMPv3 with authPriv, suppress the finding with
    /// `# portcullis: ignore[insecure-service]`.
    pub static INSECURE_SERVICE = {
        name: "insecure-service",
        code: "PC301",
        category: Exposure,
        default_level: Warning,
    }
}

/// One insecure service: where it listens, what is wrong with it and what to do instead.
struct Insecure {
    name: &'static str,
    protocol: Protocol,
    ports: PortRange,
    /// Completes "which ...".
    risk: &'static str,
    /// An imperative fragment: "use ssh instead".
    fix: &'static str,
}

const fn entry(
    name: &'static str,
    protocol: Protocol,
    lo: u16,
    hi: u16,
    risk: &'static str,
    fix: &'static str,
) -> Insecure {
    Insecure {
        name,
        protocol,
        ports: PortRange { lo, hi },
        risk,
        fix,
    }
}

/// The insecure services, by port. Ports must not overlap (a unit test checks).
const INSECURE: &[Insecure] = &[
    entry("ftp", Protocol::Tcp, 21, 21, "sends passwords and files in clear text", "use sftp (part of ssh) or ftps instead"),
    entry("telnet", Protocol::Tcp, 23, 23, "sends passwords and whole sessions in clear text", "use ssh instead"),
    entry("tftp", Protocol::Udp, 69, 69, "hands out files to anyone, with no password and no encryption", "use sftp or https instead, or allow tftp only from the network that boots from it"),
    entry("finger", Protocol::Tcp, 79, 79, "tells anyone which users exist and when they log in", "turn the finger daemon off"),
    entry("pop3", Protocol::Tcp, 110, 110, "sends mail passwords and messages in clear text", "use pop3s (tcp/995) instead"),
    entry("imap", Protocol::Tcp, 143, 143, "sends mail passwords and messages in clear text", "use imaps (tcp/993) instead"),
    entry("snmp", Protocol::Udp, 161, 162, "authenticates with a community string sent in clear text in versions 1 and 2c", "use SNMPv3 with authPriv, and suppress this finding once the agent speaks nothing else"),
    entry("rexec", Protocol::Tcp, 512, 512, "sends passwords in clear text", "use ssh instead"),
    entry("rlogin", Protocol::Tcp, 513, 513, "trusts the client's host name and sends sessions in clear text", "use ssh instead"),
    entry("rsh", Protocol::Tcp, 514, 514, "trusts the client's host name and runs commands without encryption", "use ssh instead"),
    entry("rsync", Protocol::Tcp, 873, 873, "sends files in clear text and authenticates weakly when run as a daemon", "use rsync over ssh instead"),
    entry("vnc", Protocol::Tcp, 5900, 5909, "sends the screen and keystrokes unencrypted and guards them with at most 8 password characters", "tunnel vnc through ssh (`ssh -L 5900:localhost:5900`) instead"),
    entry("x11", Protocol::Tcp, 6000, 6063, "lets whoever connects read keystrokes and draw on the screen", "use ssh X11 forwarding (`ssh -X`) instead"),
];

impl Insecure {
    fn traffic(&self) -> Traffic {
        Traffic::ports(self.protocol, self.ports)
    }

    /// `` `telnet` (tcp/23) ``
    fn describe(&self) -> String {
        format!("`{}` ({}/{})", self.name, self.protocol, self.ports)
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let probes: Vec<Probe> = INSECURE
        .iter()
        .map(|s| Probe::traffic(s.traffic()))
        .collect();
    let candidate = |rule: &crate::model::Rule| !rule.services.is_empty() && !loopback_only(rule);
    for (_, chain) in ctx.chains() {
        // (rule, service reference) -> insecure services it lets in, in table order.
        for ((index, u), entries) in admitted_services(chain, &probes, candidate) {
            let rule = &chain.rules[index];
            let service = &rule.services[u];
            let what = format!("`{}`", rule_text(ctx.sources, rule));
            let d = report_at(
                service.span,
                &what,
                "admits",
                &entries,
                &format!("take `{}` out of this rule", service.text),
            );
            out.push(match service.origin {
                Origin::Policy(definition) => {
                    d.secondary(definition, format!("`{}` is defined here", service.text))
                }
                _ => d,
            });
        }
    }
    for host in &ctx.policy.hosts {
        for forward in &host.forwards {
            let ports = forward.target_port.map_or(forward.ports, PortRange::single);
            let traffic = Traffic::ports(forward.protocol, ports);
            let entries: Vec<usize> = (0..INSECURE.len())
                .filter(|&k| probes[k].traffic.intersects(&traffic))
                .collect();
            if entries.is_empty() {
                continue;
            }
            let text = ctx
                .sources
                .text(forward.span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            out.push(report_at(
                forward.span,
                &format!("`{text}`"),
                "forwards",
                &entries,
                "remove this forward",
            ));
        }
    }
}

/// The finding for a rule's service reference or a forward; `remove` ends the help.
fn report_at(
    span: crate::source::Span,
    what: &str,
    verb: &str,
    entries: &[usize],
    remove: &str,
) -> Diagnostic {
    match entries {
        [k] => {
            let entry = &INSECURE[*k];
            Diagnostic::new(
                &INSECURE_SERVICE,
                span,
                format!("{what} {verb} {}, which {}", entry.describe(), entry.risk),
            )
            .label(format!("{} is not encrypted", entry.describe()))
            .help(format!("{}, and {remove}", entry.fix))
        }
        _ => {
            let names: Vec<String> = entries.iter().map(|&k| INSECURE[k].describe()).collect();
            let fixes: Vec<String> = entries
                .iter()
                .map(|&k| format!("for `{}`, {}", INSECURE[k].name, INSECURE[k].fix))
                .collect();
            Diagnostic::new(
                &INSECURE_SERVICE,
                span,
                format!(
                    "{what} {verb} {} services that are not encrypted: {}",
                    entries.len(),
                    names.join(", ")
                ),
            )
            .label(format!(
                "includes {} plaintext or legacy services",
                entries.len()
            ))
            .help(format!(
                "narrow it to the ports the host really serves; {}",
                fixes.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, INSECURE_SERVICE.name)
    }

    #[test]
    fn the_table_has_no_overlapping_ports() {
        for (i, a) in INSECURE.iter().enumerate() {
            for b in &INSECURE[i + 1..] {
                assert!(
                    !a.traffic().intersects(&b.traffic()),
                    "{} and {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn ports_are_matched_whatever_the_name() {
        let found = findings("input drop {\n  allow tcp/23 from 10.0.0.0/8\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`telnet` (tcp/23)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_denied_port_inside_a_range_is_not_reported() {
        let found = findings("input drop {\n  deny telnet\n  allow tcp/20-25\n}\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`ftp`"), "{}", found[0].message);
        assert!(!found[0].message.contains("telnet"), "{}", found[0].message);
    }

    #[test]
    fn a_range_lists_every_service() {
        let found = findings("input drop {\n  allow tcp/1-1024\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("9 services"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn whole_protocols_output_chains_and_loopback_are_left_alone() {
        assert!(
            findings("input drop {\n  allow tcp from 10.0.0.0/8\n  allow tcp/1-65535\n}\n")
                .is_empty()
        );
        assert!(findings("output drop {\n  allow telnet\n}\n").is_empty());
        assert!(findings("input drop {\n  allow telnet on lo\n}\n").is_empty());
        assert!(findings("input drop {\n  allow udp/69 from any\n  deny tftp\n}\n").len() == 1);
    }

    #[test]
    fn snmp_is_udp_only() {
        assert!(findings("input drop {\n  allow tcp/161\n}\n").is_empty());
        assert_eq!(
            findings("input drop {\n  allow snmp from 10.0.0.0/8\n}\n").len(),
            1
        );
    }

    #[test]
    fn forwards_are_judged_by_the_port_they_reach() {
        let found = findings("forward-port tcp/2323 to 10.0.0.5:23\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(findings("forward-port tcp/23 to 10.0.0.5:2222\n").is_empty());
    }

    #[test]
    fn a_user_service_points_at_its_definition() {
        let found = findings("service legacy = tcp/23\ninput drop {\n  allow legacy\n}\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].secondary.len(), 1);
    }

    #[test]
    fn forward_chains_count() {
        assert_eq!(
            findings("forward drop {\n  allow pop3 to 10.0.0.5\n}\n").len(),
            1
        );
    }
}
