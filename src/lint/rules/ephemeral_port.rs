//! `ephemeral-port`: a listener, or an inbound allow, on ports the kernel hands to outgoing
//! connections.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;
use crate::model::{ChainKind, Verdict};
use crate::model::{IntervalSet, PortRange, ServiceUse, Traffic};
use crate::registry::PortClass;

crate::declare_lint! {
    /// A bind or an inbound allow uses ports from the ephemeral range.
    ///
    /// ## What it does
    /// Reports a bind, or an `allow` in an input chain, whose ports fall inside the Linux
    /// ephemeral range (`net.ipv4.ip_local_port_range`, 32768-60999 by default; set
    /// `lint: ephemeral-range:` in `portcullis.yaml` when your hosts differ) or the IANA
    /// Dynamic range (49152-65535). An allow of a whole protocol is left to `any-port-open`, and
    /// an allowed range that lies mostly outside both ranges (`tcp/30000-33000`) is not reported.
    ///
    /// ## Why it matters
    /// The kernel picks the source port of every outgoing connection from the ephemeral range.
    /// A service listening there can find its port already taken when it starts ("address already
    /// in use"), at random, depending on what the host happened to connect to. Opening such ports
    /// inbound is also a common attempt to let replies through, which a stateful firewall does
    /// anyway.
    ///
    /// ## Example
    /// ```text
    /// service app = tcp/50000
    /// bind app on 0.0.0.0 app as app
    /// input drop {
    ///   allow app
    /// }
    /// ```
    ///
    /// ## Fix
    /// Move the service below the ephemeral range (and below 49152), or reserve its port with
    /// `sysctl net.ipv4.ip_local_reserved_ports=50000` so the kernel never hands it out. Remove
    /// allows meant for replies: established connections are accepted by the baseline.
    pub static EPHEMERAL_PORT = {
        name: "ephemeral-port",
        code: "PC104",
        category: Ports,
        default_level: Warning,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let ranges = Ranges::new(ctx.ephemeral);
    for host in &ctx.policy.hosts {
        for bind in &host.binds {
            for service in &bind.services {
                let inside = ranges.inside(service, false);
                if inside.is_empty() {
                    continue;
                }
                let hits = ranges.hits(&inside);
                out.push(
                    Diagnostic::new(
                        &EPHEMERAL_PORT,
                        service.span,
                        format!(
                            "`{}` listens on {inside}, inside {}",
                            bind.process,
                            ranges.describe(hits)
                        ),
                    )
                    .label(Ranges::label(hits))
                    .help(format!(
                        "outgoing connections take their source ports from this range, so the port can already be taken \
                         when `{}` starts (\"address already in use\"); {}",
                        bind.process,
                        ranges.fix(&inside, hits),
                    )),
                );
            }
        }
    }
    let mut helps: HashMap<String, Arc<str>> = HashMap::new();
    for (_, chain) in ctx.chains() {
        if chain.kind != ChainKind::Input {
            continue;
        }
        for rule in &chain.rules {
            if !rule.resolved || rule.verdict != Verdict::Accept {
                continue;
            }
            for service in &rule.services {
                let inside = ranges.inside(service, true);
                if inside.is_empty() {
                    continue;
                }
                let hits = ranges.hits(&inside);
                let mut help = format!(
                    "a service listening there can find its port taken by an outgoing connection; {}",
                    ranges.fix(&inside, hits)
                );
                if ctx.compile.baseline.established {
                    help.push_str(
                        ". Replies to this host's own connections need no allow: the baseline accepts established traffic",
                    );
                }
                // Allows of ports in the same part of the ranges get the same help: one copy.
                let help = helps
                    .entry(help)
                    .or_insert_with_key(|help| Arc::from(help.as_str()))
                    .clone();
                out.push(
                    Diagnostic::new(
                        &EPHEMERAL_PORT,
                        service.span,
                        format!(
                            "`{}` admits {inside}, inside {}",
                            rule_text(ctx.sources, rule),
                            ranges.describe(hits)
                        ),
                    )
                    .label(Ranges::label(hits))
                    .help(help),
                );
            }
        }
    }
}

/// The ephemeral and dynamic ranges, and their union.
struct Ranges {
    ephemeral: PortRange,
    dynamic: PortRange,
    either: IntervalSet<u16>,
    /// The first port of either.
    lowest: u16,
    /// How [`Ranges::describe`] names the ephemeral range, the dynamic range, and both.
    names: [String; 3],
}

impl Ranges {
    fn new(ephemeral: PortRange) -> Self {
        let dynamic = PortClass::Dynamic.range();
        Ranges {
            ephemeral,
            dynamic,
            either: IntervalSet::from_ranges([
                (ephemeral.lo, ephemeral.hi),
                (dynamic.lo, dynamic.hi),
            ]),
            lowest: ephemeral.lo.min(dynamic.lo),
            names: {
                let ephemeral = format!("the Linux ephemeral range ({ephemeral})");
                let dynamic = format!("the IANA dynamic range ({dynamic})");
                let both = format!("{ephemeral} and {dynamic}");
                [ephemeral, dynamic, both]
            },
        }
    }

    /// The ports of `service` inside either range. Whole protocols are skipped (`any-port-open`
    /// reports them); with `skip_mostly_outside`, so are intervals mostly outside both ranges.
    fn inside(&self, service: &ServiceUse, skip_mostly_outside: bool) -> Traffic {
        let mut inside = Traffic::empty();
        for protocol in service.traffic.protocols() {
            let ports = service.traffic.of(protocol);
            // (Most ranges end below both ranges: they are passed over before any set is built.)
            if ports.is_full()
                || ports
                    .ranges()
                    .last()
                    .is_none_or(|&(_, hi)| hi < self.lowest)
            {
                continue;
            }
            let kept = ports.ranges().iter().filter_map(|&(lo, hi)| {
                let interval = IntervalSet::range(lo, hi);
                let part = interval.intersection(&self.either);
                let keep = !part.is_empty()
                    && (!skip_mostly_outside || part.count() * 2 >= interval.count());
                keep.then_some(part)
            });
            inside.ports[protocol.index()] = kept.fold(IntervalSet::empty(), |a, b| a.union(&b));
        }
        inside
    }

    fn ports(inside: &Traffic) -> IntervalSet<u16> {
        inside
            .ports
            .iter()
            .fold(IntervalSet::empty(), |a, b| a.union(b))
    }

    /// Whether ports of `inside` are in the ephemeral range, and in the dynamic range.
    fn hits(&self, inside: &Traffic) -> (bool, bool) {
        let hit = |r: PortRange| {
            inside.ports.iter().any(|ports| {
                ports
                    .ranges()
                    .iter()
                    .any(|&(lo, hi)| PortRange { lo, hi }.overlaps(&r))
            })
        };
        (hit(self.ephemeral), hit(self.dynamic))
    }

    /// `the Linux ephemeral range (32768-60999) and the IANA dynamic range (49152-65535)`.
    fn describe(&self, hits: (bool, bool)) -> &str {
        match hits {
            (true, true) => &self.names[2],
            (true, false) => &self.names[0],
            _ => &self.names[1],
        }
    }

    fn label(hits: (bool, bool)) -> &'static str {
        match hits {
            (true, _) => "ephemeral ports",
            _ => "dynamic ports",
        }
    }

    /// How to get out of the ranges: a port below both, or reserving the ports.
    fn fix(&self, inside: &Traffic, (ephemeral, _): (bool, bool)) -> String {
        let below = self.lowest;
        if !ephemeral {
            // Outside the kernel's range the collision cannot happen on this host; the dynamic
            // range is still where other systems pick their ports.
            return format!(
                "other systems pick their source ports there; move the service below {below}"
            );
        }
        let ports = Self::ports(inside);
        let list: Vec<String> = ports
            .ranges()
            .iter()
            .map(|&(lo, hi)| PortRange { lo, hi }.to_string())
            .collect();
        format!(
            "move the service below {below}, or reserve the ports with `sysctl net.ipv4.ip_local_reserved_ports={}`",
            list.join(",")
        )
    }
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "ephemeral-port")
    }

    #[test]
    fn a_bind_in_both_ranges_names_both() {
        let found = findings("bind app on 0.0.0.0 tcp/50000 as app\n");
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert!(
            d.message.contains("`app` listens on tcp/50000"),
            "{}",
            d.message
        );
        assert!(d
            .message
            .contains("ephemeral range (32768-60999) and the IANA dynamic range (49152-65535)"));
        assert!(d
            .help
            .as_deref()
            .unwrap()
            .contains("ip_local_reserved_ports=50000"));
    }

    #[test]
    fn only_the_dynamic_range() {
        let found = findings("bind app on 0.0.0.0 udp/62000 as app\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("inside the IANA dynamic range"),
            "{}",
            found[0].message
        );
        assert!(!found[0].message.contains("ephemeral range"));
    }

    #[test]
    fn inbound_allows_are_reported_but_not_output_or_deny() {
        let found = findings("input drop {\n  allow tcp/40000\n  deny tcp/40001\n}\noutput accept {\n  allow tcp/40002\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("`allow tcp/40000` admits tcp/40000"),
            "{}",
            found[0].message
        );
        assert!(found[0].help.as_deref().unwrap().contains("established"));
    }

    #[test]
    fn whole_protocols_and_mostly_outside_ranges_are_not_reported() {
        assert!(findings(
            "input drop {\n  allow udp\n  allow tcp/30000-33000\n  allow tcp/1024-8080\n}\n"
        )
        .is_empty());
        // Mostly inside: reported, with the part inside.
        let found = findings("input drop {\n  allow tcp/30000-40000\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("admits tcp/32768-40000"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn the_ephemeral_range_comes_from_the_configuration() {
        use crate::config::Settings;
        use crate::lint::Levels;
        let settings = Settings {
            config: Settings::parse("portcullis.yaml", "lint:\n  ephemeral-range: 10000-20000\n")
                .unwrap(),
            ..Settings::default()
        };
        let levels = Levels::from_config(&settings.config.lint);
        let text = "bind app on 0.0.0.0 tcp/15000, tcp/40000 as app\n";
        let checked =
            crate::pipeline::check(crate::load::load_text("test.pcl", text), &settings, &levels);
        let found: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.rule == "ephemeral-port")
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .contains("tcp/15000, inside the Linux ephemeral range (10000-20000)"),
            "{}",
            found[0].message
        );
        assert!(found[0].help.as_deref().unwrap().contains("below 10000"));
    }

    #[test]
    fn user_ports_are_not_reported() {
        assert!(findings(
            "bind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  allow tcp/8080, https\n}\n"
        )
        .is_empty());
    }
}
