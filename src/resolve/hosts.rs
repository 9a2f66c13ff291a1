//! Hosts, their binds, chains, rules and port forwards.

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::model::{self, baseline, AddrSet, Family, Host, Protocol, RuleOrigin, Traffic};
use crate::rule::{INVALID_ADDRESS, INVALID_PORT, SYNTAX_ERROR};
use crate::source::Span;
use crate::syntax::ast::{self, HostItem, Item, PolicyFile};

use super::definitions::duplicate;
use super::nets::{NetResolver, Resolved};
use super::services::ServiceResolver;

/// Resolves every host.
pub fn resolve_hosts(
    files: &[PolicyFile],
    services: &mut ServiceResolver,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
    baseline: baseline::Parts,
) -> Vec<Host> {
    let mut hosts: Vec<Host> = Vec::new();
    let mut name_spans: Vec<Span> = Vec::new();
    let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut top_level: Vec<&HostItem> = Vec::new();
    for file in files {
        for item in &file.items {
            match item {
                Item::Host(block) => {
                    if let Some(&i) = by_name.get(block.name.node.as_str()) {
                        diagnostics.push(duplicate(
                            "host",
                            &block.name.node,
                            block.name.span,
                            name_spans[i],
                        ));
                        continue;
                    }
                    let items: Vec<&HostItem> = block.items.iter().collect();
                    hosts.push(resolve_host(
                        Some(block.name.node.clone()),
                        block.name.span,
                        &items,
                        services,
                        nets,
                        diagnostics,
                        baseline,
                    ));
                    by_name.insert(&block.name.node, name_spans.len());
                    name_spans.push(block.name.span);
                }
                Item::HostItem(item) => top_level.push(item),
                _ => {}
            }
        }
    }
    if let Some(first) = top_level.first() {
        let span = host_item_span(first);
        if let Some(named) = name_spans.first() {
            diagnostics.push(
                Diagnostic::new(
                    &SYNTAX_ERROR,
                    span,
                    "top-level chains and binds cannot be mixed with `host` blocks",
                )
                .label("outside any host block")
                .secondary(*named, "a host block")
                .help("move this into a `host NAME { ... }` block, or remove the host blocks"),
            );
        } else {
            hosts.push(resolve_host(
                None,
                span,
                &top_level,
                services,
                nets,
                diagnostics,
                baseline,
            ));
        }
    }
    hosts
}

fn host_item_span(item: &HostItem) -> Span {
    match item {
        HostItem::Bind(b) => b.span,
        HostItem::Chain(c) => c.kind.span,
        HostItem::ForwardPort(f) => f.span,
        HostItem::SourceNat(n) => n.span,
    }
}

fn resolve_host(
    name: Option<String>,
    span: Span,
    items: &[&HostItem],
    services: &mut ServiceResolver,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
    baseline: baseline::Parts,
) -> Host {
    let mut host = Host {
        name,
        span,
        binds: Vec::new(),
        chains: Vec::new(),
        forwards: Vec::new(),
        source_nats: Vec::new(),
    };
    for item in items {
        match item {
            HostItem::Bind(bind) => {
                host.binds.push(resolve_bind(bind, services, diagnostics));
            }
            HostItem::Chain(chain) => {
                if let Some(first) = host.chains.iter().find(|c| c.kind == chain.kind.node) {
                    diagnostics.push(duplicate(
                        "chain",
                        chain.kind.node.as_str(),
                        chain.kind.span,
                        first.span,
                    ));
                    continue;
                }
                host.chains.push(model::Chain {
                    kind: chain.kind.node,
                    policy: chain.policy.node,
                    policy_span: chain.policy.span,
                    span: chain.kind.span,
                    rules: {
                        // Room for the baseline's rules, which go in front without a copy.
                        let mut rules = Vec::with_capacity(
                            chain.rules.len() + crate::model::baseline::MAX_RULES,
                        );
                        rules.extend(
                            chain
                                .rules
                                .iter()
                                .map(|r| resolve_rule(r, services, nets, diagnostics)),
                        );
                        rules
                    },
                    expectations: chain
                        .expectations
                        .iter()
                        .map(|e| resolve_expectation(e, services, nets, diagnostics))
                        .collect(),
                });
            }
            HostItem::ForwardPort(forward) => {
                if let Some(f) = resolve_forward(forward, nets, diagnostics) {
                    host.forwards.push(f);
                }
            }
            HostItem::SourceNat(nat) => {
                if let Some(n) = resolve_source_nat(nat, nets, diagnostics) {
                    host.source_nats.push(n);
                }
            }
        }
    }
    host.chains.sort_by_key(|c| c.kind);
    settle_stacks(&mut host.binds, items);
    host.add_implicit_rules(baseline);
    host
}

