//! The ruleset as libnftables JSON for `nft -j -f`, built with the `nftables` crate.
//!
//! One batch: add the table (so the delete cannot fail), delete it, add it again with everything
//! in it. libnftables applies a batch as one transaction, like `nft -f` a script.
//!
//! The crate keeps set flags in a `HashSet`, whose order changes from run to run; the serialised
//! value is normalised (flag arrays sorted) so the same policy always gives the same bytes.
//! Object keys come out sorted (serde_json's map is ordered by key).

use std::borrow::Cow;
use std::collections::HashSet;

use nftables::batch::Batch;
use nftables::expr::{
    self, Elem, Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload,
    PayloadField, Prefix, SetItem, CT,
};
use nftables::schema::{self, NfListObject, SetFlag, SetType, SetTypeValue};
use nftables::stmt::{self, JumpTarget, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook, RejectCode};

use super::names;
use super::ruleset::{
    family, Action, AddrElem, AddrValue, ByteKey, Chain, CtState, Hook, Limit, Match, RejectWith,
    Rule, Ruleset, Verdict,
};
use crate::model::{icmp, Family, Protocol};

const FAMILY: NfFamily = NfFamily::INet;

pub(super) fn render(ruleset: &Ruleset) -> String {
    let table = ruleset.table.as_str();
    let mut batch = Batch::new();
    let table_obj = || {
        NfListObject::Table(schema::Table {
            family: FAMILY,
            name: table.to_string().into(),
            handle: None,
        })
    };
    batch.add(table_obj());
    batch.delete(table_obj());
    batch.add(table_obj());
    for helper in &ruleset.helpers {
        batch.add(NfListObject::CTHelper(schema::CTHelper {
            family: FAMILY,
            table: table.to_string().into(),
            name: helper.name.into(),
            handle: None,
            _type: helper.kind.into(),
            protocol: Some(helper.protocol.as_str().into()),
            l3proto: Some("inet".into()),
        }));
    }
    for counter in &ruleset.counters {
        batch.add(NfListObject::Counter(schema::Counter {
            family: FAMILY,
            table: table.to_string().into(),
            name: counter.clone().into(),
            handle: None,
            packets: None,
            bytes: None,
        }));
    }
    for set in &ruleset.sets {
        batch.add(NfListObject::Set(Box::new(schema::Set {
            family: FAMILY,
            table: table.to_string().into(),
            name: set.name.clone().into(),
            handle: None,
            set_type: SetTypeValue::Single(match set.family {
                Family::V4 => SetType::Ipv4Addr,
                Family::V6 => SetType::Ipv6Addr,
            }),
            policy: None,
            flags: Some(HashSet::from([SetFlag::Interval])),
            elem: Some(set.elements.iter().map(addr_elem).collect()),
            timeout: None,
            gc_interval: None,
            size: None,
            // libnftables 1.0.6 ignores set comments in JSON; the script leaves them out too.
            comment: None,
        })));
    }
    // Every chain exists before any rule refers to it with `jump` or `goto`.
    for chain in &ruleset.chains {
        batch.add(NfListObject::Chain(chain_obj(table, chain)));
    }
    for chain in &ruleset.chains {
        for rule in &chain.rules {
            batch.add(NfListObject::Rule(rule_obj(table, &chain.name, rule)));
        }
    }
    let mut value = serde_json::to_value(batch.to_nftables()).expect("the schema serialises");
    normalise(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// Sorts every `flags` array (the crate builds them from hash sets) and drops the `null`s the
/// crate writes for unset optional fields, keeping verdicts such as `{"accept": null}`.
fn normalise(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|key, v| {
                !v.is_null() || matches!(key.as_str(), "accept" | "drop" | "continue" | "return")
            });
            for (key, v) in map.iter_mut() {
                if key == "flags" {
                    if let serde_json::Value::Array(items) = v {
                        items.sort_by_key(|i| i.to_string());
                    }
                }
                normalise(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn chain_obj<'a>(table: &str, chain: &Chain) -> schema::Chain<'a> {
    let mut obj = schema::Chain {
        family: FAMILY,
        table: table.to_string().into(),
        name: chain.name.clone().into(),
        ..Default::default()
    };
    if let Some(base) = &chain.base {
        obj._type = Some(if base.nat {
            NfChainType::NAT
        } else {
            NfChainType::Filter
        });
        obj.hook = Some(match base.hook {
            Hook::Prerouting => NfHook::Prerouting,
            Hook::Postrouting => NfHook::Postrouting,
            Hook::Input => NfHook::Input,
            Hook::Forward => NfHook::Forward,
            Hook::Output => NfHook::Output,
        });
        // `priority dstnat` is -100, `priority srcnat` 100, `priority filter` 0.
        obj.prio = Some(match (base.nat, base.hook) {
            (true, Hook::Postrouting) => 100,
            (true, _) => -100,
            (false, _) => 0,
        });
        obj.policy = Some(if base.accept {
            NfChainPolicy::Accept
        } else {
            NfChainPolicy::Drop
        });
    }
    obj
}

fn rule_obj<'a>(table: &str, chain: &str, rule: &Rule) -> schema::Rule<'a> {
    let mut expr: Vec<Statement> = rule.matches.iter().map(match_stmt).collect();
    expr.extend(rule.actions.iter().map(action_stmt));
    schema::Rule {
        family: FAMILY,
        table: table.to_string().into(),
        chain: chain.to_string().into(),
        expr: expr.into(),
        handle: None,
        index: None,
        comment: rule.comment.as_deref().map(|c| names::comment(c).into()),
    }
}

fn s(text: impl Into<String>) -> Expression<'static> {
    Expression::String(Cow::Owned(text.into()))
}

fn payload(protocol: &str, field: &str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.to_string().into(),
            field: field.to_string().into(),
        },
    )))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn ct(key: &str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: key.to_string().into(),
        family: None,
        dir: None,
    }))
}

