//! `registry-mismatch`: a user-defined service that contradicts the IANA registry.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{join_and, traffic_list};
use crate::lint::LintContext;
use crate::model::{Origin, Protocol, ServiceDefinition, Traffic, Transport};
use crate::registry::{self, PortClass, PortStatus};

crate::declare_lint! {
    /// A service of the policy gives a registry name other ports, or takes another's System port.
    ///
    /// ## What it does
    /// Reports a `service NAME = ...` definition when
    ///
    /// - `NAME` is a registry name (or alias) and the definition has ports the registry does not
    ///   give it: `service ssh = tcp/2222`, or
    /// - one of its port specs is a System port (below 1024) that the registry assigns to a
    ///   service of another name: `service tor = tcp/23` (23/tcp is `telnet`).
    ///
    /// A name counts as the same service when it is the registry name, one of its aliases, or
    /// contains it as a `-`, `_` or `.` separated part (`smtp-relay = tcp/25`). Services on User
    /// ports with names of their own (`service app = tcp/8080`), definitions made of registry
    /// names (`service web = http, https`) and definitions that agree with the registry
    /// (`service ssh = tcp/22`) are not reported.
    ///
    /// ## Why it matters
    /// Readers, tools and packet captures take well-known names and System ports at their
    /// registry meaning. After `service ssh = tcp/2222`, `allow ssh` opens 2222, not 22, to
    /// anyone reading the policy as they always have; a service on 23/tcp shows up as telnet in
    /// every scanner and log.
    ///
    /// ## Example
    /// ```text
    /// service ssh = tcp/2222
    /// service tor = tcp/23
    /// ```
    ///
    /// ## Fix
    /// Give the service a name of its own (`service ssh-2222 = tcp/2222`), use the registry name
    /// for what really is that service, or move the service to a User port (1024-49151). When
    /// the port is deliberate (a relay on 443 to pass restrictive networks), suppress the
    /// finding with a comment that says so.
    pub static REGISTRY_MISMATCH = {
        name: "registry-mismatch",
        code: "PC105",
        category: Ports,
        default_level: Warning,
    }
}

/// How many other services to name before summarising.
const MAX_NAMED: usize = 3;

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for def in &ctx.policy.services {
        if def.traffic.is_empty() {
            continue; // did not resolve; already reported
        }
        if let Some(canonical) = registry::canonical_name(&def.name) {
            if let Some(d) = renamed_registry_service(def, canonical) {
                out.push(d);
            }
            continue;
        }
        out.extend(system_ports_of_others(def));
    }
}

/// `service ssh = tcp/2222`: a registry name used for ports the registry does not give it.
fn renamed_registry_service(def: &ServiceDefinition, canonical: &str) -> Option<Diagnostic> {
    let registered = registry::by_name(&def.name)
        .iter()
        .fold(Traffic::empty(), |t, e| {
            t.union(&Traffic::ports(e.protocol, e.ports))
        });
    if def.traffic.is_subset(&registered) {
        return None;
    }
    // Show where the service really runs when netbase knows it: `ssh` on tcp/22, not also on
    // IANA's udp/22 and sctp/22.
    let shown = match registry::in_use_protocols(&def.name) {
        Some(in_use) => {
            let only = registered.only(in_use);
            if only.is_empty() {
                registered
            } else {
                only
            }
        }
        None => registered,
    };
    let registry_name = if canonical.eq_ignore_ascii_case(&def.name) {
        format!("`{}`", def.name)
    } else {
        format!("`{}` (an alias of `{canonical}`)", def.name)
    };
    let suggestion = match def.traffic.example() {
        Some(Transport::Port(_, port)) => format!("{}-{port}", def.name),
        _ => format!("my-{}", def.name),
    };
    Some(
        Diagnostic::new(
            &REGISTRY_MISMATCH,
            def.name_span,
            format!(
                "service `{}` is {} here, but the registry has {registry_name} on {}",
                def.name,
                traffic_list(&def.traffic),
                traffic_list(&shown)
            ),
        )
        .label(format!("the registry's `{}` is {}", def.name, traffic_list(&shown)))
        .help(format!(
            "every `{}` in this policy now means {}, while readers expect {}; give the service a name of its own \
             (e.g. `{suggestion}`), or write the ports where they are used",
            def.name,
            traffic_list(&def.traffic),
            traffic_list(&shown)
        )),
    )
}

