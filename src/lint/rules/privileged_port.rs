//! `privileged-port`: a process that is not root binds a port below 1024.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::traffic_list;
use crate::lint::LintContext;
use crate::model::{IntervalSet, Traffic};

crate::declare_lint! {
    /// A process running as a user other than root binds a System port (below 1024).
    ///
    /// ## What it does
    /// Reports a `bind ... as USER` whose user is not `root` and whose services include a port
    /// below 1024 on any protocol. A bind without `as USER` is not reported: the policy does not
    /// say who runs it.
    ///
    /// ## Why it matters
    /// Linux lets only root, or a process with the `CAP_NET_BIND_SERVICE` capability, bind ports
    /// below `net.ipv4.ip_unprivileged_port_start` (1024 by default). Unless one of them is set
    /// up, the process fails to start with "permission denied", and the firewall opens a port
    /// nothing listens on.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx on 0.0.0.0 http, https as www-data
    /// }
    /// ```
    ///
    /// ## Fix
    /// Give the process the capability (`AmbientCapabilities=CAP_NET_BIND_SERVICE` in its systemd
    /// unit), lower `net.ipv4.ip_unprivileged_port_start` with sysctl, or move the service to a
    /// port of 1024 or above. If the process starts as root and drops privileges after binding,
    /// write `as root`.
    pub static PRIVILEGED_PORT = {
        name: "privileged-port",
        code: "PC101",
        category: Ports,
        default_level: Warning,
    }
}

/// The first port an unprivileged process may bind by default.
const FIRST_UNPRIVILEGED: u16 = 1024;

/// Every System port of every protocol.
fn system_ports() -> Traffic {
    Traffic {
        ports: std::array::from_fn(|_| IntervalSet::range(0, FIRST_UNPRIVILEGED - 1)),
        ..Traffic::empty()
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let system = system_ports();
    for host in &ctx.policy.hosts {
        for bind in &host.binds {
            let (Some(user), Some(user_span)) = (&bind.user, bind.user_span) else {
                continue;
            };
            if user == "root" {
                continue;
            }
            let privileged = bind.traffic.intersection(&system);
            if privileged.is_empty() {
                continue;
            }
            let lowest = privileged
                .ports
                .iter()
                .filter_map(IntervalSet::first)
                .min()
                .unwrap_or(0);
            let mut d = Diagnostic::new(
                &PRIVILEGED_PORT,
                user_span,
                format!(
                    "`{}` runs as `{user}` but binds {}: ports below 1024 need root or CAP_NET_BIND_SERVICE",
                    bind.process,
                    traffic_list(&privileged)
                ),
            )
            .label("not root");
            for service in &bind.services {
                let part = service.traffic.intersection(&system);
                if part.is_empty() {
                    continue;
                }
                let label = match &service.name {
                    Some(_) => format!("`{}` is {}, below 1024", service.text, traffic_list(&part)),
                    None => "below 1024".to_string(),
                };
                d = d.secondary(service.span, label);
            }
            out.push(d.help(format!(
                "if the process starts as root and drops privileges once it has bound the port (as dnsmasq, chronyd and bird do), write `as root`; \
                 otherwise give it CAP_NET_BIND_SERVICE (`AmbientCapabilities=CAP_NET_BIND_SERVICE` in its systemd unit), \
                 lower `net.ipv4.ip_unprivileged_port_start` to {lowest} or below, or move the service to a port of 1024 or above"
            )));
        }
    }
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "privileged-port")
    }

    #[test]
    fn reports_a_system_port_bound_by_another_user() {
        let found = findings("bind nginx on 0.0.0.0 http, tcp/8080 as www-data\n");
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert!(
            d.message
                .contains("`nginx` runs as `www-data` but binds tcp/80"),
            "{}",
            d.message
        );
        assert_eq!(d.secondary.len(), 1, "only `http` is privileged");
        assert!(d
            .help
            .as_deref()
            .unwrap()
            .contains("ip_unprivileged_port_start` to 80"));
    }

    #[test]
    fn root_and_unknown_users_are_not_reported() {
        assert!(findings("bind sshd on 0.0.0.0 ssh as root\n").is_empty());
        assert!(findings("bind sshd on 0.0.0.0 ssh\n").is_empty());
    }

    #[test]
    fn user_ports_are_not_reported() {
        assert!(findings("bind app on 127.0.0.1 tcp/1024, udp/8080 as app\n").is_empty());
    }

    #[test]
    fn a_range_reaching_below_1024_is_reported() {
        let found = findings("bind app on 0.0.0.0 udp/1000-1100 as app\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("udp/1000-1023"),
            "{}",
            found[0].message
        );
    }
}
