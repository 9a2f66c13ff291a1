//! `allow-without-bind`: an inbound allow for a port nothing on the host listens on.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;
use crate::model::{ChainKind, Verdict};
use crate::model::{Host, Protocol, Rule, ServiceUse, Traffic};

use crate::lint::exposure::{admitted, covers_all_ports, loopback_only, Probe};

crate::declare_lint! {
    /// An input chain allows a port that nothing on the host listens on.
    ///
    /// ## What it does
    /// On a host that declares what listens where (at least one `bind`), reports each service
    /// of an `allow` in the `input` chain whose ports no `bind` of the host covers. A service
    /// bound only on a loopback address (`127.0.0.1`, `::1`) is reported too, with its own
    /// message: the network can never reach it, so the allow only opens a port in the
    /// firewall. Ports are compared by protocol and number; a service that shares one port
    /// with a bind is not reported, nor are allows of a whole protocol (`allow tcp`, or no
    /// service at all), allows on the loopback interface, or allows earlier rules decide
    /// entirely (`shadowed-rule` and `redundant-rule` report those). Hosts without binds are not
    /// checked: the policy does not say what runs there.
    ///
    /// ## Why it matters
    /// An allow without a listener is usually left over from a service that was removed or
    /// moved, or a typo for the port that was meant (`tcp/8433` for `tcp/8443`). It does nothing
    /// today, and lets in whatever starts listening on that port tomorrow.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx on 0.0.0.0 http, https as root
    ///   bind redis on 127.0.0.1 redis as redis
    ///   input drop {
    ///     allow http, https, tcp/8080
    ///     allow redis from app-servers
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Delete the service from the allow, or declare the `bind` that serves it. For ports a
    /// server opens on demand, such as an ftp server's passive range, add them to its bind:
    /// `bind vsftpd on 0.0.0.0 ftp, tcp/21100-21199 as root`.
    pub static ALLOW_WITHOUT_BIND = {
        name: "allow-without-bind",
        code: "PC308",
        category: Exposure,
        default_level: Info,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for (host, chain) in ctx.chains() {
        if chain.kind != ChainKind::Input || host.binds.is_empty() {
            continue;
        }
        let (network, loopback) = bound(host);
        // Only ports are listened on: ICMP and protocols without ports are the kernel's.
        let unbound = |service: &ServiceUse| {
            let ports = service.traffic.only(&Protocol::ALL);
            !ports.is_empty()
                && !ports.intersects(&network)
                && !Protocol::ALL
                    .iter()
                    .any(|&p| covers_all_ports(service.traffic.of(p)))
        };
        let candidate = |rule: &Rule| !loopback_only(rule) && rule.services.iter().any(&unbound);
        if !chain
            .rules
            .iter()
            .any(|r| r.resolved && r.verdict == Verdict::Accept && candidate(r))
        {
            continue;
        }
        // The allows that really let in some port no network bind covers; the others are
        // shadowed or redundant, which the coverage rules report.
        let nowhere = Probe::traffic(Traffic::all().only(&Protocol::ALL).difference(&network));
        let mut rules: Vec<usize> = admitted(chain, &[nowhere], candidate)
            .into_iter()
            .filter_map(|a| a.rule)
            .collect();
        rules.sort_unstable();
        rules.dedup();
        for index in rules {
            let rule = &chain.rules[index];
            for service in &rule.services {
                if !unbound(service) {
                    continue;
                }
                out.push(report(ctx, host, rule, service, &loopback));
            }
        }
    }
}

/// What a host's binds listen on: on network addresses, and on loopback addresses.
fn bound(host: &Host) -> (Traffic, Traffic) {
    host.binds.iter().fold(
        (Traffic::empty(), Traffic::empty()),
        |(network, loopback), bind| {
            if bind.is_loopback() {
                (network, loopback.union(&bind.traffic))
            } else {
                (network.union(&bind.traffic), loopback)
            }
        },
    )
}

/// The finding for a service an allow lets in that no network bind of the host covers;
/// `loopback` is what the host's loopback binds listen on.
fn report(
    ctx: &LintContext,
    host: &Host,
    rule: &Rule,
    service: &ServiceUse,
    loopback: &Traffic,
) -> Diagnostic {
    let ports = service.traffic.only(&Protocol::ALL).to_string();
    let what = if *service.text == *ports {
        format!("`{}`", service.text)
    } else {
        format!("`{}` ({ports})", service.text)
    };
    let text = rule_text(ctx.sources, rule);
    if service.traffic.intersects(loopback) {
        let mut d = Diagnostic::new(
            &ALLOW_WITHOUT_BIND,
            service.span,
            format!(
                "`{text}` lets {what} in, but on host `{}` it is only bound on loopback, which the network cannot reach",
                host.display_name()
            ),
        )
        .label("only a loopback address listens");
        for bind in host
            .binds
            .iter()
            .filter(|b| b.is_loopback() && b.traffic.intersects(&service.traffic))
            .take(3)
        {
            d = d.secondary(
                bind.address_span,
                format!("`{}` listens only here", bind.process),
            );
        }
        d.help(format!(
            "if the network should reach it, bind it to a network address; otherwise take `{}` out of this rule",
            service.text
        ))
    } else {
        Diagnostic::new(
            &ALLOW_WITHOUT_BIND,
            service.span,
            format!(
                "`{text}` lets {what} in, but nothing on host `{}` listens on it",
                host.display_name()
            ),
        )
        .label("no bind of this host covers it")
        .help(format!(
            "take `{}` out of this rule if nothing should answer there, or declare what does: `bind PROCESS on 0.0.0.0 {}`",
            service.text, service.text
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, ALLOW_WITHOUT_BIND.name)
    }

    const BINDS: &str =
        "bind nginx on 0.0.0.0 http, https as root\nbind redis on 127.0.0.1 redis as redis\n";

    #[test]
    fn an_allow_nothing_listens_on_is_reported() {
        let found = findings(&format!(
            "{BINDS}input drop {{\n  allow http, https, tcp/8080\n}}\n"
        ));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`tcp/8080`"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("nothing"), "{}", found[0].message);
    }

    #[test]
    fn a_loopback_only_bind_gets_its_own_message() {
        let found = findings(&format!(
            "{BINDS}input drop {{\n  allow redis from 10.0.0.0/8\n}}\n"
        ));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("loopback"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].secondary.len(), 1);
    }

    #[test]
    fn hosts_without_binds_whole_protocols_and_partial_overlaps_are_fine() {
        assert!(findings("input drop {\n  allow tcp/8080\n}\n").is_empty());
        assert!(findings(&format!("{BINDS}input drop {{\n  allow tcp from 10.0.0.0/8\n  allow udp/1-65535 from 10.0.0.0/8\n}}\n")).is_empty());
        assert!(findings(&format!("{BINDS}input drop {{\n  allow tcp/80-90\n}}\n")).is_empty());
        assert!(findings(&format!("{BINDS}output drop {{\n  allow tcp/8080\n}}\n")).is_empty());
        assert!(findings(&format!(
            "{BINDS}input drop {{\n  allow tcp/8080 on lo\n}}\n"
        ))
        .is_empty());
    }

    #[test]
    fn shadowed_allows_are_left_to_the_coverage_rules() {
        assert!(findings(&format!(
            "{BINDS}input drop {{\n  deny tcp/8080\n  allow tcp/8080\n}}\n"
        ))
        .is_empty());
    }

    #[test]
    fn the_protocol_matters() {
        let found = findings(
            "bind unbound on 0.0.0.0 domain/udp as unbound\ninput drop {\n  allow domain/tcp\n}\n",
        );
        assert_eq!(found.len(), 1);
    }
}
