//! `unreachable-bind`: a service listens on the network, but the input chain lets nothing reach it.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::chain_name;
use crate::lint::LintContext;
use crate::model::AddrSet;
use crate::model::{ChainKind, Verdict};

use crate::lint::exposure::{admitted, loopback_only, Probe};

crate::declare_lint! {
    /// A service listens on a network address, but the input chain lets no connection to it in.
    ///
    /// ## What it does
    /// For every `bind` of a host on an address other than loopback, evaluates the host's
    /// `input` chain for connections to each of its services at the addresses it listens on
    /// (`0.0.0.0` is every IPv4 address, `::` every address), from any source, on any interface
    /// but the loopback. A service none of whose connections is accepted, by a rule or by an
    /// `accept` default, is reported. A host without an input chain accepts everything and is
    /// not reported, nor is a chain with a rule that did not resolve.
    ///
    /// ## Why it matters
    /// Either the allow is missing, and the service does not work for its users, or the service
    /// is only meant for local programs and listens on the network for no reason: should the
    /// firewall ever be opened, it is exposed.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx   on 0.0.0.0 http, https as root
    ///   bind grafana on 0.0.0.0 tcp/3000 as grafana
    ///   input drop {
    ///     allow http, https
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Allow the service from the clients that use it (`allow tcp/3000 from office`), or bind
    /// it to `127.0.0.1` if only programs on the host use it.
    pub static UNREACHABLE_BIND = {
        name: "unreachable-bind",
        code: "PC307",
        category: Exposure,
        default_level: Info,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for host in &ctx.policy.hosts {
        let Some(chain) = host.chain(ChainKind::Input) else {
            continue; // no input chain: everything is reachable
        };
        if chain.rules.iter().any(|r| !r.resolved) {
            continue;
        }
        // One probe per service of each bind on the network: (bind, service) for each.
        let mut probes = Vec::new();
        let mut owners = Vec::new();
        for (b, bind) in host.binds.iter().enumerate() {
            if bind.is_loopback() {
                continue;
            }
            let dst: AddrSet = bind.listens_on();
            for (u, service) in bind.services.iter().enumerate() {
                if service.traffic.is_empty() {
                    continue;
                }
                probes.push(Probe {
                    traffic: (*service.traffic).clone(),
                    src: AddrSet::any(),
                    dst: dst.clone(),
                });
                owners.push((b, u));
            }
        }
        if probes.is_empty() {
            continue;
        }
        let mut reached = vec![false; probes.len()];
        for a in admitted(chain, &probes, |r| !loopback_only(r)) {
            if a.rule.is_none_or(|i| !loopback_only(&chain.rules[i])) {
                reached[a.probe] = true;
            }
        }
        for (k, &(b, u)) in owners.iter().enumerate() {
            if reached[k] {
                continue;
            }
            let bind = &host.binds[b];
            let service = &bind.services[u];
            let what = service.quoted_with(&service.traffic);
            let mut d = Diagnostic::new(
                &UNREACHABLE_BIND,
                service.span,
                format!(
                    "`{}` listens on {what} at {}, but the {} lets no connection to it in",
                    bind.process,
                    bind.address,
                    chain_name(host, chain)
                ),
            )
            .label("unreachable from the network");
            if chain.policy != Verdict::Accept {
                d = d.secondary(
                    chain.policy_span,
                    format!(
                        "connections to it fall through to this `{}`",
                        chain.policy.policy_word()
                    ),
                );
            }
            out.push(d.help(format!(
                "allow it from the clients that use it (`allow {} from <clients>`), or bind it to 127.0.0.1 if only programs on this host use it",
                service.text
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, UNREACHABLE_BIND.name)
    }

    #[test]
    fn a_service_no_rule_allows_is_reported() {
        let found =
            findings("bind grafana on 0.0.0.0 tcp/3000 as grafana\ninput drop {\n  allow ssh\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`tcp/3000`"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn loopback_binds_and_hosts_without_input_are_fine() {
        assert!(
            findings("bind redis on 127.0.0.1 redis as redis\ninput drop {\n  allow ssh\n}\n")
                .is_empty()
        );
        assert!(
            findings("bind redis on ::1 redis as redis\ninput drop {\n  allow ssh\n}\n").is_empty()
        );
        assert!(findings(
            "bind nginx on 0.0.0.0 https as root\noutput drop {\n  allow domain\n}\n"
        )
        .is_empty());
    }

    #[test]
    fn some_source_is_enough() {
        assert!(findings("bind grafana on 0.0.0.0 tcp/3000 as grafana\ninput drop {\n  allow tcp/3000 from 10.0.0.0/8 on eth1\n}\n").is_empty());
        assert!(findings(
            "bind grafana on 0.0.0.0 tcp/3000 as grafana\ninput accept {\n  deny telnet\n}\n"
        )
        .is_empty());
    }

    #[test]
    fn the_bind_address_matters() {
        let policy =
            "bind app on 10.0.0.5 tcp/8080 as app\ninput drop {\n  allow tcp/8080 to 10.0.0.6\n}\n";
        assert_eq!(findings(policy).len(), 1);
        let policy = "bind app on 10.0.0.5 tcp/8080 as app\ninput drop {\n  allow tcp/8080 to 10.0.0.0/24\n}\n";
        assert!(findings(policy).is_empty());
        // 0.0.0.0 is IPv4 only: an IPv6-only allow does not reach it.
        let policy = "bind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  allow tcp/8080 from 2001:db8::/32\n}\n";
        assert_eq!(findings(policy).len(), 1);
    }

    #[test]
    fn shadowed_or_loopback_allows_do_not_count() {
        let policy = "bind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  deny tcp/8000-9000\n  allow tcp/8080\n}\n";
        assert_eq!(findings(policy).len(), 1);
        let policy =
            "bind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  allow tcp/8080 on lo\n}\n";
        assert_eq!(findings(policy).len(), 1);
    }

    #[test]
    fn each_service_of_a_bind_is_judged() {
        let found =
            findings("bind nginx on 0.0.0.0 http, https as root\ninput drop {\n  allow https\n}\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`http`"), "{}", found[0].message);
    }
}