fn range(lo: Expression<'static>, hi: Expression<'static>) -> Expression<'static> {
    Expression::Range(Box::new(expr::Range { range: [lo, hi] }))
}

fn set(items: Vec<Expression<'static>>) -> Expression<'static> {
    Expression::Named(NamedExpression::Set(
        items.into_iter().map(SetItem::Element).collect(),
    ))
}

/// One element bare, more as an anonymous set: the same choice the script makes.
fn one_or_set(mut items: Vec<Expression<'static>>) -> Expression<'static> {
    if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        set(items)
    }
}

fn port(lo: u16, hi: u16) -> Expression<'static> {
    if lo == hi {
        Expression::Number(lo.into())
    } else {
        range(Expression::Number(lo.into()), Expression::Number(hi.into()))
    }
}

fn byte(lo: u8, hi: u8) -> Expression<'static> {
    port(lo.into(), hi.into())
}

/// An ICMP type by nft's name, or a range of type numbers: the script's choice.
fn icmp_type(family: Family, lo: u8, hi: u8) -> Expression<'static> {
    match icmp::type_name(family, lo) {
        Some(name) if lo == hi => s(name),
        _ => byte(lo, hi),
    }
}

fn concat(items: Vec<Expression<'static>>) -> Expression<'static> {
    Expression::Named(NamedExpression::Concat(items))
}

fn proto_dport_key() -> Expression<'static> {
    concat(vec![meta(MetaKey::L4proto), payload("th", "dport")])
}

fn addr_elem(elem: &AddrElem) -> Expression<'static> {
    match elem {
        AddrElem::Prefix(net) if net.prefix_len() == net.max_prefix_len() => {
            s(net.addr().to_string())
        }
        AddrElem::Prefix(net) => Expression::Named(NamedExpression::Prefix(Prefix {
            addr: Box::new(s(net.network().to_string())),
            len: net.prefix_len().into(),
        })),
        AddrElem::Range(lo, hi) => range(s(lo.to_string()), s(hi.to_string())),
    }
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    cmp(left, Operator::EQ, right)
}

fn cmp(left: Expression<'static>, op: Operator, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(stmt::Match { left, right, op })
}

