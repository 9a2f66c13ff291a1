//! `ftp-data-channel`: ftp is allowed in, but its data connections will not be.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;
use crate::model::{
    AddrSet, Chain, Host, IntervalSet, Origin, PortRange, Protocol, Rule, Traffic, Transport,
};
use crate::model::{ChainKind, Verdict};
use crate::source::Span;

use crate::lint::exposure::{
    admitted, admitted_by_index, is_inbound, loopback_only, Admitted, Probe,
};

crate::declare_lint! {
    /// An ftp server is allowed in, but its passive data connections will be dropped.
    ///
    /// ## What it does
    /// An ftp client opens a control connection, then, in passive mode, a second connection to
    /// a port the server picks. When ftp (tcp/21) is allowed, the compiler attaches the kernel's
    /// ftp connection-tracking helper, which reads the server's replies on tcp/21 and lets that
    /// second connection in as *related* (see "The FTP helper" in docs/compile.md). Nothing
    /// needs to be allowed for it; that is the common case, and it is not reported.
    ///
    /// The helper cannot do its job, and this rule reports the `allow` that lets the control
    /// connection in, when:
    ///
    /// - the server runs on **another port**: a port of a service the policy or an overlay
    ///   defines with `ftp` in a word of its name (`service ftp-alt = tcp/2121`), or a port bound
    ///   by a process named so (`bind vsftpd on 0.0.0.0 tcp/2121`). The helper only watches
    ///   tcp/21. Ranges of 10 ports or more in such a service or bind are taken for its passive
    ///   range, not for control ports.
    /// - it is **implicit FTPS** (`ftps`, tcp/990): the helper cannot read an encrypted control
    ///   connection.
    /// - the compiler's `established` baseline is **off**: related connections are not accepted
    ///   by anything.
    ///
    /// ...and the same chain does not allow a passive port range instead: an `allow` that lets
    /// in a TCP range of at least 10 ports from 1024 up, from sources that overlap the ftp
    /// rule's. `sftp` (part of ssh) and `tftp` are not ftp. Chains whose default is `accept`
    /// are not reported: the data connections fall through to it. Explicit FTPS (`AUTH TLS` on
    /// tcp/21) blinds the helper too, but cannot be told from the policy.
    ///
    /// ## Why it matters
    /// Clients log in, then hang on the first directory listing or transfer: the control
    /// connection works, every data connection times out. The firewall is rarely the first
    /// suspect.
    ///
    /// ## Example
    /// ```text
    /// service ftp-alt = tcp/2121
    ///
    /// host files-1 {
    ///   bind vsftpd on 0.0.0.0 ftp-alt as ftp
    ///   input drop {
    ///     allow ftp-alt from partners
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Pin the server's passive ports (vsftpd: `pasv_min_port`, `pasv_max_port`; proftpd:
    /// `PassivePorts`) below the ephemeral range, and allow them from the same sources:
    /// `allow ftp-alt, tcp/21100-21199 from partners`. Or run plain ftp on tcp/21, where the
    /// helper follows it.
    pub static FTP_DATA_CHANNEL = {
        name: "ftp-data-channel",
        code: "PC306",
        category: Exposure,
        default_level: Warning,
    }
}

/// The fewest ports an allowed range needs to count as a passive port range.
const MIN_PASSIVE_PORTS: u32 = 10;

const FTP: u16 = 21;
const FTPS: u16 = 990;

/// Why the helper cannot follow an ftp control port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reason {
    /// Not tcp/21: the helper does not look at it.
    OtherPort,
    /// tcp/990: the control connection is encrypted.
    Implicit,
    /// The established/related baseline is off.
    NoRelated,
}

/// ftp control ports of one chain the helper cannot follow.
struct Control {
    ports: IntervalSet<u16>,
    reason: Reason,
    /// A bind that makes the port ftp, to point at.
    bind: Option<(Span, String)>,
}

/// `vsftpd`, `proftpd`, `pure-ftpd`, `ftp-alt`, `myftp`; not `sftp-server`, `in.tftpd`,
/// `ftp-data`: a word of the name holds `ftp` and does not start with `sftp` or `tftp`.
fn ftp_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.contains("ftp-data")
        && !name.contains("ftps-data")
        && name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| {
                word.contains("ftp") && !word.starts_with("sftp") && !word.starts_with("tftp")
            })
}

