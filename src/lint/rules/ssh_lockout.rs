//! `ssh-lockout`: the input chain lets no management connection in.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::chain_name;
use crate::lint::LintContext;
use crate::model::{PortRange, Protocol, Traffic};
use crate::registry;
use crate::syntax::ast::{ChainKind, Verdict};

use crate::lint::exposure::{admitted, loopback_only, Probe};

crate::declare_lint! {
    /// The input chain accepts no ssh connection from anywhere: applying it locks you out.
    ///
    /// ## What it does
    /// Evaluates each host's `input` chain for the management services listed in
    /// `lint.management-services` of `portcullis.yaml` (default `[ssh]`), and reports the chain
    /// when no packet to any of them, from any source, on any interface but the loopback, is
    /// accepted. The services
    /// are names, resolved like names in rules (the policy's own `service` definitions first,
    /// then the registry), or port specs such as `tcp/2222`.
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
    /// input drop {
    ///   allow http, https
    /// }
    /// ```
    ///
    /// ## Fix
    /// Allow the management service from the administrators' network, above any rule that
    /// refuses it: `allow ssh from admins`. If the host is managed another way, list that
    /// service in `lint.management-services` (or set it to `[]`).
    pub static SSH_LOCKOUT = {
        name: "ssh-lockout",
        code: "PC304",
        category: Exposure,
        default_level: Error,
    }
}

/// How many allow rules that fail to let the service in are pointed at.
const MAX_LABELS: usize = 3;

/// A management service as configured: its text and the traffic it stands for.
struct Management {
    text: String,
    traffic: Traffic,
}

/// Resolves `lint.management-services`: `ssh`, `ssh/tcp`, `tcp/22`, `tcp/2200-2299`. Entries
/// that resolve to nothing are skipped (overlays are not consulted: the lint context does not
/// carry them).
fn management_services(ctx: &LintContext) -> Vec<Management> {
    ctx.config
        .management_services
        .iter()
        .filter_map(|text| {
            let traffic = resolve(ctx, text.trim())?;
            (!traffic.is_empty()).then(|| Management {
                text: text.trim().to_string(),
                traffic,
            })
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

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let services = management_services(ctx);
    if services.is_empty() {
        return;
    }
    let probes: Vec<Probe> = services
        .iter()
        .map(|s| Probe::traffic(s.traffic.clone()))
        .collect();
    let all = services
        .iter()
        .fold(Traffic::empty(), |t, s| t.union(&s.traffic));
    for host in &ctx.policy.hosts {
        let Some(chain) = host.chain(ChainKind::Input) else {
            continue;
        };
        if chain.rules.iter().any(|r| !r.resolved) {
            continue; // already reported; a rule we cannot evaluate might be the allow
        }
        let reachable = admitted(chain, &probes, |r| !loopback_only(r))
            .iter()
            .any(|a| a.rule.is_none_or(|i| !loopback_only(&chain.rules[i])));
        if reachable {
            continue;
        }
        let names: Vec<String> = services.iter().map(|s| format!("`{}`", s.text)).collect();
        let mut d = Diagnostic::new(
            &SSH_LOCKOUT,
            chain.span,
            format!(
                "the {} accepts no {} connection from anywhere: applying it locks you out",
                chain_name(host, chain),
                names.join(" or ")
            ),
        )
        .label(format!("no {} connection gets in", names.join(" or ")));
        let mut labelled = 0;
        for rule in &chain.rules {
            if labelled == MAX_LABELS {
                break;
            }
            if !rule.is_written()
                || rule.verdict != Verdict::Accept
                || !rule.traffic.intersects(&all)
            {
                continue;
            }
            let why = if loopback_only(rule) {
                "only on the loopback interface".to_string()
            } else {
                format!(
                    "never lets {} in: earlier rules decide it first",
                    names.join(" or ")
                )
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
        out.push(d.help(format!(
            "allow it from the administrators' network, above any rule that refuses it: `allow {} from <admin-net>`",
            services[0].text
        )));
    }
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
            management.iter().map(|s| s.to_string()).collect();
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
}