fn match_stmt(m: &Match) -> Statement<'static> {
    match m {
        Match::CtState(state) => {
            let right = match state {
                CtState::EstablishedRelated => {
                    Expression::List(vec![s("established"), s("related")])
                }
                CtState::Invalid => s("invalid"),
                CtState::New => s("new"),
            };
            cmp(ct("state"), Operator::IN, right)
        }
        Match::CtStatusDnat => cmp(ct("status"), Operator::IN, s("dnat")),
        Match::FibLocal => eq(
            Expression::Named(NamedExpression::Fib(Fib {
                result: FibResult::Type,
                flags: [FibFlag::Daddr].into_iter().collect(),
            })),
            s("local"),
        ),
        Match::Loopback { output } => eq(
            meta(if *output { MetaKey::Oif } else { MetaKey::Iif }),
            s("lo"),
        ),
        Match::Interface {
            output,
            names,
            negated,
        } => cmp(
            meta(if *output {
                MetaKey::Oifname
            } else {
                MetaKey::Iifname
            }),
            if *negated {
                Operator::NEQ
            } else {
                Operator::EQ
            },
            one_or_set(names.iter().map(|n| s(n.clone())).collect()),
        ),
        Match::Nfproto(family) => eq(meta(MetaKey::Nfproto), s(family::nfproto(*family))),
        Match::Addr {
            family,
            direction,
            value,
            negated,
        } => {
            let field = direction.field();
            let right = match value {
                AddrValue::Set(name) => s(format!("@{name}")),
                AddrValue::Elements(elements) => {
                    one_or_set(elements.iter().map(addr_elem).collect())
                }
            };
            let op = if *negated {
                Operator::NEQ
            } else {
                Operator::EQ
            };
            cmp(payload(family::payload(*family), field), op, right)
        }
        Match::HopLimit(n) => eq(payload("ip6", "hoplimit"), Expression::Number((*n).into())),
        Match::IcmpType(family, types) => {
            let protocol = family::icmp(*family);
            eq(
                payload(protocol, "type"),
                one_or_set(
                    types
                        .iter()
                        .map(|&(lo, hi)| icmp_type(*family, lo, hi))
                        .collect(),
                ),
            )
        }
        Match::Icmp(family) => eq(meta(MetaKey::L4proto), s(family::icmp(*family))),
        Match::Protocols(numbers) => eq(
            meta(MetaKey::L4proto),
            one_or_set(numbers.iter().map(|&(lo, hi)| byte(lo, hi)).collect()),
        ),
        Match::L4proto(protocols) => eq(
            meta(MetaKey::L4proto),
            one_or_set(protocols.iter().map(|p| s(p.as_str())).collect()),
        ),
        Match::Unported => cmp(
            meta(MetaKey::L4proto),
            Operator::NEQ,
            set(Protocol::ALL.iter().map(|p| s(p.as_str())).collect()),
        ),
        Match::OtherProtocols => cmp(
            meta(MetaKey::L4proto),
            Operator::NEQ,
            set(family::own_protocols().map(s).collect()),
        ),
        Match::Dport(protocol, ranges) => eq(
            payload(protocol.as_str(), "dport"),
            one_or_set(ranges.iter().map(|&(lo, hi)| port(lo, hi)).collect()),
        ),
        Match::ProtoDport(entries) => eq(
            proto_dport_key(),
            set(entries
                .iter()
                .map(|&(p, lo, hi)| concat(vec![s(p.as_str()), port(lo, hi)]))
                .collect()),
        ),
    }
}

fn verdict_stmt(v: &Verdict) -> Statement<'static> {
    match v {
        Verdict::Accept => Statement::Accept(None),
        Verdict::Drop => Statement::Drop(None),
        Verdict::Jump(chain) => Statement::Jump(JumpTarget {
            target: chain.clone().into(),
        }),
        Verdict::Goto(chain) => Statement::Goto(JumpTarget {
            target: chain.clone().into(),
        }),
    }
}

fn limit_stmt(limit: &Limit) -> Statement<'static> {
    Statement::Limit(stmt::Limit {
        rate: limit.rate,
        rate_unit: None,
        per: Some(limit.unit.as_str().into()),
        burst: limit.burst,
        burst_unit: None,
        inv: None,
    })
}