fn is_own_definition(origin: &Origin) -> bool {
    matches!(origin, Origin::Policy(_) | Origin::Overlay { .. })
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let related = ctx.compile.baseline.established;
    for (host, chain) in ctx.chains() {
        if !is_inbound(chain.kind) || chain.policy == Verdict::Accept {
            continue;
        }
        let controls = controls(related, host, chain);
        if controls.is_empty() {
            continue;
        }
        let control_ports = controls
            .iter()
            .fold(IntervalSet::empty(), |s, c| s.union(&c.ports));
        let probes: Vec<Probe> = controls
            .iter()
            .map(|c| Probe::traffic(tcp(&c.ports)))
            .collect();
        let controls_admitted = admitted(chain, &probes, |r| !loopback_only(r));
        if controls_admitted.is_empty() {
            continue;
        }
        // Asked only now, as it can take most of the chain.
        let passive_sources = passive_sources(ctx, chain, &control_ports);
        let found = unfollowed(
            chain,
            &controls,
            &probes,
            controls_admitted,
            &passive_sources,
        );
        for ((index, service), k) in found {
            let rule = &chain.rules[index];
            out.push(report(ctx, rule, service, &controls[k]));
        }
    }
}

/// The ftp control ports of a chain the helper cannot follow: of tcp/21 and tcp/990, of the ftp
/// services of the policy and overlays the chain allows, and, in an input chain, of the host's
/// ftp servers.
fn controls(related: bool, host: &Host, chain: &Chain) -> Vec<Control> {
    let mut controls: Vec<Control> = Vec::new();
    push_controls(&mut controls, related, IntervalSet::range(FTP, FTP), None);
    push_controls(&mut controls, related, IntervalSet::range(FTPS, FTPS), None);
    let mut named = IntervalSet::empty();
    for rule in chain
        .rules
        .iter()
        .filter(|r| r.resolved && r.verdict == Verdict::Accept)
    {
        for service in &rule.services {
            if is_own_definition(&service.origin) && service.name.as_deref().is_some_and(ftp_like) {
                named = named.union(service.traffic.of(Protocol::Tcp));
            }
        }
    }
    push_controls(&mut controls, related, control_part(&named), None);
    if chain.kind == ChainKind::Input {
        for bind in host
            .binds
            .iter()
            .filter(|b| ftp_like(&b.process) && !b.is_loopback())
        {
            push_controls(
                &mut controls,
                related,
                control_part(bind.traffic.of(Protocol::Tcp)),
                Some((bind.span, bind.process.clone())),
            );
        }
    }
    controls
}

/// The control ports `ports` of an ftp server, by why the helper cannot follow them: tcp/21 when
/// related connections are not accepted, tcp/990 as implicit FTPS, any other as another port.
fn push_controls(
    controls: &mut Vec<Control>,
    related: bool,
    ports: IntervalSet<u16>,
    bind: Option<(Span, String)>,
) {
    // tcp/21 is followed by the helper whenever related connections are accepted.
    let (standard, other) = (
        ports.intersection(&IntervalSet::range(FTP, FTP)),
        ports.difference(&IntervalSet::range(FTP, FTP)),
    );
    if !related && !standard.is_empty() {
        controls.push(Control {
            ports: standard,
            reason: Reason::NoRelated,
            bind: bind.clone(),
        });
    }
    let implicit = other.intersection(&IntervalSet::range(FTPS, FTPS));
    if !implicit.is_empty() {
        controls.push(Control {
            ports: implicit,
            reason: Reason::Implicit,
            bind: bind.clone(),
        });
    }
    let other = other.difference(&IntervalSet::range(FTPS, FTPS));
    if !other.is_empty() {
        controls.push(Control {
            ports: other,
            reason: Reason::OtherPort,
            bind,
        });
    }
}

/// Where passive data connections are let in from: the sources of the allows of a passive range
/// that let some of it in.
fn passive_sources(ctx: &LintContext, chain: &Chain, control_ports: &IntervalSet<u16>) -> AddrSet {
    let passive_ports = IntervalSet::range(1024, u16::MAX).difference(control_ports);
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for index in passive_allows(ctx, chain, control_ports, &passive_ports) {
        v4.extend_from_slice(chain.rules[index].src.v4.ranges());
        v6.extend_from_slice(chain.rules[index].src.v6.ranges());
    }
    AddrSet {
        v4: IntervalSet::from_ranges(v4),
        v6: IntervalSet::from_ranges(v6),
    }
}

