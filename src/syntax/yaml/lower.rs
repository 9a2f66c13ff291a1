//! The YAML node tree -> the same AST as the text form.
//!
//! Every scalar that holds policy syntax (a port spec, a net, a name, a limit) is parsed with the
//! grammar rule the text form uses for it and built by the same [`Builder`] methods, so both forms
//! accept exactly the same values and report them the same way. Names are validated here too: a
//! YAML key can hold any string, and nothing unvalidated may reach the generated ruleset.

use pest::iterators::Pairs;
use pest::Parser;

use super::node::{Node, Value};
use crate::diagnostic::Diagnostic;
use crate::rule::SYNTAX_ERROR;
use crate::source::{FileId, Span, Spanned};
use crate::syntax::ast::{
    self, Bind, ChainBlock, ChainKind, ExpectKind, ForwardPort, HostBlock, HostItem, Ident,
    Include, Item, Log, NetDef, NetRef, ServiceDef, ServiceRef, Verdict,
};
use crate::syntax::grammar::{PolicyParser, Rule};
use crate::syntax::lexical;
use crate::syntax::parse_error::{self, Context};
use crate::syntax::parser::{mixed_signs, not_an_expect_option, stack_mismatch, Builder};

pub(super) const POLICY_KEYS: &[&str] = &[
    "include",
    "services",
    "nets",
    "hosts",
    "binds",
    "input",
    "output",
    "forward",
    "forward-ports",
    "masquerade",
    "snat",
];
pub(super) const HOST_KEYS: &[&str] = &[
    "binds",
    "input",
    "output",
    "forward",
    "forward-ports",
    "masquerade",
    "snat",
];
pub(super) const CHAIN_KEYS: &[&str] = &["policy", "rules", "expect"];
pub(super) const RULE_KEYS: &[&str] = &[
    "allow", "deny", "reject", "from", "to", "on", "limit", "log", "counter",
];
pub(super) const EXPECT_KEYS: &[&str] = &["open", "closed", "limited", "from", "to", "on"];
/// A rule's options that an expectation does not take: reported as the text form reports them,
/// not as unknown keys.
const RULE_ONLY_KEYS: &[&str] = &["limit", "log", "counter"];
pub(super) const BIND_KEYS: &[&str] = &["process", "on", "stack", "services", "as"];
pub(super) const FORWARD_KEYS: &[&str] = &["port", "from", "on", "at", "to"];
pub(super) const MASQUERADE_KEYS: &[&str] = &["on", "from"];
pub(super) const SNAT_KEYS: &[&str] = &["on", "from", "to"];

pub(crate) struct Lowering {
    file: FileId,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// The key a statement starts with (a rule's verdict, an expectation's kind), for its messages.
struct Head {
    keys: &'static [&'static str],
    /// `a rule`
    statement: &'static str,
    /// `verdict`
    word: &'static str,
    /// `rules`
    plural: &'static str,
    example: &'static str,
}

const VERDICT: Head = Head {
    keys: &["allow", "deny", "reject"],
    statement: "a rule",
    word: "verdict",
    plural: "rules",
    example: "write `- {allow: ssh, from: admins}`",
};

const EXPECT_KIND: Head = Head {
    keys: &["open", "closed", "limited"],
    statement: "an expectation",
    word: "kind",
    plural: "expectations",
    example: "write `- {open: ssh, from: admins}`",
};

/// One checked entry of a mapping.
struct Field<'n> {
    key: &'n str,
    key_node: &'n Node,
    value: &'n Node,
}

