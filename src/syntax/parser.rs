//! pest pairs -> the spanned AST, one method per grammar rule.
//!
//! The grammar has already fixed the shape, so the builder only checks values (ports, addresses,
//! lengths, escapes, options given twice) and reports each bad one where it was written. A bad value
//! in a list becomes an `Error` node; a statement whose one essential value is bad (a bind address,
//! a forward-port target) is left out, its problem reported.

use std::ops::Range;
use std::str::FromStr;

use pest::iterators::{Pair, Pairs};

use super::ast::{
    self, Bind, ChainBlock, ChainKind, ExpectKind, ForwardPort, HostBlock, HostItem, Ident,
    Include, Item, Limit, Log, NetDef, NetRef, PortSpec, RateUnit, ServiceDef, ServiceRef, Verdict,
};
use super::grammar::Rule;
use super::lexical::{self, ValueError};
use crate::diagnostic::Diagnostic;
use crate::model::Family;
use crate::model::Protocol;
use crate::rule::LintRule;
use crate::rule::{INVALID_ADDRESS, INVALID_PORT, SYNTAX_ERROR};
use crate::source::{FileId, Span, Spanned};

/// Where the text a pest parse ran on sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// It starts at this byte offset of the file: positions map one to one.
    At(usize),
    /// It is this span, but not position for position (a YAML scalar with escapes or an alias):
    /// everything in it maps to the whole span.
    Within(Span),
    /// It is the file with `shift` bytes left out at `at` (half of a file parsed on two threads):
    /// positions from `at` on sit `shift` bytes later in the file. A span that ends at `at` and
    /// starts before it lies wholly before the gap.
    Spliced { at: usize, shift: usize },
}

impl Origin {
    pub(crate) fn span(self, file: FileId, start: usize, end: usize) -> Span {
        match self {
            Origin::At(offset) => Span::new(file, offset + start, offset + end),
            Origin::Within(span) => span,
            Origin::Spliced { at, shift } => {
                let after = |position: usize, past: bool| position + if past { shift } else { 0 };
                Span::new(
                    file,
                    after(start, start >= at),
                    after(end, end > at || start >= at),
                )
            }
        }
    }
}