fn action_stmt(a: &Action) -> Statement<'static> {
    match a {
        Action::Verdict(v) => verdict_stmt(v),
        Action::Vmap(entries) => {
            let single = Action::vmap_protocol(entries);
            let key = match single {
                Some(p) => payload(p.as_str(), "dport"),
                None => proto_dport_key(),
            };
            // A verdict as a statement serialises as `{"accept": null}`, which is what libnftables
            // reads in map data; the crate's verdict expression would give a bare string.
            let items = entries
                .iter()
                .map(|e| {
                    let k = match single {
                        Some(_) => port(e.lo, e.hi),
                        None => concat(vec![s(e.protocol.as_str()), port(e.lo, e.hi)]),
                    };
                    SetItem::MappingStatement(k, verdict_stmt(&e.verdict))
                })
                .collect();
            Statement::VerdictMap(stmt::VerdictMap {
                key,
                data: Expression::Named(NamedExpression::Set(items)),
            })
        }
        Action::SourceVmap(family, entries) => {
            let items = entries
                .iter()
                .map(|e| SetItem::MappingStatement(addr_elem(&e.addr), verdict_stmt(&e.verdict)))
                .collect();
            Statement::VerdictMap(stmt::VerdictMap {
                key: payload(family::payload(*family), "saddr"),
                data: Expression::Named(NamedExpression::Set(items)),
            })
        }
        Action::ByteVmap(key, entries) => {
            let (key, family) = match key {
                ByteKey::IcmpType(family) => {
                    (payload(family::icmp(*family), "type"), Some(*family))
                }
                ByteKey::L4proto => (meta(MetaKey::L4proto), None),
            };
            let items = entries
                .iter()
                .map(|e| {
                    let k = match family {
                        Some(family) => icmp_type(family, e.lo, e.hi),
                        None => byte(e.lo, e.hi),
                    };
                    SetItem::MappingStatement(k, verdict_stmt(&e.verdict))
                })
                .collect();
            Statement::VerdictMap(stmt::VerdictMap {
                key,
                data: Expression::Named(NamedExpression::Set(items)),
            })
        }
        Action::Limit(limit) => limit_stmt(limit),
        Action::Meter {
            name,
            family,
            timeout_secs,
            limit,
        } => Statement::Meter(stmt::Meter {
            name: name.clone().into(),
            key: Expression::Named(NamedExpression::Elem(Elem {
                val: Box::new(payload(family::payload(*family), "saddr")),
                timeout: Some(*timeout_secs),
                expires: None,
                comment: None,
                counter: None,
            })),
            stmt: Box::new(limit_stmt(limit)),
        }),
        Action::Counter(name) => Statement::Counter(stmt::Counter::Named(name.clone().into())),
        Action::Log(prefix) => Statement::Log(Some(stmt::Log {
            prefix: prefix.as_deref().map(|p| names::comment(p).into()),
            ..stmt::Log::new(None)
        })),
        Action::Reject(RejectWith::TcpReset) => Statement::Reject(Some(stmt::Reject::new(
            Some(stmt::RejectType::TCPReset),
            None,
        ))),
        Action::Reject(RejectWith::PortUnreachable) => Statement::Reject(Some(stmt::Reject::new(
            Some(stmt::RejectType::ICMPX),
            Some(RejectCode::PortUnreach),
        ))),
        Action::CtHelper(name) => Statement::CTHelper((*name).into()),
        // `None` would serialise as a bare `{}`, which libnftables refuses.
        Action::Masquerade => Statement::Masquerade(Some(stmt::NAT {
            addr: None,
            family: None,
            port: None,
            flags: None,
        })),
        Action::Snat(addr) => Statement::SNAT(Some(stmt::NAT {
            addr: Some(s(addr.to_string())),
            family: Some(if addr.is_ipv4() {
                stmt::NATFamily::IP
            } else {
                stmt::NATFamily::IP6
            }),
            port: None,
            flags: None,
        })),
        Action::Dnat { addr, port } => Statement::DNAT(Some(stmt::NAT {
            addr: Some(s(addr.to_string())),
            family: Some(if addr.is_ipv4() {
                stmt::NATFamily::IP
            } else {
                stmt::NATFamily::IP6
            }),
            port: port.map(|p| Expression::Number(p.into())),
            flags: None,
        })),
    }
}