/// Whether each listener on `::` is IPv6 only: as written (`v6only`, `dual-stack`), else when the
/// same process listens on `0.0.0.0` for a port it shares, as daemons that listen on both do.
fn settle_stacks(binds: &mut [model::Bind], items: &[&HostItem]) {
    let written: Vec<Option<ast::Stack>> = items
        .iter()
        .filter_map(|item| match item {
            HostItem::Bind(b) => Some(b.stack.as_ref().map(|s| s.node)),
            _ => None,
        })
        .collect();
    let any_v4 =
        |b: &model::Bind| matches!(b.address, std::net::IpAddr::V4(a) if a.is_unspecified());
    for i in 0..binds.len() {
        let bind = &binds[i];
        let any_v6 = matches!(bind.address, std::net::IpAddr::V6(a) if a.is_unspecified());
        if !any_v6 {
            continue;
        }
        let v6only = match written.get(i).copied().flatten() {
            Some(ast::Stack::V6Only) => true,
            Some(ast::Stack::DualStack) => false,
            None => binds.iter().any(|other| {
                any_v4(other)
                    && other.process == bind.process
                    && other.traffic.intersects(&bind.traffic)
            }),
        };
        binds[i].v6only = v6only;
    }
}

fn resolve_services(
    refs: &[ast::ServiceRef],
    services: &mut ServiceResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<model::ServiceUse>, Arc<Traffic>, bool) {
    // Exactly as many as written: a rule names one service as a rule, and a vector left to grow
    // would hold room for four (a `ServiceUse` is some 300 bytes, a million rules hold one each).
    let mut uses: Vec<model::ServiceUse> = Vec::with_capacity(refs.len());
    let mut ok = true;
    for r in refs {
        match services.resolve(r, diagnostics) {
            Some(u) => uses.push(u),
            None => ok = false,
        }
    }
    let traffic = match uses.as_slice() {
        [one] => Arc::clone(&one.traffic),
        many => Arc::new(Traffic::union_all(many.iter().map(|u| &*u.traffic))),
    };
    (uses, traffic, ok)
}