pub(crate) struct Builder<'a> {
    file: FileId,
    origin: Origin,
    /// Byte ranges that error recovery blanked out: a headerless block starting in one of them is
    /// what is left of a broken header and was already reported.
    recovered: &'a [Range<usize>],
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        file: FileId,
        origin: Origin,
        recovered: &'a [Range<usize>],
        diagnostics: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Builder {
            file,
            origin,
            recovered,
            diagnostics,
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Files and blocks

    pub(crate) fn file(&mut self, pairs: Pairs<'_, Rule>) -> Vec<Item> {
        pairs
            .filter(|pair| pair.as_rule() == Rule::top_stmt)
            .filter_map(|pair| self.top_stmt(pair))
            .collect()
    }

    fn top_stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::include_stmt => self.include(inner).map(Item::Include),
            Rule::service_def => self.service_def(inner).map(Item::Service),
            Rule::net_def => self.net_def(inner).map(Item::Net),
            Rule::host_block => self.host_block(inner).map(Item::Host),
            Rule::host_item => self.host_item(inner).map(Item::HostItem),
            _ => None,
        }
    }

    fn host_block(&mut self, pair: Pair<'_, Rule>) -> Option<HostBlock> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let _keyword = inner.next()?;
        let name = self.ident(inner.next()?);
        let items = inner
            .filter(|pair| pair.as_rule() == Rule::host_item)
            .filter_map(|pair| self.host_item(pair))
            .collect();
        Some(HostBlock { name, items, span })
    }

    pub(crate) fn host_item(&mut self, pair: Pair<'_, Rule>) -> Option<HostItem> {
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::bind_stmt => self.bind(inner).map(HostItem::Bind),
            Rule::chain_block => self.chain_block(inner).map(HostItem::Chain),
            Rule::forward_stmt => self
                .forward_port(inner)
                .map(|f| HostItem::ForwardPort(Box::new(f))),
            Rule::nat_stmt => self.source_nat(inner).map(HostItem::SourceNat),
            Rule::orphan_block => {
                self.orphan_block(inner);
                None
            }
            _ => None,
        }
    }

    fn chain_block(&mut self, pair: Pair<'_, Rule>) -> Option<ChainBlock> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let kind = self.chain_kind(inner.next()?)?;
        let policy = self.policy(inner.next()?)?;
        let mut rules = Vec::new();
        let mut expectations = Vec::new();
        for item in inner.filter(|pair| pair.as_rule() == Rule::chain_item) {
            let Some(stmt) = item.into_inner().next() else {
                continue;
            };
            match stmt.as_rule() {
                Rule::rule_stmt => rules.extend(self.rule(stmt)),
                Rule::expect_stmt => expectations.extend(self.expect(stmt)),
                Rule::orphan_block => self.orphan_block(stmt),
                _ => {}
            }
        }
        Some(ChainBlock {
            kind,
            policy,
            rules,
            expectations,
            span,
        })
    }

    /// A `{ ... }` without a header. Its statements are still checked so that their mistakes are
    /// reported, then dropped.
    fn orphan_block(&mut self, pair: Pair<'_, Rule>) {
        let start = pair.as_span().start();
        let from_recovery = self
            .recovered
            .iter()
            .any(|range| range.start <= start && start < range.end);
        if !from_recovery {
            let brace = self.origin.span(self.file, start, start + 1);
            self.diagnostics.push(
                Diagnostic::new(&SYNTAX_ERROR, brace, "a block needs a header")
                    .label("`{` without `host NAME` or a chain before it")
                    .help("start a host with `host NAME {` or a chain with `input drop {`"),
            );
        }
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::top_stmt => {
                    self.top_stmt(inner);
                }
                Rule::rule_stmt => {
                    self.rule(inner);
                }
                Rule::expect_stmt => {
                    self.expect(inner);
                }
                _ => {}
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Statements

    fn include(&mut self, pair: Pair<'_, Rule>) -> Option<Include> {
        let span = self.span(&pair);
        let string = pair.into_inner().find(|p| p.as_rule() == Rule::string)?;
        let path = self.string(string)?;
        if let Err(err) = lexical::include_path(&path.node) {
            self.report(&SYNTAX_ERROR, path.span, err, "invalid include path");
            return None;
        }
        Some(Include { path, span })
    }

    fn service_def(&mut self, pair: Pair<'_, Rule>) -> Option<ServiceDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let _keyword = inner.next()?;
        let name = self.ident(inner.next()?);
        let list = inner.find(|p| p.as_rule() == Rule::service_list)?;
        let ports = self.service_list(list);
        Some(ServiceDef { name, ports, span })
    }

    fn net_def(&mut self, pair: Pair<'_, Rule>) -> Option<NetDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let _keyword = inner.next()?;
        let name = self.ident(inner.next()?);
        let list = inner.find(|p| p.as_rule() == Rule::net_list)?;
        let members = self.net_list(list);
        Some(NetDef {
            name,
            members,
            span,
        })
    }

    fn bind(&mut self, pair: Pair<'_, Rule>) -> Option<Bind> {
        let span = self.span(&pair);
        let mut process = None;
        let mut address = None;
        let mut stack = None;
        let mut services = Vec::new();
        let mut user = None;
        let mut address_ok = true;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::name => process = Some(self.ident(inner)),
                Rule::address => {
                    address = self.address(inner);
                    address_ok = address.is_some();
                }
                Rule::bind_stack => stack = Some(self.stack(inner)),
                Rule::service_list => services = self.service_list(inner),
                Rule::bind_user => {
                    user = inner
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::name)
                        .map(|p| self.ident(p));
                }
                _ => {}
            }
        }
        if !address_ok {
            return None;
        }
        let address = address?;
        if let Some(d) = stack.as_ref().and_then(|s| stack_mismatch(&address, s)) {
            self.diagnostics.push(d);
        }
        Some(Bind {
            process: process?,
            address,
            stack,
            services,
            user,
            span,
        })
    }

    /// `v6only` or `dual-stack`.
    pub(crate) fn stack(&mut self, pair: Pair<'_, Rule>) -> Spanned<ast::Stack> {
        let span = self.span(&pair);
        let value = match pair.as_str() {
            "v6only" => ast::Stack::V6Only,
            _ => ast::Stack::DualStack,
        };
        Spanned::new(value, span)
    }

    pub(crate) fn address(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<std::net::IpAddr>> {
        let span = self.span(&pair);
        match lexical::address(pair.as_str()) {
            Ok(addr) => Some(Spanned::new(addr, span)),
            Err(err) => {
                self.report(&INVALID_ADDRESS, span, err, "invalid address");
                None
            }
        }
    }

    fn forward_port(&mut self, pair: Pair<'_, Rule>) -> Option<ForwardPort> {
        let span = self.span(&pair);
        let mut spec = None;
        let mut from = None;
        let mut interface = None;
        let mut at = None;
        let mut target = None;
        let mut valid = true;
        let mut seen: Vec<(Rule, Span)> = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::port_spec => {
                    spec = self.forward_spec(inner);
                    valid &= spec.is_some();
                }
                Rule::forward_option => {
                    let Some(option) = self.once(inner, &mut seen) else {
                        continue;
                    };
                    match option.as_rule() {
                        Rule::from_opt => from = Some(self.option_nets(option)),
                        Rule::at_opt => at = Some(self.option_nets(option)),
                        Rule::on_opt => {
                            interface = self.option_interfaces(option);
                            valid &= interface.is_some();
                        }
                        _ => {}
                    }
                }
                Rule::target => {
                    target = self.target(inner);
                    valid &= target.is_some();
                }
                _ => {}
            }
        }
        let (target, target_port) = target?;
        if !valid {
            return None;
        }
        Some(ForwardPort {
            spec: spec?,
            from,
            interface,
            at,
            target,
            target_port,
            span,
        })
    }

    /// The option inside an option group (`forward_option`, `nat_option`), or `None` when the
    /// same option came before (reported).
    fn once<'i>(
        &mut self,
        group: Pair<'i, Rule>,
        seen: &mut Vec<(Rule, Span)>,
    ) -> Option<Pair<'i, Rule>> {
        let option = group.into_inner().next()?;
        self.first_time(&option, seen, "rule").then_some(option)
    }

    /// Whether `option` is the first of its kind in its statement (a `statement`); a second one
    /// is reported, next to the first.
    fn first_time(
        &mut self,
        option: &Pair<'_, Rule>,
        seen: &mut Vec<(Rule, Span)>,
        statement: &str,
    ) -> bool {
        let span = self.span(option);
        if let Some((_, first)) = seen.iter().find(|(r, _)| *r == option.as_rule()) {
            self.duplicate_option(option, span, *first, statement);
            return false;
        }
        seen.push((option.as_rule(), span));
        true
    }

    fn option_interfaces(&mut self, option: Pair<'_, Rule>) -> Option<ast::Interfaces> {
        option
            .into_inner()
            .find(|p| p.as_rule() == Rule::iface_list)
            .and_then(|p| self.interfaces(p))
    }

    /// `masquerade on wan0 from lan` or `snat on wan0 from lan to 203.0.113.7`.
    fn source_nat(&mut self, pair: Pair<'_, Rule>) -> Option<ast::SourceNat> {
        let stmt = pair.into_inner().next()?;
        let span = self.span(&stmt);
        let keyword = if stmt.as_rule() == Rule::snat_stmt {
            "snat"
        } else {
            "masquerade"
        };
        let mut interface = None;
        let mut from = None;
        let mut to = None;
        let mut valid = true;
        let mut seen: Vec<(Rule, Span)> = Vec::new();
        for inner in stmt.into_inner() {
            match inner.as_rule() {
                Rule::nat_option => {
                    let Some(option) = self.once(inner, &mut seen) else {
                        continue;
                    };
                    match option.as_rule() {
                        Rule::from_opt => from = Some(self.option_nets(option)),
                        Rule::on_opt => {
                            interface = self.option_interfaces(option);
                            valid &= interface.is_some();
                        }
                        _ => {}
                    }
                }
                Rule::address => {
                    to = self.address(inner);
                    valid &= to.is_some();
                }
                _ => {}
            }
        }
        if !valid {
            return None;
        }
        let Some(interface) = interface else {
            self.diagnostics.push(
                Diagnostic::new(
                    &SYNTAX_ERROR,
                    span,
                    format!("`{keyword}` needs the interface connections leave by"),
                )
                .label("no `on`")
                .help(format!(
                    "name the outgoing interface: `{keyword} on wan0`; without it every connection would be translated, the host's own networks too"
                )),
            );
            return None;
        };
        Some(ast::SourceNat {
            interface,
            from,
            to,
            span,
        })
    }

    /// The port spec of a forward-port: one protocol and a port or range.
    pub(crate) fn forward_spec(&mut self, pair: Pair<'_, Rule>) -> Option<PortSpec> {
        let spec = self.port_spec(pair)?;
        if spec.ports.is_none() {
            let protocol = spec.protocol.node;
            self.diagnostics.push(
                Diagnostic::new(
                    &INVALID_PORT,
                    spec.span,
                    "a forwarded port needs a port number or range",
                )
                .label("every port of the protocol")
                .help(format!(
                    "name the port to forward: `{protocol}/8443` or `{protocol}/8000-8100`"
                )),
            );
            return None;
        }
        Some(spec)
    }

    /// `10.0.0.5`, `10.0.0.5:443`, `[2001:db8::5]:443`.
    #[allow(clippy::type_complexity)]
    pub(crate) fn target(
        &mut self,
        pair: Pair<'_, Rule>,
    ) -> Option<(Spanned<std::net::IpAddr>, Option<Spanned<u16>>)> {
        let mut address = None;
        let mut port = None;
        let mut valid = true;
        for inner in pair.into_inner() {
            let span = self.span(&inner);
            let text = inner.as_str();
            match inner.as_rule() {
                Rule::target_v4 => match lexical::ipv4(text) {
                    Ok(addr) => address = Some(Spanned::new(addr.into(), span)),
                    Err(err) => {
                        self.report(&INVALID_ADDRESS, span, err, "invalid address");
                        valid = false;
                    }
                },
                Rule::target_v6 => match lexical::ipv6(text) {
                    Ok(addr) => address = Some(Spanned::new(addr.into(), span)),
                    Err(err) => {
                        self.report(&INVALID_ADDRESS, span, err, "invalid address");
                        valid = false;
                    }
                },
                Rule::bare_v6_target => {
                    valid = false;
                    match lexical::ipv6(text) {
                        Ok(_) => self.diagnostics.push(
                            Diagnostic::new(
                                &SYNTAX_ERROR,
                                span,
                                "an IPv6 target address needs brackets",
                            )
                            .label("without brackets a port cannot be told from the address")
                            .help("put the address in brackets and any port after them: `[2001:db8::5]:443`"),
                        ),
                        Err(err) => self.report(&INVALID_ADDRESS, span, err, "invalid address"),
                    }
                }
                Rule::port => match lexical::port(text) {
                    Ok(number) => port = Some(Spanned::new(number, span)),
                    Err(err) => {
                        self.report(&INVALID_PORT, span, err, "invalid port");
                        valid = false;
                    }
                },
                _ => {}
            }
        }
        if !valid {
            return None;
        }
        Some((address?, port))
    }

    pub(crate) fn rule(&mut self, pair: Pair<'_, Rule>) -> Option<ast::Rule> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let verdict = self.verdict(inner.next()?)?;
        let mut rule = ast::Rule {
            verdict,
            services: None,
            from: None,
            to: None,
            interface: None,
            limit: None,
            log: None,
            counter: None,
            broken: false,
            span,
        };
        // Where each option was first given, to report a second one.
        let mut seen: Vec<(Rule, Span)> = Vec::new();
        let mut valid = true;
        for item in inner {
            match item.as_rule() {
                Rule::service_list => rule.services = Some(self.service_list(item)),
                Rule::rule_option => {
                    let Some(option) = item.into_inner().next() else {
                        continue;
                    };
                    if self.first_time(&option, &mut seen, "rule") {
                        valid &= self.rule_option(&mut rule, option);
                    }
                }
                _ => {}
            }
        }
        // A rule without the interface, limit or log it was written with would match more than
        // meant: it is kept only as a rule that does not resolve, its problem reported.
        rule.broken = !valid;
        Some(rule)
    }

    /// `expect open ssh from admins on eth0`.
    fn expect(&mut self, pair: Pair<'_, Rule>) -> Option<ast::Expect> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let _keyword = inner.next()?;
        let kind = self.expect_kind(inner.next()?)?;
        let mut expect = ast::Expect {
            kind,
            services: Vec::new(),
            from: None,
            to: None,
            interface: None,
            broken: false,
            span,
        };
        let mut seen: Vec<(Rule, Span)> = Vec::new();
        let mut valid = true;
        for item in inner {
            match item.as_rule() {
                Rule::service_list => expect.services = self.service_list(item),
                Rule::expect_option => {
                    let Some(option) = item.into_inner().next() else {
                        continue;
                    };
                    if option.as_rule() == Rule::rule_only_opt {
                        let span = self.span(&option);
                        let keyword = option
                            .into_inner()
                            .next()
                            .and_then(|o| o.into_inner().next())
                            .map(|k| k.as_str().to_string())
                            .unwrap_or_default();
                        self.diagnostics.push(not_an_expect_option(&keyword, span));
                        valid = false;
                        continue;
                    }
                    if !self.first_time(&option, &mut seen, "`expect`") {
                        continue;
                    }
                    match option.as_rule() {
                        Rule::from_opt => expect.from = Some(self.option_nets(option)),
                        Rule::to_opt => expect.to = Some(self.option_nets(option)),
                        Rule::on_opt => {
                            expect.interface = self.option_interfaces(option);
                            valid &= expect.interface.is_some();
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        expect.broken = !valid;
        Some(expect)
    }

    fn expect_kind(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<ExpectKind>> {
        let span = self.span(&pair);
        let kind = match pair.as_str() {
            "open" => ExpectKind::Open,
            "closed" => ExpectKind::Closed,
            "limited" => ExpectKind::Limited,
            _ => return None,
        };
        Some(Spanned::new(kind, span))
    }

    fn duplicate_option(
        &mut self,
        option: &Pair<'_, Rule>,
        span: Span,
        first: Span,
        statement: &str,
    ) {
        let keyword = option
            .clone()
            .into_inner()
            .next()
            .map(|k| k.as_str().to_string())
            .unwrap_or_else(|| option.as_str().to_string());
        let help = match option.as_rule() {
            Rule::from_opt | Rule::to_opt => {
                format!("give `{keyword}` once and list every net after it: `{keyword} a, b`")
            }
            _ => format!("give `{keyword}` once per {statement}"),
        };
        self.diagnostics.push(
            Diagnostic::new(
                &SYNTAX_ERROR,
                span,
                format!("`{keyword}` is given twice in one {statement}"),
            )
            .label(format!("second `{keyword}`"))
            .secondary(first, format!("first `{keyword}` here"))
            .help(help),
        );
    }

    /// Sets one option of a rule; `false` when its value is invalid (reported).
    fn rule_option(&mut self, rule: &mut ast::Rule, option: Pair<'_, Rule>) -> bool {
        match option.as_rule() {
            Rule::from_opt => rule.from = Some(self.option_nets(option)),
            Rule::to_opt => rule.to = Some(self.option_nets(option)),
            Rule::on_opt => {
                rule.interface = option
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::iface_list)
                    .and_then(|p| self.interfaces(p));
                return rule.interface.is_some();
            }
            Rule::limit_opt => {
                let span = self.span(&option);
                rule.limit = option
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::limit_body)
                    .and_then(|p| self.limit_body(p, span));
                return rule.limit.is_some();
            }
            Rule::log_opt => {
                rule.log = self.log(option);
                return rule.log.is_some();
            }
            Rule::counter_opt => rule.counter = Some(self.span(&option)),
            _ => {}
        }
        true
    }

    fn option_nets(&mut self, option: Pair<'_, Rule>) -> Vec<NetRef> {
        option
            .into_inner()
            .find(|p| p.as_rule() == Rule::net_list)
            .map(|list| self.net_list(list))
            .unwrap_or_default()
    }

    /// `eth0, eth1` or `!wan0`; `None` when a name is invalid or the list mixes negated and
    /// plain names (reported).
    pub(crate) fn interfaces(&mut self, pair: Pair<'_, Rule>) -> Option<ast::Interfaces> {
        let span = self.span(&pair);
        let mut names = Vec::new();
        let mut signs = Vec::new();
        let mut valid = true;
        for member in pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::iface_member)
        {
            let member_span = self.span(&member);
            let mut negated = false;
            for part in member.into_inner() {
                match part.as_rule() {
                    Rule::negation => negated = true,
                    Rule::iface => match self.interface(part) {
                        Some(name) => names.push(name),
                        None => valid = false,
                    },
                    _ => {}
                }
            }
            signs.push((negated, member_span));
        }
        if !self.same_signs(&signs, "interface") || !valid {
            return None;
        }
        Some(ast::Interfaces {
            names,
            negated: signs.first().is_some_and(|&(n, _)| n),
            span,
        })
    }

    /// Whether the members of a list are all negated or all plain; reports a mix.
    fn same_signs(&mut self, signs: &[(bool, Span)], what: &str) -> bool {
        match mixed_signs(signs, what) {
            Some(diagnostic) => {
                self.diagnostics.push(diagnostic);
                false
            }
            None => true,
        }
    }

    pub(crate) fn interface(&mut self, pair: Pair<'_, Rule>) -> Option<Ident> {
        let span = self.span(&pair);
        match lexical::interface(pair.as_str()) {
            Ok(()) => Some(Spanned::new(pair.as_str().to_string(), span)),
            Err(err) => {
                self.report(&SYNTAX_ERROR, span, err, "invalid interface name");
                None
            }
        }
    }

    /// `10/minute burst 5 per source`; `span` is what the limit covers in the rule.
    pub(crate) fn limit_body(&mut self, pair: Pair<'_, Rule>, span: Span) -> Option<Limit> {
        let mut rate = None;
        let mut unit = None;
        let mut burst = None;
        let mut per_source = false;
        let mut valid = true;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::rate => {
                    for part in inner.into_inner() {
                        match part.as_rule() {
                            Rule::number => {
                                rate = self.count(part, "rate");
                                valid &= rate.is_some();
                            }
                            Rule::rate_unit => {
                                unit = match part.as_str() {
                                    "second" => Some(RateUnit::Second),
                                    "minute" => Some(RateUnit::Minute),
                                    "hour" => Some(RateUnit::Hour),
                                    _ => None,
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Rule::burst => {
                    if let Some(number) = inner.into_inner().find(|p| p.as_rule() == Rule::number) {
                        burst = self.count(number, "burst");
                        valid &= burst.is_some();
                    }
                }
                Rule::per_source => per_source = true,
                _ => {}
            }
        }
        if !valid {
            return None;
        }
        Some(Limit {
            rate: rate?,
            unit: unit?,
            burst,
            per_source,
            span,
        })
    }

    /// A rate or burst: a whole number from 1 to 2^32 - 1.
    fn count(&mut self, pair: Pair<'_, Rule>, what: &str) -> Option<u32> {
        let span = self.span(&pair);
        match pair.as_str().parse::<u32>() {
            Ok(0) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &SYNTAX_ERROR,
                        span,
                        format!("a {what} of 0 never lets a packet through"),
                    )
                    .label("zero")
                    .help(format!(
                        "a {what} is at least 1; to block the traffic, use `deny`"
                    )),
                );
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &SYNTAX_ERROR,
                        span,
                        format!("the {what} `{}` is too large", pair.as_str()),
                    )
                    .label("too large")
                    .help(format!("a {what} is at most {}", u32::MAX)),
                );
                None
            }
        }
    }

    /// `log` or `log "prefix"`; `None` when the prefix is invalid (reported).
    fn log(&mut self, option: Pair<'_, Rule>) -> Option<Log> {
        let span = self.span(&option);
        let prefix = match option.into_inner().find(|p| p.as_rule() == Rule::string) {
            Some(string) => {
                let prefix = self.string(string)?;
                Some(self.checked_log_prefix(prefix, Origin::Within(span))?)
            }
            None => None,
        };
        Some(Log { prefix, span })
    }

    /// Checks a decoded log prefix; `origin` maps offsets in it back to the file when it can.
    pub(crate) fn checked_log_prefix(
        &mut self,
        prefix: Spanned<String>,
        origin: Origin,
    ) -> Option<Spanned<String>> {
        match lexical::log_prefix(&prefix.node) {
            Ok(()) => Some(prefix),
            Err(err) => {
                // Offsets into the decoded text only match the source when nothing was escaped.
                let span = match (&err.at, origin) {
                    (Some(at), Origin::At(offset)) => {
                        Span::new(self.file, offset + at.start, offset + at.end)
                    }
                    _ => prefix.span,
                };
                let mut diagnostic =
                    Diagnostic::new(&SYNTAX_ERROR, span, err.message).label("invalid log prefix");
                if let Some(help) = err.help {
                    diagnostic = diagnostic.help(help);
                }
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Values

    pub(crate) fn service_list(&mut self, pair: Pair<'_, Rule>) -> Vec<ServiceRef> {
        exact(
            pair.into_inner()
                .filter(|p| p.as_rule() == Rule::service_ref)
                .filter_map(|p| self.service_ref(p))
                .collect(),
        )
    }

    fn service_ref(&mut self, pair: Pair<'_, Rule>) -> Option<ServiceRef> {
        let inner = pair.into_inner().next()?;
        let span = self.span(&inner);
        match inner.as_rule() {
            Rule::port_spec => Some(match self.port_spec(inner) {
                Some(spec) => ServiceRef::Spec(spec),
                None => ServiceRef::Error(span),
            }),
            Rule::service_name => {
                let mut parts = inner.into_inner();
                let name = self.ident(parts.next()?);
                let protocol = parts
                    .find(|p| p.as_rule() == Rule::protocol)
                    .and_then(|p| self.protocol(p));
                Some(ServiceRef::Name {
                    name,
                    protocol,
                    span,
                })
            }
            Rule::icmp_ref => Some(self.icmp_ref(inner)),
            Rule::ip_protocol_ref => Some(self.ip_protocol_ref(inner)),
            Rule::bare_port => {
                let text = inner.as_str();
                self.diagnostics.push(
                    Diagnostic::new(
                        &INVALID_PORT,
                        span,
                        format!("the port `{text}` has no protocol"),
                    )
                    .label("which protocol?")
                    .help(format!("write `tcp/{text}` or `udp/{text}`")),
                );
                Some(ServiceRef::Error(span))
            }
            _ => None,
        }
    }

    /// `icmp`, `icmp/echo-request`, `icmpv6 135`; an `Error` node when the type is unknown
    /// (reported).
    fn icmp_ref(&mut self, pair: Pair<'_, Rule>) -> ServiceRef {
        let span = self.span(&pair);
        let mut family = Family::V4;
        let mut icmp_type = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::icmp_proto if inner.as_str() == "icmpv6" => family = Family::V6,
                Rule::icmp_type => {
                    let type_span = self.span(&inner);
                    match lexical::icmp_type(family, inner.as_str()) {
                        Ok(number) => icmp_type = Some(Spanned::new(number, type_span)),
                        Err(err) => {
                            self.report(&INVALID_PORT, type_span, err, "unknown type");
                            return ServiceRef::Error(span);
                        }
                    }
                }
                _ => {}
            }
        }
        ServiceRef::Icmp {
            family,
            icmp_type,
            span,
        }
    }

    /// `gre`, `proto/47`, `proto/esp`; an `Error` node when the protocol is unknown (reported).
    fn ip_protocol_ref(&mut self, pair: Pair<'_, Rule>) -> ServiceRef {
        let span = self.span(&pair);
        for inner in pair.into_inner() {
            let text = inner.as_str();
            let value_span = self.span(&inner);
            let number = match inner.as_rule() {
                Rule::ip_protocol_name => crate::model::ip_protocol::by_name(text)
                    .ok_or_else(|| ValueError::new(format!("unknown IP protocol `{text}`"))),
                Rule::ip_protocol_value => lexical::ip_protocol(text),
                _ => continue,
            };
            return match number {
                Ok(number) => ServiceRef::IpProtocol { number, span },
                Err(err) => {
                    self.report(&INVALID_PORT, value_span, err, "not an IP protocol");
                    ServiceRef::Error(span)
                }
            };
        }
        ServiceRef::Error(span)
    }

    /// `tcp`, `tcp/22`, `udp/8000-8100`; `None` when the ports are invalid (reported).
    pub(crate) fn port_spec(&mut self, pair: Pair<'_, Rule>) -> Option<PortSpec> {
        let span = self.span(&pair);
        let mut protocol = None;
        let mut ports = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::protocol => protocol = self.protocol(inner),
                Rule::port_range => ports = Some(self.port_range(inner)?),
                _ => {}
            }
        }
        Some(PortSpec {
            protocol: protocol?,
            ports,
            span,
        })
    }

    fn port_range(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<crate::model::PortRange>> {
        let span = self.span(&pair);
        let start = pair.as_span().start();
        let mut ports = pair.into_inner().filter(|p| p.as_rule() == Rule::port);
        let lo = ports.next()?;
        let hi = ports.next();
        match lexical::port_range(lo.as_str(), hi.as_ref().map(|p| p.as_str())) {
            Ok(range) => Some(Spanned::new(range, span)),
            Err(err) => {
                let at = match &err.at {
                    Some(at) => self
                        .origin
                        .span(self.file, start + at.start, start + at.end),
                    None => span,
                };
                self.report(&INVALID_PORT, at, err, "invalid port");
                None
            }
        }
    }

    fn protocol(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Protocol>> {
        let span = self.span(&pair);
        Protocol::from_str(pair.as_str())
            .ok()
            .map(|protocol| Spanned::new(protocol, span))
    }

    pub(crate) fn net_list(&mut self, pair: Pair<'_, Rule>) -> Vec<NetRef> {
        let refs: Vec<NetRef> = exact(
            pair.into_inner()
                .filter(|p| p.as_rule() == Rule::net_member)
                .filter_map(|p| self.net_member(p))
                .collect(),
        );
        let signs: Vec<(bool, Span)> = refs
            .iter()
            .map(|r| (matches!(r, NetRef::Not(..)), r.span()))
            .collect();
        if self.same_signs(&signs, "net") {
            refs
        } else {
            // Neither reading is safe: the list stands for nothing, its mistake reported.
            refs.iter().map(|r| NetRef::Error(r.span())).collect()
        }
    }

    fn net_member(&mut self, pair: Pair<'_, Rule>) -> Option<NetRef> {
        let member_span = self.span(&pair);
        let mut parts = pair.into_inner();
        let mut inner = parts.next()?;
        if inner.as_rule() == Rule::negation {
            inner = parts.next()?;
            let plain = self.net_value(inner)?;
            if let NetRef::Any(span) = plain {
                self.diagnostics.push(
                    Diagnostic::new(&INVALID_ADDRESS, member_span, "`!any` matches no address")
                        .label("nothing is outside `any`")
                        .help("leave out `from`/`to` to match every address, or use `deny` to refuse them"),
                );
                return Some(NetRef::Error(span));
            }
            return Some(NetRef::Not(Box::new(plain), member_span));
        }
        self.net_value(inner)
    }

    fn net_value(&mut self, inner: Pair<'_, Rule>) -> Option<NetRef> {
        let span = self.span(&inner);
        match inner.as_rule() {
            Rule::kw_any => Some(NetRef::Any(span)),
            Rule::ref_name => Some(NetRef::Name(self.ident(inner))),
            Rule::prefix => match lexical::prefix(inner.as_str()) {
                Ok(net) => Some(NetRef::Prefix(Spanned::new(net, span))),
                Err(err) => {
                    let start = inner.as_span().start();
                    let at = match &err.at {
                        Some(at) => self
                            .origin
                            .span(self.file, start + at.start, start + at.end),
                        None => span,
                    };
                    self.report(&INVALID_ADDRESS, at, err, "invalid address");
                    Some(NetRef::Error(span))
                }
            },
            _ => None,
        }
    }

    fn chain_kind(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<ChainKind>> {
        let span = self.span(&pair);
        let kind = match pair.as_str() {
            "input" => ChainKind::Input,
            "output" => ChainKind::Output,
            "forward" => ChainKind::Forward,
            _ => return None,
        };
        Some(Spanned::new(kind, span))
    }

    pub(crate) fn policy(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Verdict>> {
        let span = self.span(&pair);
        let verdict = match pair.as_str() {
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            "reject" => Verdict::Reject,
            _ => return None,
        };
        Some(Spanned::new(verdict, span))
    }

    fn verdict(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Verdict>> {
        let span = self.span(&pair);
        let verdict = match pair.as_str() {
            "allow" => Verdict::Accept,
            "deny" => Verdict::Drop,
            "reject" => Verdict::Reject,
            _ => return None,
        };
        Some(Spanned::new(verdict, span))
    }

    /// A name; one that is too long is reported and kept.
    pub(crate) fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        let span = self.span(&pair);
        let text = pair.as_str();
        if let Err(err) = lexical::name(text) {
            self.report(&SYNTAX_ERROR, span, err, "name too long");
        }
        Spanned::new(text.to_string(), span)
    }

    /// A double-quoted string, decoded; `None` when an escape is unknown (reported).
    fn string(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<String>> {
        let span = self.span(&pair);
        let inner = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::string_inner)?;
        let start = inner.as_span().start();
        match lexical::unescape(inner.as_str()) {
            Ok(text) => Some(Spanned::new(text, span)),
            Err(err) => {
                let at = match &err.at {
                    Some(at) => self
                        .origin
                        .span(self.file, start + at.start, start + at.end),
                    None => span,
                };
                self.report(&SYNTAX_ERROR, at, err, "unknown escape");
                None
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /// The span of what a pair holds. pest leaves the whitespace and comments it skipped before an
    /// optional or repeated part that did not match inside the pair; its last token ends it.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        self.origin
            .span(self.file, pair.as_span().start(), content_end(pair))
    }

    fn report(&mut self, rule: &'static LintRule, span: Span, err: ValueError, label: &str) {
        let mut diagnostic = Diagnostic::new(rule, span, err.message).label(label.to_string());
        if let Some(help) = err.help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }
}

/// `v6only` and `dual-stack` only mean something for `::`: the finding when they are given for
/// another address.
pub(crate) fn stack_mismatch(
    address: &Spanned<std::net::IpAddr>,
    stack: &Spanned<ast::Stack>,
) -> Option<Diagnostic> {
    if matches!(address.node, std::net::IpAddr::V6(a) if a.is_unspecified()) {
        return None;
    }
    let word = match stack.node {
        ast::Stack::V6Only => "v6only",
        ast::Stack::DualStack => "dual-stack",
    };
    Some(
        Diagnostic::new(
            &SYNTAX_ERROR,
            stack.span,
            format!("`{word}` applies only to a listener on `::`"),
        )
        .label(format!("`{}` is not `::`", address.node))
        .secondary(address.span, "the listener's address")
        .help("leave it out, or bind on `::` if the process listens on every IPv6 address"),
    )
}

/// The finding for a rule's `limit`, `log` or `counter` written in an `expect`, where it means
/// nothing: an expectation describes traffic, and a rate limit is something the rules do to it.
pub(crate) fn not_an_expect_option(keyword: &str, span: Span) -> Diagnostic {
    let help = match keyword {
        "limit" => {
            "an expectation describes traffic, not how to treat it: `expect limited ssh` says the chain accepts it only under a rate limit; put the `limit` on the rule"
        }
        _ => {
            "`log` and `counter` change no verdict, so an expectation has nothing to say about them: put them on the rule that decides the traffic"
        }
    };
    Diagnostic::new(
        &SYNTAX_ERROR,
        span,
        format!("`{keyword}` is an option of rules, not of `expect`"),
    )
    .label("not an option of `expect`")
    .help(help)
}

/// The finding for a list (of `what`s) whose members are partly negated with `!`, if it is one:
/// `!a, b` has no reading that is clearly right.
pub(crate) fn mixed_signs(signs: &[(bool, Span)], what: &str) -> Option<Diagnostic> {
    let &(first, first_span) = signs.first()?;
    let &(_, odd) = signs.iter().find(|&&(n, _)| n != first)?;
    Some(
        Diagnostic::new(
            &SYNTAX_ERROR,
            odd,
            format!("a list of {what}s is either all negated with `!` or not at all"),
        )
        .label(if first { "not negated" } else { "negated" })
        .secondary(
            first_span,
            if first {
                "the list starts negated"
            } else {
                "the list starts without `!`"
            },
        )
        .help(format!(
            "`!a, !b` matches every {what} that is neither `a` nor `b`; write `!` before each member, or before none"
        )),
    )
}

/// Where the last token of a pair ends.
fn content_end(pair: &Pair<'_, Rule>) -> usize {
    // A pair can only end in skipped text (whitespace, a continuation, a comment) if its text
    // ends in whitespace or holds a `#`; otherwise its own end is exact, and the walk down its
    // last children can be saved.
    let text = pair.as_str();
    if !text.ends_with(|c: char| c.is_whitespace()) && !text.contains('#') {
        return pair.as_span().end();
    }
    // Compound-atomic rules skip nothing, and may end in a literal that is not a pair (`]`).
    let exact = matches!(
        pair.as_rule(),
        Rule::port_spec
            | Rule::icmp_ref
            | Rule::ip_protocol_ref
            | Rule::port_range
            | Rule::service_name
            | Rule::target
            | Rule::rate
            | Rule::string
    );
    match pair.clone().into_inner().last() {
        Some(last) if !exact => content_end(&last),
        _ => pair.as_span().end(),
    }
}

/// `list` without room to spare. A rule's lists are kept until the policy is resolved, and a
/// vector collected from an iterator of unknown length keeps room for four: at a million rules,
/// the room for three more service and net references is hundreds of MB.
fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}
