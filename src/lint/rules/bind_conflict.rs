//! `bind-conflict`: two listeners of one host on the same protocol, port and address.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::diagnostic::Diagnostic;
use crate::lint::describe::join_and;
use crate::lint::LintContext;
use crate::model::{AddrSet, Bind, Host, Protocol, Traffic};

crate::declare_lint! {
    /// Two binds of a host claim the same protocol and port on overlapping addresses.
    ///
    /// ## What it does
    /// Compares the binds of each host and reports a bind whose protocol and ports intersect an
    /// earlier bind's on an overlapping address. `0.0.0.0` overlaps every IPv4 address; `::`
    /// overlaps every IPv6 address, and every IPv4 address too when it is dual-stack. Two
    /// different specific addresses (`127.0.0.1` and `10.0.0.1`) do not overlap, and neither do
    /// TCP and UDP on the same port number.
    ///
    /// A listener on `::` is IPv6 only when written `bind nginx on :: v6only ...`, and also when
    /// the same process listens on `0.0.0.0` for the same ports: nginx, sshd, postfix and most
    /// daemons that listen on both set `IPV6_V6ONLY` on the `::` socket, so the normal
    /// dual-stack daemon is no conflict. Otherwise `::` is dual-stack, Linux's default; write
    /// `dual-stack` to say so explicitly (then the same process on `0.0.0.0` does conflict).
    ///
    /// ## Why it matters
    /// Only one socket can hold a port on an address. Whichever process starts second fails
    /// with "address already in use", so one of the two services the policy describes never
    /// runs, and which one depends on start-up order.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx on 0.0.0.0   http, https as root
    ///   bind app   on 127.0.0.1 tcp/80 as www-data
    /// }
    /// ```
    ///
    /// ## Fix
    /// Move one of the services to another port, or bind each listener to its own specific
    /// address instead of `0.0.0.0` or `::`. If the listener on `::` is IPv6-only
    /// (`IPV6_V6ONLY`, as nginx sets for `[::]` when it also listens on `0.0.0.0`), write it:
    /// `bind app on :: v6only tcp/8080`.
    pub static BIND_CONFLICT = {
        name: "bind-conflict",
        code: "PC103",
        category: Ports,
        default_level: Error,
    }
}

/// How many earlier listeners to name in the message, and to point at, before summarising.
const MAX_NAMED: usize = 3;
const MAX_LABELS: usize = 5;

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for host in &ctx.policy.hosts {
        check_host(host, out);
    }
}

fn check_host(host: &Host, out: &mut Vec<Diagnostic>) {
    let binds = &host.binds;
    let listens: Vec<AddrSet> = binds.iter().map(Bind::listens_on).collect();
    // (later, earlier) pairs of binds that share a port and an address, sorted so that all the
    // conflicts of one bind are consecutive.
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for protocol in Protocol::ALL {
        // A sweep over the port intervals of every bind, sorted by their first port: only
        // intervals still open when another starts can intersect it, so binds on different
        // ports are never compared.
        let mut intervals: Vec<(u16, u16, usize)> = binds
            .iter()
            .enumerate()
            .flat_map(|(i, b)| {
                b.traffic
                    .of(protocol)
                    .ranges()
                    .iter()
                    .map(move |&(lo, hi)| (lo, hi, i))
            })
            .collect();
        intervals.sort_unstable();
        let mut open: Vec<(u16, usize)> = Vec::new();
        for (lo, hi, i) in intervals {
            open.retain(|&(end, _)| end >= lo);
            for &(_, k) in &open {
                if k != i && listens[k].intersects(&listens[i]) {
                    pairs.insert((k.max(i), k.min(i)));
                }
            }
            open.push((hi, i));
        }
    }
    let mut pairs = pairs.into_iter().peekable();
    while let Some((later, first)) = pairs.next() {
        let mut earlier = vec![first];
        while let Some(&(_, next)) = pairs.peek().filter(|&&(l, _)| l == later) {
            earlier.push(next);
            pairs.next();
        }
        out.push(conflict(binds, later, &earlier));
    }
}

