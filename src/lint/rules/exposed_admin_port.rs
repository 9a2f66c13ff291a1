//! `exposed-admin-port`: a database, cache or admin interface is open to the whole network.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;
use crate::model::{AddrSet, Origin, PortRange, Protocol, Rule, Traffic};
use crate::source::Span;

use crate::lint::exposure::{admitted_services, loopback_only, open_to_world, sources_text, Probe};

crate::declare_lint! {
    /// A database, cache or admin interface is open to any address.
    ///
    /// ## What it does
    /// Reports an `allow` in an `input` or `forward` chain that lets one of the ports below in
    /// from anywhere, and a `forward-port` to one of them from anywhere. Ports are recognised by
    /// protocol and number, whatever the rule calls them. "Anywhere" is a rule without `from`,
    /// `from any`, or sources covering at least half of the IPv4 space (`0.0.0.0/0`) or an eighth
    /// of the IPv6 space (`::/0`, or `2000::/3`, every global address); earlier rules that refuse
    /// a few sources do not change that.
    ///
    /// | service | port |
    /// | --- | --- |
    /// | MySQL, MySQL X protocol | tcp/3306, tcp/33060 |
    /// | PostgreSQL | tcp/5432 |
    /// | Microsoft SQL Server | tcp/1433 |
    /// | Oracle listener | tcp/1521 |
    /// | Redis | tcp/6379 |
    /// | MongoDB | tcp/27017-27019 |
    /// | Elasticsearch (HTTP, transport) | tcp/9200, tcp/9300 |
    /// | memcached | tcp/11211, udp/11211 |
    /// | Docker daemon | tcp/2375-2376 |
    /// | etcd (clients, peers) | tcp/2379-2380 |
    /// | ZooKeeper | tcp/2181 |
    /// | Kubernetes API server, kubelet | tcp/6443, tcp/10250 |
    /// | RabbitMQ management | tcp/15672 |
    /// | CouchDB | tcp/5984 |
    /// | Cassandra (CQL, JMX) | tcp/9042, tcp/7199 |
    ///
    /// Metrics endpoints such as Prometheus' node exporter (tcp/9100) are left out: they leak
    /// information but do not hand over control. Rules that allow a whole protocol are left to
    /// `any-port-open`.
    ///
    /// ## Why it matters
    /// These services are meant for a few application servers and administrators. Several accept
    /// anyone by default (Redis, memcached, the Docker daemon on tcp/2375, etcd, an unauthenticated
    /// kubelet), and the others rely on a password alone. Scanners find them within minutes of
    /// going online; exposed databases are the most common source of data leaks.
    ///
    /// ## Example
    /// ```text
    /// net app-servers = 10.0.1.0/24
    ///
    /// input drop {
    ///   allow https
    ///   allow postgresql
    ///   allow redis from app-servers
    /// }
    /// ```
    ///
    /// ## Fix
    /// Restrict the rule to the hosts that need the service, with `from` a net of the
    /// application servers or administrators: `allow postgresql from app-servers`.
    pub static EXPOSED_ADMIN_PORT = {
        name: "exposed-admin-port",
        code: "PC302",
        category: Exposure,
        default_level: Warning,
    }
}

/// One sensitive port or range.
struct AdminPort {
    name: &'static str,
    protocol: Protocol,
    ports: PortRange,
}

const fn tcp(name: &'static str, lo: u16, hi: u16) -> AdminPort {
    AdminPort {
        name,
        protocol: Protocol::Tcp,
        ports: PortRange { lo, hi },
    }
}

/// Databases, caches and admin interfaces, by port. Ports must not overlap (a unit test checks).
const ADMIN_PORTS: &[AdminPort] = &[
    tcp("MS SQL Server", 1433, 1433),
    tcp("Oracle", 1521, 1521),
    tcp("ZooKeeper", 2181, 2181),
    tcp("Docker", 2375, 2376),
    tcp("etcd", 2379, 2380),
    tcp("MySQL", 3306, 3306),
    tcp("PostgreSQL", 5432, 5432),
    tcp("CouchDB", 5984, 5984),
    tcp("Redis", 6379, 6379),
    tcp("Kubernetes API server", 6443, 6443),
    tcp("Cassandra JMX", 7199, 7199),
    tcp("Cassandra", 9042, 9042),
    tcp("Elasticsearch", 9200, 9200),
    tcp("Elasticsearch transport", 9300, 9300),
    tcp("kubelet", 10250, 10250),
    tcp("memcached", 11211, 11211),
    AdminPort {
        name: "memcached",
        protocol: Protocol::Udp,
        ports: PortRange {
            lo: 11211,
            hi: 11211,
        },
    },
    tcp("RabbitMQ management", 15672, 15672),
    tcp("MongoDB", 27017, 27019),
    tcp("MySQL X protocol", 33060, 33060),
];

impl AdminPort {
    fn traffic(&self) -> Traffic {
        Traffic::ports(self.protocol, self.ports)
    }

    /// `PostgreSQL (tcp/5432)`, with the ports `allowed` lets in: `Docker (tcp/2375)` for a rule
    /// that allows only one of Docker's two.
    fn describe(&self, allowed: &Traffic) -> String {
        format!("{} ({})", self.name, self.traffic().intersection(allowed))
    }
}