/// `service tor = tcp/23`: explicit System ports the registry assigns to other services, one
/// finding per port spec.
fn system_ports_of_others(def: &ServiceDefinition) -> Vec<Diagnostic> {
    let system = PortClass::System.range();
    let mut out = Vec::new();
    for part in &def.parts {
        if part.origin != Origin::Spec {
            continue; // registry names and other definitions mean what they say
        }
        let mut others: Vec<(Protocol, u16, &'static str)> = Vec::new();
        for protocol in part.traffic.protocols() {
            let ports = part.traffic.of(protocol);
            if ports.is_full() {
                continue; // a whole protocol claims no particular port
            }
            for &(lo, hi) in ports.ranges() {
                if lo > system.hi {
                    continue;
                }
                for port in lo..=hi.min(system.hi) {
                    let info = registry::by_port(protocol, port);
                    if info.status != PortStatus::Assigned
                        || info.entries.iter().any(|e| same_service(&def.name, e.name))
                    {
                        continue;
                    }
                    if let Some(entry) = info.entries.first() {
                        others.push((protocol, port, entry.name));
                    }
                }
            }
        }
        let Some(&(protocol, port, name)) = others.first() else {
            continue;
        };
        let d = if others.len() == 1 {
            Diagnostic::new(
                &REGISTRY_MISMATCH,
                part.span,
                format!(
                    "service `{}` uses {protocol}/{port}, which the registry assigns to `{name}`",
                    def.name
                ),
            )
            .label(format!("`{name}` in the registry"))
            .help(format!(
                "System ports belong to well-known services, and readers, scanners and logs take {protocol}/{port} for `{name}`; \
                 if this is `{name}`, use that name, otherwise move the service to a User port (1024-49151), \
                 or suppress this finding with a comment saying why the port is deliberate"
            ))
        } else {
            let mut named: Vec<String> = others
                .iter()
                .take(MAX_NAMED)
                .map(|(p, port, name)| format!("{p}/{port} to `{name}`"))
                .collect();
            if others.len() > MAX_NAMED {
                named.push(format!(
                    "{} more to other services",
                    others.len() - MAX_NAMED
                ));
            }
            Diagnostic::new(
                &REGISTRY_MISMATCH,
                part.span,
                format!(
                    "service `{}` uses System ports the registry assigns to other services: {}",
                    def.name,
                    join_and(&named)
                ),
            )
            .label("System ports of other services")
            .help(
                "System ports belong to well-known services, and readers, scanners and logs take them for those; \
                 move the service to User ports (1024-49151), or suppress this finding with a comment saying why \
                 the ports are deliberate",
            )
        };
        out.push(d);
    }
    out
}

/// Whether a user's service name stands for the registry's `entry`: the same name after case
/// folding and aliases, or a name with it as one of its parts (`smtp-relay`, `internal.http`).
fn same_service(name: &str, entry: &str) -> bool {
    let entry = registry::canonical_name(entry).unwrap_or(entry);
    std::iter::once(name)
        .chain(name.split(['-', '_', '.']))
        .any(|part| {
            part.eq_ignore_ascii_case(entry)
                || registry::canonical_name(part).is_some_and(|c| c.eq_ignore_ascii_case(entry))
        })
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "registry-mismatch")
    }

    #[test]
    fn a_registry_name_for_other_ports() {
        let found = findings("service ssh = tcp/2222\n");
        assert_eq!(found.len(), 1);
        assert_eq!(
            &*found[0].message,
            "service `ssh` is tcp/2222 here, but the registry has `ssh` on tcp/22"
        );
        assert!(found[0].help.as_deref().unwrap().contains("`ssh-2222`"));
    }

    #[test]
    fn an_alias_for_other_ports() {
        let found = findings("service www = tcp/8000\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("(an alias of `http`) on tcp/80"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_system_port_of_another_service() {
        let found = findings("service tor = tcp/23\n");
        assert_eq!(found.len(), 1);
        assert_eq!(
            &*found[0].message,
            "service `tor` uses tcp/23, which the registry assigns to `telnet`"
        );
    }

    #[test]
    fn a_range_of_system_ports_is_summarised() {
        let found = findings("service legacy = tcp/20-25\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("more to other services"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn agreeing_and_own_names_are_not_reported() {
        for text in [
            "service ssh = tcp/22\n",
            "service app = tcp/8080\n",
            "service web = http, https\n",
            "service smtp-relay = tcp/25\n",
            "service www-internal = tcp/80\n",
            "service all-tcp = tcp\n",
            "service dns = domain\n",
            "service private-mail = tcp/24\n",
        ] {
            assert!(findings(text).is_empty(), "{text}: {:?}", findings(text));
        }
    }
}