/// The allows that let an ftp control connection in where the helper cannot follow it, from
/// sources no passive range is allowed from (and not on loopback only): (rule, service reference
/// or the whole rule) -> the control it lets in; of several, the one whose reason comes first.
fn unfollowed(
    chain: &Chain,
    controls: &[Control],
    probes: &[Probe],
    controls_admitted: Vec<Admitted>,
    passive_sources: &AddrSet,
) -> BTreeMap<(usize, Option<usize>), usize> {
    let mut found: BTreeMap<(usize, Option<usize>), usize> = BTreeMap::new();
    for a in controls_admitted {
        let Some(index) = a.rule else { continue };
        let rule = &chain.rules[index];
        if loopback_only(rule) || rule.src.intersects(passive_sources) {
            continue;
        }
        let probe = &probes[a.probe].traffic;
        let services: Vec<usize> = (0..rule.services.len())
            .filter(|&u| rule.services[u].traffic.intersects(probe))
            .collect();
        if services.is_empty() {
            found.entry((index, None)).or_insert(a.probe);
        }
        for u in services {
            let slot = found.entry((index, Some(u))).or_insert(a.probe);
            if controls[a.probe].reason < controls[*slot].reason {
                *slot = a.probe;
            }
        }
    }
    found
}

/// The allows of a passive range (not on loopback only) that accept some tcp packet to
/// `passive_ports`, in chain order.
///
/// Within the passive ports a rule decides the same packets as in the whole chain, so the chain's
/// coverage analysis, made for the coverage rules anyway, answers for most rules: one that wins
/// nothing lets nothing in, and one whose example packet is a passive one lets that in. The
/// others, whose example lies elsewhere, are analysed again, on their own passive ports only:
/// rules that touch none of those cannot change who decides them.
fn passive_allows(
    ctx: &LintContext,
    chain: &Chain,
    control_ports: &IntervalSet<u16>,
    passive_ports: &IntervalSet<u16>,
) -> Vec<usize> {
    let coverage = ctx.coverage_of(chain);
    let mut found = Vec::new();
    let mut unsure = vec![false; chain.rules.len()];
    let mut unsure_ports = IntervalSet::empty();
    for (index, rule) in chain.rules.iter().enumerate() {
        let candidate = rule.resolved
            && rule.verdict == Verdict::Accept
            && !loopback_only(rule)
            && has_passive_range(rule, control_ports);
        if !candidate {
            continue;
        }
        match &coverage.rules[index].wins {
            None => {}
            Some(p) if matches!(p.transport, Transport::Port(Protocol::Tcp, port) if passive_ports.contains(port)) =>
            {
                found.push(index);
            }
            Some(_) => {
                unsure[index] = true;
                unsure_ports = unsure_ports.union(rule.traffic.of(Protocol::Tcp));
            }
        }
    }
    let probe_ports = unsure_ports.intersection(passive_ports);
    if !probe_ports.is_empty() {
        let probe = Probe::traffic(tcp(&probe_ports));
        found.extend(
            admitted_by_index(chain, &[probe], |index, _| unsure[index])
                .into_iter()
                .filter_map(|a| a.rule),
        );
        found.sort_unstable();
    }
    found
}

/// The control ports among an ftp service's or server's ports: a range long enough to be a
/// passive port range (`service ftp-alt = tcp/2121, tcp/21100-21199`) is the data channel.
fn control_part(ports: &IntervalSet<u16>) -> IntervalSet<u16> {
    IntervalSet::from_ranges(
        ports
            .ranges()
            .iter()
            .copied()
            .filter(|&(lo, hi)| PortRange { lo, hi }.port_count() < MIN_PASSIVE_PORTS),
    )
}

fn tcp(ports: &IntervalSet<u16>) -> Traffic {
    let mut t = Traffic::empty();
    t.ports[Protocol::Tcp.index()] = ports.clone();
    t
}

/// Whether a rule lets in a TCP range of at least [`MIN_PASSIVE_PORTS`] unprivileged ports that
/// are not ftp control ports.
fn has_passive_range(rule: &Rule, control: &IntervalSet<u16>) -> bool {
    rule.traffic
        .of(Protocol::Tcp)
        .intersection(&IntervalSet::range(1024, u16::MAX))
        .difference(control)
        .ranges()
        .iter()
        .any(|&(lo, hi)| PortRange { lo, hi }.port_count() >= MIN_PASSIVE_PORTS)
}