fn candidate(rule: &Rule) -> bool {
    !rule.services.is_empty() && !loopback_only(rule) && open_to_world(&rule.src)
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let probes: Vec<Probe> = ADMIN_PORTS
        .iter()
        .map(|a| Probe::traffic(a.traffic()))
        .collect();
    for (_, chain) in ctx.chains() {
        // (rule, service reference) -> sensitive ports it lets in from anywhere.
        for ((index, u), ports) in admitted_services(chain, &probes, candidate) {
            let rule = &chain.rules[index];
            let service = &rule.services[u];
            let mut d = report(
                service.span,
                &format!("`{}`", rule_text(ctx.sources, rule)),
                &rule.src,
                &service.traffic,
                &ports,
                &format!("allow {} from <app-servers>", service.text),
            );
            if let Origin::Policy(definition) = service.origin {
                d = d.secondary(definition, format!("`{}` is defined here", service.text));
            }
            let names: &[String] = if rule.src_negated {
                &[]
            } else {
                &rule.src_names
            };
            for name in names {
                if let Some(net) = ctx.policy.nets.iter().find(|n| &n.name == name) {
                    if open_to_world(&net.addresses) {
                        d = d.secondary(
                            net.name_span,
                            format!("`{name}` covers {}", sources_text(&net.addresses)),
                        );
                    }
                }
            }
            out.push(d);
        }
    }
    for host in &ctx.policy.hosts {
        for forward in &host.forwards {
            if !open_to_world(&forward.from) {
                continue;
            }
            let ports = forward.target_port.map_or(forward.ports, PortRange::single);
            let traffic = Traffic::ports(forward.protocol, ports);
            let hits: Vec<usize> = (0..ADMIN_PORTS.len())
                .filter(|&k| probes[k].traffic.intersects(&traffic))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let text: Vec<&str> = ctx.sources.text(forward.span).split_whitespace().collect();
            let mut target = match forward.target {
                std::net::IpAddr::V6(a) => format!("[{a}]"),
                a => a.to_string(),
            };
            if let Some(port) = forward.target_port {
                target.push_str(&format!(":{port}"));
            }
            let spec = format!("{}/{}", forward.protocol, forward.ports);
            out.push(report(
                forward.span,
                &format!("`{}`", text.join(" ")),
                &forward.from,
                &traffic,
                &hits,
                &format!("forward-port {spec} from <app-servers> to {target}"),
            ));
        }
    }
}

/// The finding at `span` for `what`, which lets `ports` (of `allowed`) in from `src`; `fixed` is
/// the statement as it should read.
fn report(
    span: Span,
    what: &str,
    src: &AddrSet,
    allowed: &Traffic,
    ports: &[usize],
    fixed: &str,
) -> Diagnostic {
    let list: Vec<String> = ports
        .iter()
        .map(|&k| ADMIN_PORTS[k].describe(allowed))
        .collect();
    let (services, label) = match ports {
        [k] => (
            list[0].clone(),
            format!("{} from {}", ADMIN_PORTS[*k].name, sources_text(src)),
        ),
        _ => (
            format!(
                "{} and {}",
                list[..list.len() - 1].join(", "),
                list[list.len() - 1]
            ),
            format!("{} sensitive ports from {}", ports.len(), sources_text(src)),
        ),
    };
    Diagnostic::new(
        &EXPOSED_ADMIN_PORT,
        span,
        format!("{what} opens {services} to {}", sources_text(src)),
    )
    .label(label)
    .help(format!(
        "restrict it to the hosts that use it, with `from` a net of the application servers or administrators: `{fixed}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, EXPOSED_ADMIN_PORT.name)
    }

    #[test]
    fn the_table_has_no_overlapping_ports() {
        for (i, a) in ADMIN_PORTS.iter().enumerate() {
            for b in &ADMIN_PORTS[i + 1..] {
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
    fn ports_from_anywhere_are_reported_whatever_the_name() {
        assert_eq!(findings("input drop {\n  allow tcp/6379\n}\n").len(), 1);
        assert_eq!(
            findings("input drop {\n  allow mysql from any\n}\n").len(),
            1
        );
        assert_eq!(
            findings("input drop {\n  allow tcp/5432 from 0.0.0.0/0\n}\n").len(),
            1
        );
        assert_eq!(
            findings("input drop {\n  allow tcp/5432 from ::/0\n}\n").len(),
            1
        );
        let found = findings(
            "net internet = 0.0.0.0/1, 128.0.0.0/1\ninput drop {\n  allow redis from internet\n}\n",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].secondary.len(), 1, "{found:?}");
    }

    #[test]
    fn restricted_sources_are_fine() {
        assert!(findings("input drop {\n  allow mysql from 10.0.0.0/8\n}\n").is_empty());
        assert!(findings("input drop {\n  allow redis on lo\n}\n").is_empty());
    }

    #[test]
    fn shadowed_and_whole_protocol_allows_are_left_to_other_rules() {
        assert!(findings("input drop {\n  deny tcp/5432\n  allow postgresql\n}\n").is_empty());
        assert!(findings("input drop {\n  allow tcp\n}\n").is_empty());
    }

    #[test]
    fn a_range_lists_the_sensitive_ports_it_holds() {
        let found = findings("input drop {\n  allow tcp/2000-3400\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("ZooKeeper"),
            "{}",
            found[0].message
        );
        assert!(
            found[0].message.contains("MySQL (tcp/3306)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn forwards_from_anywhere_count() {
        assert_eq!(findings("forward-port tcp/3306 to 10.0.0.5\n").len(), 1);
        assert!(findings("forward-port tcp/3306 from 10.0.0.0/8 to 10.0.0.5\n").is_empty());
    }

    #[test]
    fn a_rule_is_reported_with_the_ports_it_allows() {
        let found = findings("input drop {\n  allow tcp/2375\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("Docker (tcp/2375)") && !found[0].message.contains("2376"),
            "{}",
            found[0].message
        );
        let found = findings("input drop {\n  allow tcp/27000-27017\n}\n");
        assert!(
            found[0].message.contains("MongoDB (tcp/27017)"),
            "{}",
            found[0].message
        );
    }
}