/// The finding for `later`, which conflicts with each of `earlier`.
fn conflict(binds: &[Bind], later: usize, earlier: &[usize]) -> Diagnostic {
    let bind = &binds[later];
    let shared = earlier.iter().fold(Traffic::empty(), |t, &i| {
        t.union(&binds[i].traffic.intersection(&bind.traffic))
    });
    let mut others: Vec<String> = earlier
        .iter()
        .take(MAX_NAMED)
        .map(|&i| format!("`{}` on `{}`", binds[i].process, binds[i].address))
        .collect();
    if earlier.len() > MAX_NAMED {
        others.push(format!("{} other listeners", earlier.len() - MAX_NAMED));
    }
    let mut d = Diagnostic::new(
        &BIND_CONFLICT,
        bind.span,
        format!(
            "`{}` binds {shared} on `{}`, which {} already bind{}",
            bind.process,
            bind.address,
            join_and(&others),
            if earlier.len() == 1 { "s" } else { "" },
        ),
    )
    .label(format!("{shared} on `{}`", bind.address));
    for &i in earlier.iter().take(MAX_LABELS) {
        d = d.secondary(binds[i].span, "also bound here");
    }
    let mut help = String::from(
        "only one socket can hold a port on an address, so the process started second fails with \
         \"address already in use\"",
    );
    let addresses: Vec<IpAddr> = std::iter::once(bind.address)
        .chain(earlier.iter().map(|&i| binds[i].address))
        .collect();
    if let Some(note) = coverage_note(&addresses) {
        help.push_str(&format!(" ({note})"));
    }
    help.push_str("; move one service to another port, or bind each to its own specific address");
    let v4_any = addresses
        .iter()
        .any(|a| matches!(a, IpAddr::V4(v4) if v4.is_unspecified()));
    let v6_any = addresses
        .iter()
        .any(|a| matches!(a, IpAddr::V6(v6) if v6.is_unspecified()));
    if v4_any && v6_any {
        help.push_str(
            ". If the listener on `::` is IPv6-only (IPV6_V6ONLY), both binds work: write it after the address, `on :: v6only`",
        );
    }
    d.help(help)
}

