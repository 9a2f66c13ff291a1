//! `ssh-lockout`: the input chain lets no management connection in.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::chain_name;
use crate::lint::LintContext;
use crate::model::{AddrSet, Chain, Host, PortRange, Protocol, Rule, Traffic};
use crate::model::{ChainKind, Verdict};
use crate::registry;

use crate::lint::exposure::{admitted, loopback_only, Probe};

crate::declare_lint! {
    /// The input chain lets no management connection in: applying it locks you out.
    ///
    /// ## What it does
    /// Evaluates each host's `input` chain for the host's management service and reports the
    /// chain when no connection to it, from any source, on any interface but the loopback, is
    /// accepted. The management service of a host is:
    ///
    /// - what `lint.management-services` of `portcullis.yaml` lists, when it is set: names,
    ///   resolved like names in rules (the policy's own `service` definitions first, then the
    ///   registry), or port specs such as `tcp/2222`; `[]` turns the rule off;
    /// - otherwise, what the host's `sshd` (or `dropbear`) binds, on the address it binds:
    ///   `bind sshd on 0.0.0.0 tcp/2222` makes it tcp/2222. A host that declares its binds and
    ///   runs no ssh server is not judged;
    /// - and for a host that declares no binds, `ssh` (tcp/22).
    ///
    /// The answer comes from first-match evaluation, not from the text of the rules: an
    /// `allow ssh` that an earlier `deny` hides does not count, an `allow ssh from admins on eth0`
    /// or a rate-limited `allow ssh limit 10/minute` does, and so does an `accept` default that
    /// ssh reaches. A host without an input chain accepts everything and is not reported; a chain
    /// with a rule that did not resolve is not judged.
    ///
    /// ## Why it matters
    /// Loading the ruleset cuts every new management connection; the session that applied it may
    /// survive on connection tracking until it drops, and after that the only way back in is a
    /// console. A remote host without one has to be rebuilt.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind sshd on 0.0.0.0 tcp/2222 as root
    ///   input drop {
    ///     allow ssh from admins
    ///     allow http, https
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Allow the port the ssh server listens on from the administrators' network, above any rule
    /// that refuses it: `allow tcp/2222 from admins`. If the host is managed another way, list
    /// that service in `lint.management-services` (or set it to `[]`).
    pub static SSH_LOCKOUT = {
        name: "ssh-lockout",
        code: "PC304",
        category: Exposure,
        default_level: Error,
    }
}

/// How many allow rules that fail to let the service in are pointed at.
const MAX_LABELS: usize = 3;

/// A management service: how to name it in messages, the traffic and the addresses to reach it.
struct Management {
    text: String,
    /// How a rule names it: `ssh`, `tcp/2222`.
    example: String,
    traffic: Traffic,
    dst: AddrSet,
}

/// Processes that are ssh servers.
const SSH_SERVERS: &[&str] = &["sshd", "dropbear"];

/// The management services of a host; empty when the host is not to be judged.
fn management_services(ctx: &LintContext, host: &Host) -> Vec<Management> {
    let configured = |texts: &[String]| -> Vec<Management> {
        texts
            .iter()
            .filter_map(|text| {
                let traffic = resolve(ctx, text.trim())?;
                (!traffic.is_empty()).then(|| Management {
                    text: format!("`{}`", text.trim()),
                    example: text.trim().to_string(),
                    traffic,
                    dst: AddrSet::any(),
                })
            })
            .collect()
    };
    if let Some(texts) = &ctx.config.management_services {
        return configured(texts);
    }
    if host.binds.is_empty() {
        return configured(&["ssh".to_string()]);
    }
    host.binds
        .iter()
        .filter(|b| SSH_SERVERS.contains(&b.process.as_str()) && !b.is_loopback())
        .filter(|b| !b.traffic.is_empty())
        .map(|b| Management {
            text: format!("`{}` ({})", b.process, b.traffic),
            example: b
                .services
                .iter()
                .map(|s| &*s.text)
                .collect::<Vec<_>>()
                .join(", "),
            traffic: b.traffic.clone(),
            dst: b.listens_on(),
        })
        .collect()
}