impl Lowering {
    pub(crate) fn new(file: FileId) -> Self {
        Lowering {
            file,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn policy(&mut self, root: &Node) -> Vec<Item> {
        if root.value == Value::Null {
            return Vec::new();
        }
        let Some(fields) = self.fields(root, "the policy", POLICY_KEYS, true) else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for field in fields {
            match field.key {
                "include" => {
                    for node in one_or_many(field.value) {
                        items.extend(self.include(node).map(Item::Include));
                    }
                }
                "services" => {
                    for (name, value) in self.named(field.value, "services") {
                        items.extend(self.service_def(name, value).map(Item::Service));
                    }
                }
                "nets" => {
                    for (name, value) in self.named(field.value, "nets") {
                        items.extend(self.net_def(name, value).map(Item::Net));
                    }
                }
                "hosts" => {
                    for (name, value) in self.named(field.value, "hosts") {
                        items.extend(self.host(name, value).map(Item::Host));
                    }
                }
                _ => items.extend(self.host_field(&field).into_iter().map(Item::HostItem)),
            }
        }
        items
    }

    fn include(&mut self, node: &Node) -> Option<Include> {
        let path = self.text(node, "an include path")?;
        if let Err(err) = lexical::include_path(path) {
            self.error(node.span, err.message, err.help);
            return None;
        }
        Some(Include {
            path: Spanned::new(path.to_string(), node.span),
            span: node.span,
        })
    }

    fn service_def(&mut self, name: &Node, value: &Node) -> Option<ServiceDef> {
        let name = self.ref_name(name)?;
        let ports = self.service_refs(value)?;
        Some(ServiceDef {
            span: name.span.to(value.span),
            name,
            ports,
        })
    }

    fn net_def(&mut self, name: &Node, value: &Node) -> Option<NetDef> {
        let name = self.ref_name(name)?;
        let members = self.net_refs(value)?;
        Some(NetDef {
            span: name.span.to(value.span),
            name,
            members,
        })
    }

    fn host(&mut self, name: &Node, value: &Node) -> Option<HostBlock> {
        let name = self.name(name)?;
        let span = name.span.to(value.span);
        let mut items = Vec::new();
        if value.value != Value::Null {
            for field in self.fields(value, "a host", HOST_KEYS, true)? {
                items.extend(self.host_field(&field));
            }
        }
        Some(HostBlock { name, items, span })
    }

    /// `binds`, `input`, `output`, `forward` or `forward-ports`, in a host or at the top level.
    fn host_field(&mut self, field: &Field<'_>) -> Vec<HostItem> {
        match field.key {
            "binds" => self
                .list(field.value, "binds")
                .iter()
                .filter_map(|node| self.bind(node))
                .map(HostItem::Bind)
                .collect(),
            "forward-ports" => self
                .list(field.value, "forward-ports")
                .iter()
                .filter_map(|node| self.forward_port(node))
                .map(|f| HostItem::ForwardPort(Box::new(f)))
                .collect(),
            "masquerade" | "snat" => self
                .list(field.value, field.key)
                .iter()
                .filter_map(|node| self.source_nat(field.key, node))
                .map(HostItem::SourceNat)
                .collect(),
            "input" | "output" | "forward" => {
                self.chain(field).map(HostItem::Chain).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    // Statements check every field they have before giving up on a missing or broken one, so that
    // one run reports all of their mistakes.

    fn bind(&mut self, node: &Node) -> Option<Bind> {
        let fields = self.fields(node, "a bind", BIND_KEYS, false)?;
        let process = self.required(&fields, node, "process", "a bind");
        let on = self.required(&fields, node, "on", "a bind");
        let services = self.required(&fields, node, "services", "a bind");
        let process = process.and_then(|f| self.name(f.value));
        let address = on.and_then(|f| {
            self.scalar(f.value, Rule::address_only, "an address", |b, mut pairs| {
                pairs
                    .find(|p| p.as_rule() == Rule::address)
                    .and_then(|p| b.address(p))
            })
            .flatten()
        });
        let services = services.and_then(|f| self.service_refs(f.value));
        let user = match field(&fields, "as") {
            Some(f) => Some(self.name(f.value)?),
            None => None,
        };
        let stack = match field(&fields, "stack") {
            Some(f) => Some(
                self.scalar(
                    f.value,
                    Rule::stack_only,
                    "`v6only` or `dual-stack`",
                    |b, mut pairs| {
                        pairs
                            .find(|p| p.as_rule() == Rule::bind_stack)
                            .map(|p| b.stack(p))
                    },
                )
                .flatten()?,
            ),
            None => None,
        };
        let address = address?;
        if let Some(d) = stack.as_ref().and_then(|s| stack_mismatch(&address, s)) {
            self.diagnostics.push(d);
        }
        Some(Bind {
            process: process?,
            address,
            stack,
            services: services?,
            user,
            span: node.span,
        })
    }

    fn forward_port(&mut self, node: &Node) -> Option<ForwardPort> {
        let fields = self.fields(node, "a forward-port", FORWARD_KEYS, false)?;
        let port = self.required(&fields, node, "port", "a forward-port");
        let to = self.required(&fields, node, "to", "a forward-port");
        let spec = port.and_then(|f| {
            self.scalar(
                f.value,
                Rule::port_spec_only,
                "a port spec",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::port_spec)
                        .and_then(|p| b.forward_spec(p))
                },
            )
            .flatten()
        });
        let target = to.and_then(|f| {
            self.scalar(
                f.value,
                Rule::target_only,
                "a target address",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::target)
                        .and_then(|p| b.target(p))
                },
            )
            .flatten()
        });
        let from = match field(&fields, "from") {
            Some(from) => Some(self.net_refs(from.value)?),
            None => None,
        };
        let at = match field(&fields, "at") {
            Some(at) => Some(self.net_refs(at.value)?),
            None => None,
        };
        let interface = match field(&fields, "on") {
            Some(on) => Some(self.interfaces(on.value)?),
            None => None,
        };
        let (target, target_port) = target?;
        Some(ForwardPort {
            spec: spec?,
            from,
            interface,
            at,
            target,
            target_port,
            span: node.span,
        })
    }

    /// An entry of `masquerade` or `snat`.
    fn source_nat(&mut self, key: &str, node: &Node) -> Option<ast::SourceNat> {
        let (keys, what) = match key {
            "snat" => (SNAT_KEYS, "an snat"),
            _ => (MASQUERADE_KEYS, "a masquerade"),
        };
        let fields = self.fields(node, what, keys, false)?;
        let on = self.required(&fields, node, "on", what);
        let to = if key == "snat" {
            self.required(&fields, node, "to", what)
        } else {
            None
        };
        let interface = on.and_then(|f| self.interfaces(f.value));
        let to = to.and_then(|f| {
            self.scalar(f.value, Rule::address_only, "an address", |b, mut pairs| {
                pairs
                    .find(|p| p.as_rule() == Rule::address)
                    .and_then(|p| b.address(p))
            })
            .flatten()
        });
        let from = match field(&fields, "from") {
            Some(from) => Some(self.net_refs(from.value)?),
            None => None,
        };
        if key == "snat" && to.is_none() {
            return None;
        }
        Some(ast::SourceNat {
            interface: interface?,
            from,
            to,
            span: node.span,
        })
    }

    fn chain(&mut self, chain: &Field<'_>) -> Option<ChainBlock> {
        let kind = match chain.key {
            "input" => ChainKind::Input,
            "output" => ChainKind::Output,
            _ => ChainKind::Forward,
        };
        let what = format!("the `{}` chain", chain.key);
        let fields = self.fields(chain.value, &what, CHAIN_KEYS, false)?;
        let policy = self.required(&fields, chain.value, "policy", &what);
        let policy = policy.and_then(|f| {
            self.scalar(
                f.value,
                Rule::policy_only,
                "a default verdict",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::policy)
                        .and_then(|p| b.policy(p))
                },
            )
            .flatten()
        });
        let rules = match field(&fields, "rules") {
            Some(rules) => self
                .list(rules.value, "rules")
                .iter()
                .filter_map(|node| self.rule(node))
                .collect(),
            None => Vec::new(),
        };
        let expectations = match field(&fields, "expect") {
            Some(expect) => self
                .list(expect.value, "expect")
                .iter()
                .filter_map(|node| self.expectation(node))
                .collect(),
            None => Vec::new(),
        };
        Some(ChainBlock {
            kind: Spanned::new(kind, chain.key_node.span),
            policy: policy?,
            rules,
            expectations,
            span: chain.key_node.span.to(chain.value.span),
        })
    }

    fn rule(&mut self, node: &Node) -> Option<ast::Rule> {
        let fields = self.fields(node, "a rule", RULE_KEYS, false)?;
        let verdict_field = self.head_field(node, &fields, &VERDICT);
        // Without a verdict the options are still checked; the rule is dropped at the end.
        let mut valid = verdict_field.is_some();
        let verdict = match verdict_field {
            Some(f) => {
                let verdict = match f.key {
                    "allow" => Verdict::Accept,
                    "deny" => Verdict::Drop,
                    _ => Verdict::Reject,
                };
                Spanned::new(verdict, f.key_node.span)
            }
            None => Spanned::new(Verdict::Drop, node.span),
        };
        let services = match verdict_field {
            Some(f) if f.value.value != Value::Null => {
                let services = self.service_refs(f.value);
                valid &= services.is_some();
                services
            }
            _ => None,
        };
        let mut rule = ast::Rule {
            verdict,
            services,
            from: None,
            to: None,
            interface: None,
            limit: None,
            log: None,
            counter: None,
            broken: false,
            span: node.span,
        };
        for option in &fields {
            valid &= self.rule_option(&mut rule, option);
        }
        valid &= !fields.iter().any(|f| f.key == "from") || rule.from.is_some();
        valid &= !fields.iter().any(|f| f.key == "to") || rule.to.is_some();
        rule.broken = !valid;
        Some(rule)
    }

    /// `{open: ssh, from: admins}`: the services after the kind, from, to and on, as in the text
    /// form; a rule's `limit`, `log` or `counter` is reported as there.
    fn expectation(&mut self, node: &Node) -> Option<ast::Expect> {
        let fields =
            self.fields_with(node, "an expectation", EXPECT_KEYS, RULE_ONLY_KEYS, false)?;
        let kind_field = self.head_field(node, &fields, &EXPECT_KIND);
        let kind = kind_field.map(|f| {
            let kind = match f.key {
                "open" => ExpectKind::Open,
                "closed" => ExpectKind::Closed,
                _ => ExpectKind::Limited,
            };
            Spanned::new(kind, f.key_node.span)
        });
        let services = kind_field.and_then(|f| self.service_refs(f.value));
        let (mut from, mut to, mut interface) = (None, None, None);
        let mut valid = true;
        for option in &fields {
            let value = option.value;
            match option.key {
                "from" => {
                    from = self.net_refs(value);
                    valid &= from.is_some();
                }
                "to" => {
                    to = self.net_refs(value);
                    valid &= to.is_some();
                }
                "on" => {
                    interface = self.interfaces(value);
                    valid &= interface.is_some();
                }
                key if RULE_ONLY_KEYS.contains(&key) => {
                    let span = option.key_node.span.to(value.span);
                    self.diagnostics.push(not_an_expect_option(key, span));
                    valid = false;
                }
                _ => {}
            }
        }
        // Without its kind or its services there is no statement; the rest was still checked.
        Some(ast::Expect {
            kind: kind?,
            services: services?,
            from,
            to,
            interface,
            broken: !valid,
            span: node.span,
        })
    }

    /// The one key of `head.keys` a statement has (a rule's verdict, an expectation's kind);
    /// reported when there is none, or more.
    fn head_field<'f, 'n>(
        &mut self,
        node: &Node,
        fields: &'f [Field<'n>],
        head: &Head,
    ) -> Option<&'f Field<'n>> {
        let heads: Vec<&Field<'_>> = fields
            .iter()
            .filter(|f| head.keys.contains(&f.key))
            .collect();
        match heads.as_slice() {
            [one] => Some(*one),
            [] => {
                self.error(
                    node.span,
                    format!(
                        "{} needs one of {}",
                        head.statement,
                        join_or(&backticked_each(head.keys))
                    ),
                    Some(head.example.into()),
                );
                None
            }
            [first, second, ..] => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &SYNTAX_ERROR,
                        second.key_node.span,
                        format!(
                            "{} has one {}, this one has `{}` and `{}`",
                            head.statement, head.word, first.key, second.key
                        ),
                    )
                    .label(format!("second {}", head.word))
                    .secondary(first.key_node.span, format!("first {}", head.word))
                    .help(format!("split it into two {}", head.plural)),
                );
                None
            }
        }
    }

    /// One option of a rule (`from`, `to`, `on`, `limit`, `log`, `counter`) into `rule`; false
    /// when its value is reported as wrong. (A wrong `from` or `to` is told by its missing value.)
    fn rule_option(&mut self, rule: &mut ast::Rule, option: &Field) -> bool {
        let value = option.value;
        match option.key {
            "from" => rule.from = self.net_refs(value),
            "to" => rule.to = self.net_refs(value),
            "on" => {
                rule.interface = self.interfaces(value);
                return rule.interface.is_some();
            }
            "limit" => {
                rule.limit = self
                    .scalar(
                        value,
                        Rule::limit_only,
                        "a rate like `10/minute`",
                        |b, mut pairs| {
                            pairs
                                .find(|p| p.as_rule() == Rule::limit_body)
                                .and_then(|p| b.limit_body(p, value.span))
                        },
                    )
                    .flatten();
                return rule.limit.is_some();
            }
            "log" => return self.log_option(rule, option),
            "counter" => match &value.value {
                Value::Bool(true, _) => rule.counter = Some(option.key_node.span.to(value.span)),
                Value::Bool(false, _) => {}
                _ => {
                    self.expected(value, "`true` or `false`");
                    return false;
                }
            },
            _ => {}
        }
        true
    }

    /// `log: true`, `log: false` or `log: PREFIX` into `rule`; false when the value is none of
    /// these or the prefix is not one nft takes.
    fn log_option(&mut self, rule: &mut ast::Rule, option: &Field) -> bool {
        let value = option.value;
        match &value.value {
            Value::Bool(true, _) => {
                rule.log = Some(Log {
                    prefix: None,
                    span: option.key_node.span.to(value.span),
                })
            }
            Value::Bool(false, _) => {}
            Value::Text(prefix) => {
                let prefix = Spanned::new(prefix.clone(), value.span);
                let mut builder = Builder::new(self.file, value.origin, &[], &mut self.diagnostics);
                let prefix = builder.checked_log_prefix(prefix, value.origin);
                let valid = prefix.is_some();
                rule.log = Some(Log {
                    prefix,
                    span: option.key_node.span.to(value.span),
                });
                return valid;
            }
            _ => {
                self.expected(value, "`true`, `false` or a log prefix string");
                return false;
            }
        }
        true
    }

    // ---------------------------------------------------------------------------------------------
    // Values

    /// A service list: one string (`http, https` as in the text form) or a list of them.
    fn service_refs(&mut self, node: &Node) -> Option<Vec<ServiceRef>> {
        let mut refs = Vec::new();
        for item in self.non_empty(node, "a service name or a port spec like `tcp/22`")? {
            let parsed = self.scalar(
                item,
                Rule::service_list_only,
                "a service name or a port spec like `tcp/22`",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::service_list)
                        .map(|p| b.service_list(p))
                        .unwrap_or_default()
                },
            );
            refs.extend(parsed.unwrap_or_else(|| vec![ServiceRef::Error(item.span)]));
        }
        Some(refs)
    }

    /// Interfaces: one string (`eth0, eth1`, `!wan0`) or a list of them.
    fn interfaces(&mut self, node: &Node) -> Option<ast::Interfaces> {
        let mut lists = Vec::new();
        for item in self.non_empty(node, "an interface name like `eth0`")? {
            let parsed = self.scalar(
                item,
                Rule::iface_list_only,
                "an interface name like `eth0`",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::iface_list)
                        .and_then(|p| b.interfaces(p))
                },
            );
            lists.push(parsed.flatten()?);
        }
        let signs: Vec<(bool, Span)> = lists.iter().map(|l| (l.negated, l.span)).collect();
        if let Some(diagnostic) = mixed_signs(&signs, "interface") {
            self.diagnostics.push(diagnostic);
            return None;
        }
        Some(ast::Interfaces {
            negated: lists.first()?.negated,
            names: lists.iter().flat_map(|l| l.names.iter().cloned()).collect(),
            span: node.span,
        })
    }

    /// A net list: one string (`office, 10.0.0.0/8`) or a list of them.
    fn net_refs(&mut self, node: &Node) -> Option<Vec<NetRef>> {
        let mut refs = Vec::new();
        for item in self.non_empty(node, "a net name, an address like `10.0.0.0/8`, or `any`")? {
            let parsed = self.scalar(
                item,
                Rule::net_list_only,
                "a net name, an address like `10.0.0.0/8`, or `any`",
                |b, mut pairs| {
                    pairs
                        .find(|p| p.as_rule() == Rule::net_list)
                        .map(|p| b.net_list(p))
                        .unwrap_or_default()
                },
            );
            refs.extend(parsed.unwrap_or_else(|| vec![NetRef::Error(item.span)]));
        }
        // Each string was checked on its own; a YAML list must not mix them either.
        let signs: Vec<(bool, Span)> = refs
            .iter()
            .filter(|r| !matches!(r, NetRef::Error(_)))
            .map(|r| (matches!(r, NetRef::Not(..)), r.span()))
            .collect();
        if let Some(diagnostic) = mixed_signs(&signs, "net") {
            self.diagnostics.push(diagnostic);
            return Some(refs.iter().map(|r| NetRef::Error(r.span())).collect());
        }
        Some(refs)
    }

    /// The name of a service or net.
    fn ref_name(&mut self, node: &Node) -> Option<Ident> {
        self.scalar(node, Rule::ref_name_only, "a name", |b, mut pairs| {
            pairs
                .find(|p| p.as_rule() == Rule::ref_name)
                .map(|p| b.ident(p))
        })
        .flatten()
    }

    /// The name of a host, process or user.
    fn name(&mut self, node: &Node) -> Option<Ident> {
        self.scalar(node, Rule::name_only, "a name", |b, mut pairs| {
            pairs
                .find(|p| p.as_rule() == Rule::name)
                .map(|p| b.ident(p))
        })
        .flatten()
    }

    /// Parses a scalar with a grammar rule and builds the result; a parse error is reported at the
    /// scalar and gives `None`.
    fn scalar<T>(
        &mut self,
        node: &Node,
        rule: Rule,
        what: &str,
        build: impl FnOnce(&mut Builder<'_>, Pairs<'_, Rule>) -> T,
    ) -> Option<T> {
        let text = self.text(node, what)?;
        match PolicyParser::parse(rule, text) {
            Ok(pairs) => {
                let mut builder = Builder::new(self.file, node.origin, &[], &mut self.diagnostics);
                Some(build(&mut builder, pairs))
            }
            Err(error) => {
                self.diagnostics.push(parse_error::diagnostic(
                    &error,
                    text,
                    self.file,
                    node.origin,
                    Context::Value,
                ));
                None
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Shapes

    /// The entries of a mapping whose keys must be among `allowed`. Unknown keys are reported and
    /// skipped; so are repeated ones unless `repeats` (lists of statements may say `binds` twice).
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
        repeats: bool,
    ) -> Option<Vec<Field<'n>>> {
        self.fields_with(node, what, allowed, &[], repeats)
    }

    /// [`Self::fields`], also keeping the keys in `misplaced`: known elsewhere, reported by the
    /// caller in words of their own, and not offered in the list of keys `what` has.
    fn fields_with<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
        misplaced: &[&str],
        repeats: bool,
    ) -> Option<Vec<Field<'n>>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.span,
                format!("expected a mapping for {what}, found {}", node.kind()),
                Some(format!("{what} has the keys {}", backticked(allowed))),
            );
            return None;
        };
        let mut fields: Vec<Field<'n>> = Vec::new();
        for (key_node, value) in entries {
            let Some(key) = key_node.text() else {
                self.expected(key_node, "a key");
                continue;
            };
            if !allowed.contains(&key) && !misplaced.contains(&key) {
                let guess = allowed
                    .iter()
                    .map(|k| (strsim::levenshtein(key, k), *k))
                    .min()
                    .filter(|(distance, _)| *distance <= 2)
                    .map(|(_, k)| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                self.error(
                    key_node.span,
                    format!("unknown key `{}` in {what}", printable(key)),
                    Some(format!(
                        "{guess}{what} has the keys {}",
                        backticked(allowed)
                    )),
                );
                continue;
            }
            if !repeats {
                if let Some(first) = fields.iter().find(|f| f.key == key) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            &SYNTAX_ERROR,
                            key_node.span,
                            format!("`{key}` is given twice in {what}"),
                        )
                        .label(format!("second `{key}`"))
                        .secondary(first.key_node.span, format!("first `{key}` here")),
                    );
                    continue;
                }
            }
            fields.push(Field {
                key,
                key_node,
                value,
            });
        }
        Some(fields)
    }

    fn required<'f, 'n>(
        &mut self,
        fields: &'f [Field<'n>],
        node: &Node,
        key: &str,
        what: &str,
    ) -> Option<&'f Field<'n>> {
        let found = field(fields, key);
        if found.is_none() {
            self.error(node.span, format!("{what} needs `{key}`"), None);
        }
        found
    }

    /// A mapping from names to definitions (`services`, `nets`, `hosts`).
    fn named<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(&'n Node, &'n Node)> {
        match &node.value {
            Value::Map(entries) => entries.iter().map(|(k, v)| (k, v)).collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(
                    node.span,
                    format!(
                        "expected a mapping from names to definitions for `{what}`, found {}",
                        node.kind()
                    ),
                    None,
                );
                Vec::new()
            }
        }
    }

    /// A list of mappings (`binds`, `rules`, `forward-ports`); empty for an empty value.
    fn list<'n>(&mut self, node: &'n Node, what: &str) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(
                    node.span,
                    format!("expected a list for `{what}`, found {}", node.kind()),
                    Some(format!(
                        "write each entry of `{what}` on its own line starting with `- `"
                    )),
                );
                Vec::new()
            }
        }
    }

    /// A scalar or a non-empty list of scalars; an empty value or list is reported.
    fn non_empty<'n>(&mut self, node: &'n Node, what: &str) -> Option<Vec<&'n Node>> {
        let items = one_or_many(node);
        if items.is_empty() || node.value == Value::Null {
            self.expected(node, what);
            return None;
        }
        Some(items)
    }

    fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        let text = node.text();
        if text.is_none() {
            self.expected(node, what);
        }
        text
    }

    fn expected(&mut self, node: &Node, what: &str) {
        self.error(
            node.span,
            format!("expected {what}, found {}", node.kind()),
            None,
        );
    }

    fn error(&mut self, span: Span, message: String, help: Option<String>) {
        let mut diagnostic = Diagnostic::new(&SYNTAX_ERROR, span, message).label("here");
        if let Some(help) = help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }
}

/// A scalar or a list of scalars, as a list.
fn one_or_many(node: &Node) -> Vec<&Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

fn field<'f, 'n>(fields: &'f [Field<'n>], key: &str) -> Option<&'f Field<'n>> {
    fields.iter().find(|f| f.key == key)
}

fn backticked(keys: &[&str]) -> String {
    backticked_each(keys).join(", ")
}

fn backticked_each(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| format!("`{k}`")).collect()
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A key for a message: control characters escaped, long keys cut.
fn printable(key: &str) -> String {
    let escaped: String = key.escape_debug().collect();
    match escaped.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &escaped[..cut]),
        None => escaped,
    }
}