/// Why different addresses overlap: the wildcard addresses among them.
fn coverage_note(addresses: &[IpAddr]) -> Option<String> {
    if addresses.iter().all(|a| *a == addresses[0]) {
        return None;
    }
    let mut notes = Vec::new();
    if addresses
        .iter()
        .any(|a| matches!(a, IpAddr::V4(v4) if v4.is_unspecified()))
    {
        notes.push("`0.0.0.0` covers every IPv4 address");
    }
    if addresses
        .iter()
        .any(|a| matches!(a, IpAddr::V6(v6) if v6.is_unspecified()))
    {
        notes
            .push("`::` covers every IPv4 and IPv6 address when it is dual-stack, Linux's default");
    }
    (!notes.is_empty()).then(|| notes.join(", and "))
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "bind-conflict")
    }

    #[test]
    fn wildcard_overlaps_a_specific_address() {
        let found =
            findings("bind nginx on 0.0.0.0 http as root\nbind app on 127.0.0.1 tcp/80 as app\n");
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert!(
            d.message.contains(
                "`app` binds tcp/80 on `127.0.0.1`, which `nginx` on `0.0.0.0` already binds"
            ),
            "{}",
            d.message
        );
        assert_eq!(d.secondary.len(), 1);
        assert_eq!(d.secondary[0].message, "also bound here");
    }

    #[test]
    fn different_specific_addresses_do_not_overlap() {
        assert!(findings(
            "bind a on 127.0.0.1 tcp/8080 as app\nbind b on 10.0.0.1 tcp/8080 as app\n"
        )
        .is_empty());
    }

    #[test]
    fn different_protocols_or_ports_do_not_conflict() {
        assert!(
            findings("bind dns on 0.0.0.0 domain/tcp\nbind dns2 on 0.0.0.0 domain/udp\n")
                .is_empty()
        );
        assert!(findings("bind a on 0.0.0.0 tcp/80\nbind b on 0.0.0.0 tcp/81\n").is_empty());
    }

    #[test]
    fn ipv6_wildcard_is_dual_stack() {
        let found = findings("bind a on :: tcp/443\nbind b on 192.0.2.1 https\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].help.as_deref().unwrap().contains("dual-stack"));
        // `::1` and `127.0.0.1` are different loopback addresses.
        assert!(findings("bind a on ::1 tcp/443\nbind b on 127.0.0.1 tcp/443\n").is_empty());
    }

    #[test]
    fn ranges_that_intersect_conflict() {
        let found =
            findings("bind a on 0.0.0.0 udp/10000-10100\nbind b on 0.0.0.0 udp/10050-10200\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("udp/10050-10100"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn three_listeners_are_grouped_on_the_last() {
        let found =
            findings("bind a on 0.0.0.0 tcp/80\nbind b on 10.0.0.1 tcp/80\nbind c on :: tcp/80\n");
        // b conflicts with a; c with a and b.
        assert_eq!(found.len(), 2);
        let last = found.iter().find(|d| d.message.starts_with("`c`")).unwrap();
        assert_eq!(last.secondary.len(), 2);
        assert!(
            last.message
                .contains("`a` on `0.0.0.0` and `b` on `10.0.0.1` already bind"),
            "{}",
            last.message
        );
        assert!(last.help.as_deref().unwrap().contains("IPV6_V6ONLY"));
    }

    #[test]
    fn one_finding_per_bind_whatever_the_order_of_conflicts() {
        let found = findings(
            "bind a on 0.0.0.0 tcp/80\nbind b on 0.0.0.0 tcp/90\nbind c on 10.0.0.1 tcp/80, tcp/90\nbind d on 10.0.0.3 tcp/80\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].message.starts_with("`c` binds tcp/80,90"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].secondary.len(), 2);
        assert!(
            found[1].message.starts_with("`d` binds tcp/80"),
            "{}",
            found[1].message
        );
        assert_eq!(found[1].secondary.len(), 1);
    }

    #[test]
    fn binds_of_different_hosts_do_not_conflict() {
        assert!(findings(
            "host a {\n  bind x on 0.0.0.0 tcp/80\n}\nhost b {\n  bind y on 0.0.0.0 tcp/80\n}\n"
        )
        .is_empty());
    }

    #[test]
    fn the_same_daemon_on_both_wildcards_is_no_conflict() {
        // nginx, sshd and postfix listen on `0.0.0.0` and on `::` with IPV6_V6ONLY.
        let text = "bind nginx on 0.0.0.0 http, https as root\nbind nginx on :: http, https as root\nbind sshd on 0.0.0.0 ssh as root\nbind sshd on :: ssh as root\n";
        assert!(findings(text).is_empty(), "{:?}", findings(text));
    }

    #[test]
    fn stacks_can_be_written() {
        // Two programs: one on `::` IPv6 only, the other on `0.0.0.0`.
        let text = "bind a on :: v6only tcp/8080\nbind b on 0.0.0.0 tcp/8080\n";
        assert!(findings(text).is_empty());
        // The same program, but its `::` socket says it is dual-stack: both cannot bind.
        let text = "bind a on 0.0.0.0 tcp/8080\nbind a on :: dual-stack tcp/8080\n";
        assert_eq!(findings(text).len(), 1);
        // Two programs, `::` unspecified: dual-stack by default, a conflict, with the fix named.
        let found = findings("bind a on :: tcp/8080\nbind b on 0.0.0.0 tcp/8080\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].help.as_deref().unwrap().contains("on :: v6only"));
    }

    #[test]
    fn a_stack_belongs_to_the_ipv6_wildcard_only() {
        let found = crate::lint::findings_in("bind a on 0.0.0.0 v6only tcp/80\n", "syntax-error");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("only to a listener on `::`"));
    }
}