fn resolve(ctx: &LintContext, text: &str) -> Option<Traffic> {
    let (head, tail) = match text.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (text, None),
    };
    if let Ok(protocol) = head.parse::<Protocol>() {
        return match tail {
            None => Some(Traffic::protocol(protocol)),
            Some(ports) => {
                let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
                let range = PortRange::new(lo.trim().parse().ok()?, hi.trim().parse().ok()?)?;
                Some(Traffic::ports(protocol, range))
            }
        };
    }
    let only: Option<Protocol> = match tail {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    let restrict = |traffic: Traffic, protocols: &[Protocol]| {
        let mut t = Traffic::empty();
        for &p in protocols {
            t.ports[p.index()] = traffic.of(p).clone();
        }
        t
    };
    let traffic = match ctx.policy.services.iter().find(|s| s.name == head) {
        Some(definition) => definition.traffic.clone(),
        None => {
            let entries = registry::by_name(head);
            let all = entries.iter().fold(Traffic::empty(), |t, e| {
                t.union(&Traffic::ports(e.protocol, e.ports))
            });
            // Like the resolver: a registry name means the protocols it is really used on.
            match registry::in_use_protocols(head) {
                Some(in_use) if only.is_none() && !restrict(all.clone(), in_use).is_empty() => {
                    restrict(all, in_use)
                }
                _ => all,
            }
        }
    };
    Some(match only {
        Some(p) => restrict(traffic, &[p]),
        None => traffic,
    })
}

/// Whether some packet of the probe (one family, source and destination alike) matches the rule.
fn reaches(rule: &Rule, probe: &Probe) -> bool {
    let src = rule.src.intersection(&probe.src);
    let dst = rule.dst.intersection(&probe.dst);
    rule.traffic.intersects(&probe.traffic)
        && ((!src.v4.is_empty() && !dst.v4.is_empty())
            || (!src.v6.is_empty() && !dst.v6.is_empty()))
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for host in &ctx.policy.hosts {
        let Some(chain) = host.chain(ChainKind::Input) else {
            continue;
        };
        if chain.rules.iter().any(|r| !r.resolved) {
            continue; // already reported; a rule we cannot evaluate might be the allow
        }
        let unknown: Vec<&String> = ctx
            .config
            .management_services
            .iter()
            .flatten()
            .filter(|text| resolve(ctx, text.trim()).is_none_or(|t| t.is_empty()))
            .collect();
        if !unknown.is_empty() {
            out.push(unknown_services(host, chain, &unknown));
            continue;
        }
        let services = management_services(ctx, host);
        if services.is_empty() {
            continue;
        }
        let probes: Vec<Probe> = services
            .iter()
            .map(|s| Probe {
                dst: s.dst.clone(),
                ..Probe::traffic(s.traffic.clone())
            })
            .collect();
        let reachable = admitted(chain, &probes, |r| !loopback_only(r))
            .iter()
            .any(|a| a.rule.is_none_or(|i| !loopback_only(&chain.rules[i])));
        if reachable {
            continue;
        }
        out.push(lockout(host, chain, &services, &probes));
    }
}

/// The finding for `lint.management-services` entries that name nothing: the chain cannot be
/// checked.
fn unknown_services(host: &Host, chain: &Chain, unknown: &[&String]) -> Diagnostic {
    let names: Vec<String> = unknown.iter().map(|t| format!("`{}`", t.trim())).collect();
    Diagnostic::new(
        &SSH_LOCKOUT,
        chain.span,
        format!(
            "`lint.management-services` names {}, which this policy does not define and the registry does not know: the {} cannot be checked for a lock-out",
            names.join(", "),
            chain_name(host, chain),
        ),
    )
    .label("not checked")
    .help("name the services you manage hosts through as port specs (`tcp/2222`) or by a name the policy or registry defines")
}