fn report(ctx: &LintContext, rule: &Rule, service: Option<usize>, control: &Control) -> Diagnostic {
    let (span, text) = match service {
        Some(u) => (rule.services[u].span, rule.services[u].text.to_string()),
        None => (rule.span, rule_text(ctx.sources, rule)),
    };
    let ports = tcp(&control.ports);
    let what = match control.reason {
        Reason::OtherPort => {
            let on = if text == ports.to_string() { String::new() } else { format!(" on {ports}") };
            format!(
                "`{text}` lets in an ftp server{on}, but the ftp connection-tracking helper only watches tcp/21"
            )
        }
        Reason::Implicit => format!(
            "`{text}` lets in ftp over TLS ({ports}), whose encrypted replies the ftp connection-tracking helper cannot read"
        ),
        Reason::NoRelated => format!(
            "`{text}` lets in ftp, but with the compiler's `established` baseline off nothing accepts the data connections the ftp helper relates to it"
        ),
    };
    let mut d = Diagnostic::new(
        &FTP_DATA_CHANNEL,
        span,
        format!("{what}: passive data connections will be dropped"),
    )
    .label("no passive port range is allowed from the same sources");
    if let Some((bind, process)) = &control.bind {
        d = d.secondary(*bind, format!("`{process}` listens here, so this is ftp"));
    }
    if let Some(Origin::Policy(definition)) = service.map(|u| &rule.services[u].origin) {
        d = d.secondary(*definition, format!("`{text}` is defined here"));
    }
    let from = if rule.src_names.is_empty() {
        if rule.src.is_any() {
            String::new()
        } else {
            " from <clients>".to_string()
        }
    } else {
        let bang = if rule.src_negated { "!" } else { "" };
        let names: Vec<String> = rule
            .src_names
            .iter()
            .map(|n| format!("{bang}{n}"))
            .collect();
        format!(" from {}", names.join(", "))
    };
    let fix = format!(
        "pin the server's passive ports (vsftpd: `pasv_min_port`/`pasv_max_port`) and allow them from the same sources: `allow tcp/21100-21199{from}`"
    );
    d.help(match control.reason {
        Reason::OtherPort => {
            format!("{fix}; or run the server on tcp/21, where the helper follows it")
        }
        Reason::Implicit => fix,
        Reason::NoRelated => {
            format!("turn `established` back on under `compile.baseline`, or {fix}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::lint::{Levels, LintContext};
    use crate::pipeline;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, FTP_DATA_CHANNEL.name)
    }

    #[test]
    fn ftp_servers_are_told_from_sftp_and_tftp() {
        for name in ["vsftpd", "proftpd", "pure-ftpd", "ftp-alt", "myftp", "FTPS"] {
            assert!(ftp_like(name), "{name}");
        }
        for name in [
            "sftp-server",
            "internal-sftp",
            "in.tftpd",
            "tftp",
            "ftp-data",
            "nginx",
        ] {
            assert!(!ftp_like(name), "{name}");
        }
    }

    #[test]
    fn plain_ftp_is_followed_by_the_helper() {
        assert!(findings("input drop {\n  allow ftp from 10.0.0.0/8\n}\n").is_empty());
        assert!(findings("input drop {\n  allow tcp/21\n}\n").is_empty());
    }

    #[test]
    fn an_ftp_service_on_another_port_needs_a_passive_range() {
        let policy =
            "service ftp-alt = tcp/2121\ninput drop {\n  allow ftp-alt from 10.0.0.0/8\n}\n";
        let found = findings(policy);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("tcp/2121"),
            "{}",
            found[0].message
        );
        let fixed = "service ftp-alt = tcp/2121\ninput drop {\n  allow ftp-alt, tcp/21100-21199 from 10.0.0.0/8\n}\n";
        assert!(findings(fixed).is_empty());
    }

    #[test]
    fn a_passive_range_for_other_sources_does_not_help() {
        let policy = "service ftp-alt = tcp/2121\ninput drop {\n  allow ftp-alt from 10.0.0.0/8\n  allow tcp/21100-21199 from 192.0.2.0/24\n}\n";
        assert_eq!(findings(policy).len(), 1);
        // A single high port is not a passive range.
        let policy = "service ftp-alt = tcp/2121\ninput drop {\n  allow ftp-alt, tcp/8080\n}\n";
        assert_eq!(findings(policy).len(), 1);
    }

    #[test]
    fn a_shadowed_passive_range_does_not_count() {
        let policy = "service ftp-alt = tcp/2121\ninput drop {\n  deny tcp/20000-30000\n  allow ftp-alt from 10.0.0.0/8\n  allow tcp/21100-21199 from 10.0.0.0/8\n}\n";
        assert_eq!(findings(policy).len(), 1);
    }

    #[test]
    fn a_passive_range_is_found_where_its_rule_first_decides_other_ports() {
        // The allow first decides tcp/1000, below the passive ports; its passive part still
        // counts, unless an earlier rule decides all of that part.
        let policy = "service ftp-alt = tcp/2121\ninput drop {\n  allow ftp-alt from 10.0.0.0/8\n  allow tcp/1000-1100 from 10.0.0.0/8\n}\n";
        assert!(findings(policy).is_empty());
        let policy = "service ftp-alt = tcp/2121\ninput drop {\n  deny tcp/1024-1100\n  allow ftp-alt from 10.0.0.0/8\n  allow tcp/1000-1100 from 10.0.0.0/8\n}\n";
        assert_eq!(findings(policy).len(), 1);
    }

    proptest::proptest! {
        /// The passive allows found with the help of the chain's coverage are those a direct
        /// analysis of the passive ports finds.
        #[test]
        fn passive_allows_agree_with_a_direct_analysis(
            rules in proptest::collection::vec(
                (0..3usize, 0..6usize, 0..4usize, 0..4usize),
                1..14,
            )
        ) {
            let mut text = String::from("net a = 10.1.0.0/16\ninput drop {\n");
            for (verdict, lo, width, from) in rules {
                let lo = [20, 990, 1000, 1020, 2121, 40000][lo];
                let hi = lo + [0, 5, 40, 200][width];
                let from = ["", " from a", " from 10.1.2.0/24", " from 192.0.2.0/24"][from];
                let verdict = ["allow", "deny", "allow udp/53,"][verdict];
                text.push_str(&format!("  {verdict} tcp/{lo}-{hi}{from}\n"));
            }
            text.push_str("}\n");
            let (loaded, policy, _) = crate::resolve::resolve_text("t.pcl", &text, &[]);
            let settings = Settings::default();
            let ctx = LintContext::new(
                &policy,
                &loaded.sources,
                &settings.config.lint,
                &settings.config.compile,
            );
            let chain = &policy.hosts[0].chains[0];
            let control = IntervalSet::range(2121, 2121);
            let passive = IntervalSet::range(1024, u16::MAX).difference(&control);
            let direct: Vec<usize> = admitted(chain, &[Probe::traffic(tcp(&passive))], |r| {
                !loopback_only(r) && has_passive_range(r, &control)
            })
            .into_iter()
            .filter_map(|a| a.rule)
            .collect();
            proptest::prop_assert_eq!(passive_allows(&ctx, chain, &control, &passive), direct);
        }
    }

    #[test]
    fn a_passive_range_listed_with_the_server_is_not_a_control_port() {
        let policy = "bind vsftpd on 0.0.0.0 tcp/2121, tcp/21100-21199 as ftp\ninput drop {\n  allow tcp/2121, tcp/21100-21199\n}\n";
        assert!(findings(policy).is_empty());
    }

    #[test]
    fn a_bind_named_like_an_ftp_server_makes_its_port_ftp() {
        let policy = "bind vsftpd on 0.0.0.0 tcp/2121 as ftp\ninput drop {\n  allow tcp/2121\n}\n";
        let found = findings(policy);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].secondary.len(), 1, "{found:?}");
        assert!(findings(
            "bind sftp-server on 0.0.0.0 tcp/2222 as root\ninput drop {\n  allow tcp/2222\n}\n"
        )
        .is_empty());
    }

    #[test]
    fn implicit_ftps_blinds_the_helper() {
        assert_eq!(findings("input drop {\n  allow ftps\n}\n").len(), 1);
        assert!(findings("input drop {\n  allow ftps, tcp/50000-50100\n}\n").is_empty());
    }

    #[test]
    fn accept_defaults_and_output_chains_are_not_reported() {
        assert!(findings("input accept {\n  allow ftps\n}\n").is_empty());
        assert!(findings("output drop {\n  allow ftps\n}\n").is_empty());
    }

    #[test]
    fn without_related_connections_even_plain_ftp_breaks() {
        let mut settings = Settings::default();
        settings.config.compile.baseline.established = false;
        let levels = Levels::from_config(&settings.config.lint);
        let found: Vec<_> = pipeline::check(
            crate::load::load_text("t.pcl", "input drop {\n  allow ftp from 10.0.0.0/8\n}\n"),
            &settings,
            &levels,
        )
        .diagnostics
        .into_iter()
        .filter(|d| d.rule == FTP_DATA_CHANNEL.name)
        .collect();
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`established`"),
            "{}",
            found[0].message
        );
    }
}