fn resolve_bind(
    bind: &ast::Bind,
    services: &mut ServiceResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> model::Bind {
    let (mut uses, _, _) = resolve_services(&bind.services, services, diagnostics);
    // A bind says which ports a process listens on; ICMP and protocols without ports are
    // answered by the kernel, not by a listener.
    uses.retain(|u| {
        if !u.traffic.has_portless() || u.traffic.protocols().next().is_some() {
            return true;
        }
        diagnostics.push(
            Diagnostic::new(
                &INVALID_PORT,
                u.span,
                format!("`{}` has no ports for a process to listen on", u.text),
            )
            .label("not a port")
            .help("a bind lists the ports a process listens on, such as `tcp/8080` or `https`; ICMP and protocols without ports need no bind"),
        );
        false
    });
    let ported: Vec<Traffic> = uses
        .iter()
        .map(|u| u.traffic.only(&Protocol::ALL))
        .collect();
    let traffic = Traffic::union_all(ported.iter());
    model::Bind {
        process: bind.process.node.clone(),
        address: bind.address.node,
        address_span: bind.address.span,
        services: uses,
        traffic,
        user: bind.user.as_ref().map(|u| u.node.clone()),
        user_span: bind.user.as_ref().map(|u| u.span),
        span: bind.span,
        v6only: false,
    }
}

fn resolve_rule(
    rule: &ast::Rule,
    services: &mut ServiceResolver,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> model::Rule {
    let (uses, traffic, mut resolved) = match &rule.services {
        Some(refs) => resolve_services(refs, services, diagnostics),
        None => (Vec::new(), services.intern(Traffic::all()), true),
    };
    resolved &= !rule.broken;
    let mut side = |refs: &Option<Vec<ast::NetRef>>| {
        let side = resolve_side(refs.as_deref(), nets, diagnostics);
        resolved &= side.is_some();
        side.map_or((AddrSet::empty().into(), nets.no_names(), false), |r| {
            (r.addresses, r.names, r.negated)
        })
    };
    let (src, src_names, src_negated) = side(&rule.from);
    let (dst, dst_names, dst_negated) = side(&rule.to);
    model::Rule {
        verdict: rule.verdict.node,
        span: rule.span,
        services: uses,
        traffic,
        src,
        dst,
        src_names,
        dst_names,
        src_negated,
        dst_negated,
        interface: rule.interface.as_ref().map(interfaces),
        translated: false,
        origin: RuleOrigin::Written,
        limit: rule.limit.as_ref().map(|l| model::Limit {
            rate: l.rate,
            unit: l.unit,
            burst: l.burst,
            per_source: l.per_source,
        }),
        log: rule
            .log
            .as_ref()
            .map(|l| l.prefix.as_ref().map(|p| p.node.as_str().into())),
        counter: rule.counter.is_some(),
        resolved,
    }
}

/// A `from` or `to` list: every address when it is not written; `None` when it does not resolve
/// (reported).
fn resolve_side(
    refs: Option<&[ast::NetRef]>,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Resolved> {
    match refs {
        None => Some(Resolved {
            addresses: nets.any(),
            names: nets.no_names(),
            negated: false,
        }),
        Some(refs) => nets.resolve_list(refs, diagnostics),
    }
}

/// An `expect`, with the same look-ups (and the same findings, and the same `used` marks on the
/// definitions it names) as a rule's services, nets and interfaces. It becomes no rule.
fn resolve_expectation(
    expect: &ast::Expect,
    services: &mut ServiceResolver,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> model::Expectation {
    let (uses, traffic, mut resolved) = resolve_services(&expect.services, services, diagnostics);
    resolved &= !expect.broken;
    let mut side = |refs: &Option<Vec<ast::NetRef>>| {
        let side = resolve_side(refs.as_deref(), nets, diagnostics);
        resolved &= side.is_some();
        side.map_or_else(AddrSet::empty, |r| Arc::unwrap_or_clone(r.addresses))
    };
    let src = side(&expect.from);
    let dst = side(&expect.to);
    model::Expectation {
        kind: expect.kind.node,
        span: expect.span,
        services: uses,
        traffic: Arc::unwrap_or_clone(traffic),
        src,
        dst,
        interface: expect.interface.as_ref().map(interfaces),
        resolved,
    }
}

fn resolve_forward(
    forward: &ast::ForwardPort,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<model::Forward> {
    let from = match &forward.from {
        None => AddrSet::any(),
        Some(refs) => Arc::unwrap_or_clone(nets.resolve_list(refs, diagnostics)?.addresses),
    };
    let at = match &forward.at {
        None => None,
        Some(refs) => Some(Arc::unwrap_or_clone(
            nets.resolve_list(refs, diagnostics)?.addresses,
        )),
    };
    let family = Family::of(forward.target.node);
    let sides = [
        ("from", forward.from.as_deref(), Some(&from)),
        ("at", forward.at.as_deref(), at.as_ref()),
    ];
    for (keyword, refs, set) in sides {
        let (Some(refs), Some(set)) = (refs, set) else {
            continue;
        };
        if !has_family(set, family) {
            let span = refs.first().map_or(forward.span, |r| {
                r.span().to(refs.last().map_or(r.span(), |l| l.span()))
            });
            diagnostics.push(never_translates(
                keyword,
                family,
                span,
                forward.target.span,
                "forward-port",
            ));
            return None;
        }
    }
    Some(model::Forward {
        protocol: forward.spec.protocol.node,
        ports: forward.spec.ports.as_ref()?.node,
        from,
        interface: forward.interface.as_ref().map(interfaces),
        at,
        target: forward.target.node,
        target_port: forward.target_port.as_ref().map(|p| p.node),
        span: forward.span,
    })
}

fn interfaces(list: &ast::Interfaces) -> model::Interfaces {
    model::Interfaces::new(list.names.iter().map(|n| n.node.clone()), list.negated)
}

fn resolve_source_nat(
    nat: &ast::SourceNat,
    nets: &mut NetResolver,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<model::SourceNat> {
    let from = match (&nat.from, &nat.to) {
        // Masquerading is IPv4's answer to too few addresses: without `from`, IPv6 keeps its
        // own. IPv6 sources named in `from` are masqueraded as written.
        (None, None) => AddrSet {
            v4: model::IntervalSet::full(),
            v6: model::IntervalSet::empty(),
        },
        (None, Some(_)) => AddrSet::any(),
        (Some(refs), _) => Arc::unwrap_or_clone(nets.resolve_list(refs, diagnostics)?.addresses),
    };
    if let (Some(to), Some(refs)) = (&nat.to, &nat.from) {
        let family = Family::of(to.node);
        if !has_family(&from, family) {
            let span = refs.first().map_or(nat.span, |r| {
                r.span().to(refs.last().map_or(r.span(), |l| l.span()))
            });
            diagnostics.push(never_translates("from", family, span, to.span, "snat"));
            return None;
        }
    }
    Some(model::SourceNat {
        interface: interfaces(&nat.interface),
        from,
        to: nat.to.as_ref().map(|t| t.node),
        span: nat.span,
    })
}

fn has_family(set: &AddrSet, family: Family) -> bool {
    match family {
        Family::V4 => !set.v4.is_empty(),
        Family::V6 => !set.v6.is_empty(),
    }
}

/// A NAT statement whose `keyword` list has no address of the family its address is of.
fn never_translates(
    keyword: &str,
    family: Family,
    list: Span,
    address: Span,
    statement: &str,
) -> Diagnostic {
    let (own, other) = match family {
        Family::V4 => ("IPv4", "IPv6"),
        Family::V6 => ("IPv6", "IPv4"),
    };
    Diagnostic::new(
        &INVALID_ADDRESS,
        list,
        format!(
            "this `{statement}` translates nothing: its {} is {own}, but `{keyword}` lists {other} addresses only",
            if statement == "snat" { "address" } else { "target" }
        ),
    )
    .label(format!("no {own} address"))
    .secondary(address, format!("an {own} address"))
    .help(format!(
        "translation does not change a connection's address family: add the {own} addresses to `{keyword}`, or write one `{statement}` per family"
    ))
}