/// The finding for an input chain that lets none of `services` (reached by `probes`) in, with
/// why each of the first allows of their traffic does not.
fn lockout(host: &Host, chain: &Chain, services: &[Management], probes: &[Probe]) -> Diagnostic {
    let all = services
        .iter()
        .fold(Traffic::empty(), |t, s| t.union(&s.traffic));
    let names: Vec<String> = services.iter().map(|s| s.text.clone()).collect();
    let names = names.join(" or ");
    let mut d = Diagnostic::new(
        &SSH_LOCKOUT,
        chain.span,
        format!(
            "the {} accepts no {names} connection from anywhere: applying it locks you out",
            chain_name(host, chain),
        ),
    )
    .label(format!("no {names} connection gets in"));
    let mut labelled = 0;
    for rule in &chain.rules {
        if labelled == MAX_LABELS {
            break;
        }
        if !rule.is_written() || rule.verdict != Verdict::Accept || !rule.traffic.intersects(&all) {
            continue;
        }
        let why = if loopback_only(rule) {
            "only on the loopback interface".to_string()
        } else if !probes.iter().any(|p| reaches(rule, p)) {
            format!("not to the address {names} listens on")
        } else {
            format!("never lets {names} in: earlier rules decide it first")
        };
        d = d.secondary(rule.span, why);
        labelled += 1;
    }
    if chain.policy != Verdict::Accept {
        d = d.secondary(
            chain.policy_span,
            format!("everything no rule allows is {}", chain.policy.past_tense()),
        );
    }
    let example = &services[0].example;
    d.help(format!(
        "allow it from the administrators' network, above any rule that refuses it: `allow {example} from <admin-net>`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::lint::Levels;
    use crate::pipeline;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, SSH_LOCKOUT.name)
    }

    fn findings_with(management: &[&str], text: &str) -> Vec<Diagnostic> {
        let mut settings = Settings::default();
        settings.config.lint.management_services =
            Some(management.iter().map(|s| s.to_string()).collect());
        let levels = Levels::from_config(&settings.config.lint);
        pipeline::check(crate::load::load_text("t.pcl", text), &settings, &levels)
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == SSH_LOCKOUT.name)
            .collect()
    }

    #[test]
    fn a_drop_chain_without_ssh_locks_out() {
        let found = findings("input drop {\n  allow http, https\n}\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`ssh`"), "{}", found[0].message);
        assert_eq!(findings("input reject {\n}\n").len(), 1);
    }

    #[test]
    fn ssh_from_somewhere_on_some_interface_or_limited_is_enough() {
        assert!(findings("input drop {\n  allow ssh from 10.0.0.0/8 on eth0\n}\n").is_empty());
        assert!(findings("input drop {\n  allow ssh limit 10/minute\n}\n").is_empty());
        assert!(findings("input drop {\n  allow tcp/22 from 2001:db8::/32\n}\n").is_empty());
        assert!(findings("input drop {\n  allow from 10.0.0.0/8\n}\n").is_empty());
    }

    #[test]
    fn a_shadowed_or_loopback_allow_does_not_count() {
        let found = findings("input drop {\n  deny tcp/1-1024\n  allow ssh from 10.0.0.0/8\n}\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].secondary.len(), 2, "{found:?}");
        assert_eq!(findings("input drop {\n  allow ssh on lo\n}\n").len(), 1);
    }

    #[test]
    fn accept_defaults_and_missing_chains() {
        assert!(findings("input accept {\n  deny telnet\n}\n").is_empty());
        assert_eq!(findings("input accept {\n  deny from any\n}\n").len(), 1);
        assert!(findings("output drop {\n  allow https\n}\n").is_empty());
    }

    #[test]
    fn management_services_come_from_the_configuration() {
        let policy = "input drop {\n  allow tcp/2222 from 10.0.0.0/8\n}\n";
        assert_eq!(findings(policy).len(), 1);
        assert!(findings_with(&["tcp/2222"], policy).is_empty());
        assert!(findings_with(&["ssh", "tcp/2200-2299"], policy).is_empty());
        assert!(findings_with(&[], policy).is_empty());
        let own = "service mgmt = tcp/2222\ninput drop {\n  allow tcp/2222\n}\n";
        assert!(findings_with(&["mgmt"], own).is_empty());
        assert_eq!(
            findings_with(
                &["mgmt", "ssh"],
                "service mgmt = tcp/2222\ninput drop {\n}\n"
            )
            .len(),
            1
        );
    }

    #[test]
    fn an_unresolved_rule_is_not_judged() {
        assert!(findings("input drop {\n  allow ssh from adminz\n}\n").is_empty());
    }

    #[test]
    fn sshd_on_another_port_is_what_counts() {
        // The regression: the literal `ssh` service is not the management port here.
        let on_2222 = "net admins = 192.0.2.0/24\nhost web {\n  bind sshd on 0.0.0.0 tcp/2222 as root\n  input drop {\n    allow tcp/2222 from admins\n  }\n}\n";
        assert!(findings(on_2222).is_empty(), "{:?}", findings(on_2222));
        let open_22_only = "host web {\n  bind sshd on 0.0.0.0 tcp/2222 as root\n  input drop {\n    allow ssh\n  }\n}\n";
        let found = findings(open_22_only);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`sshd` (tcp/2222)"),
            "{}",
            found[0].message
        );
        assert!(found[0].help.as_deref().unwrap().contains("allow tcp/2222"));
    }

    #[test]
    fn a_host_that_declares_its_binds_and_runs_no_sshd_is_not_judged() {
        let text = "host appliance {\n  bind nginx on 0.0.0.0 https as root\n  input drop {\n    allow https\n  }\n}\n";
        assert!(findings(text).is_empty());
    }

    #[test]
    fn sshd_on_one_address_must_be_reachable_there() {
        let text = "host gw {\n  bind sshd on 192.168.1.1 ssh as root\n  input drop {\n    allow ssh to 10.0.0.1\n  }\n}\n";
        assert_eq!(findings(text).len(), 1);
        let text = "host gw {\n  bind sshd on 192.168.1.1 ssh as root\n  input drop {\n    allow ssh to 192.168.1.0/24\n  }\n}\n";
        assert!(findings(text).is_empty());
    }
}
