//! The text form, construct by construct: what it accepts and what it builds.

use std::net::IpAddr;

use super::*;
use crate::model::{PortRange, Protocol};
use crate::source::Span;
use crate::syntax::ast::{ChainKind, ExpectKind, NetRef, RateUnit, ServiceRef, Verdict};

fn service_refs(list: &str) -> Vec<ServiceRef> {
    match parse_ok(&format!("service x = {list}")).items.as_slice() {
        [Item::Service(def)] => def.ports.clone(),
        other => panic!("expected one service, got {other:?}"),
    }
}

fn net_refs(list: &str) -> Vec<NetRef> {
    match parse_ok(&format!("net x = {list}")).items.as_slice() {
        [Item::Net(def)] => def.members.clone(),
        other => panic!("expected one net, got {other:?}"),
    }
}

fn spec(service: &ServiceRef) -> (Protocol, Option<PortRange>) {
    match service {
        ServiceRef::Spec(spec) => (spec.protocol.node, spec.ports.as_ref().map(|p| p.node)),
        other => panic!("expected a port spec, got {other:?}"),
    }
}

fn host_items(text: &str) -> Vec<HostItem> {
    match parse_ok(text).items.into_iter().next() {
        Some(Item::Host(host)) => host.items,
        other => panic!("expected a host, got {other:?}"),
    }
}

#[test]
fn empty_files_and_comments_are_empty_policies() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("\n\n  # just a comment\n\t\n").items.is_empty());
    assert!(parse_ok("# no newline at the end").items.is_empty());
    assert_eq!(parse_ok("\r\nservice a = tcp/1\r\n").items.len(), 1);
    assert_eq!(
        parse_ok("\u{feff}service a = tcp/1\n").items.len(),
        1,
        "a byte order mark"
    );
}

#[test]
fn include_takes_a_string_with_escapes() {
    let policy = parse_ok("include \"common.pcl\"  # shared\ninclude \"a \\\"b\\\" \\\\ c\"\n");
    let paths: Vec<&str> = policy
        .items
        .iter()
        .map(|item| match item {
            Item::Include(include) => include.path.node.as_str(),
            other => panic!("expected an include, got {other:?}"),
        })
        .collect();
    assert_eq!(paths, ["common.pcl", "a \"b\" \\ c"]);
}

#[test]
fn include_needs_a_quoted_path_at_top_level() {
    let err = text_error("include common.pcl");
    assert_eq!(err.rule, "syntax-error");
    assert!(
        err.message.starts_with("expected a quoted string"),
        "{}",
        err.message
    );
    let err = text_error("host h {\n  include \"x.pcl\"\n}");
    assert_eq!((err.line, err.column), (2, 3));
    assert!(err.help.unwrap().contains("top level"));
    let err = text_error("include \"a\\qb\"");
    assert_eq!(err.text, "\\q");
    assert!(err.message.contains("unknown escape"));
    assert!(text_error("include \"\"").message.contains("empty"));
    assert!(text_error("include \"a\\tb\"")
        .message
        .contains("cannot contain"));
}

#[test]
fn services_list_specs_and_names() {
    let refs = service_refs("tcp/22, udp/8000-8100, tcp, sctp/9, dccp/1-65535, ssh, domain/udp");
    assert_eq!(spec(&refs[0]), (Protocol::Tcp, Some(PortRange::single(22))));
    assert_eq!(spec(&refs[1]), (Protocol::Udp, PortRange::new(8000, 8100)));
    assert_eq!(spec(&refs[2]), (Protocol::Tcp, None));
    assert_eq!(spec(&refs[3]), (Protocol::Sctp, Some(PortRange::single(9))));
    assert_eq!(spec(&refs[4]), (Protocol::Dccp, Some(PortRange::ALL)));
    match &refs[5] {
        ServiceRef::Name { name, protocol, .. } => {
            assert_eq!(name.node, "ssh");
            assert_eq!(protocol, &None);
        }
        other => panic!("expected a name, got {other:?}"),
    }
    match &refs[6] {
        ServiceRef::Name { name, protocol, .. } => {
            assert_eq!(name.node, "domain");
            assert_eq!(protocol.as_ref().map(|p| p.node), Some(Protocol::Udp));
        }
        other => panic!("expected a name, got {other:?}"),
    }
}

#[test]
fn service_definitions_need_an_equals_sign_and_a_list() {
    let err = text_error("service app tcp/8080");
    assert!(err.message.starts_with("expected `=`"), "{}", err.message);
    let err = text_error("service app =");
    assert!(
        err.message
            .starts_with("expected a service name or a port spec like `tcp/22`"),
        "{}",
        err.message
    );
    let err = text_error("service app = tcp/1,");
    assert!(
        err.message.contains("found the end of the file"),
        "{}",
        err.message
    );
}

#[test]
fn protocols_are_lowercase() {
    let err = text_error("service app = TCP/22");
    assert!(
        err.message.starts_with("expected a protocol"),
        "{}",
        err.message
    );
}

#[test]
fn identifiers_may_start_with_a_digit_but_need_a_letter() {
    let refs = service_refs("3com-tsmux, 9pfs, a.b_c-d, _x");
    let names: Vec<&str> = refs
        .iter()
        .map(|r| match r {
            ServiceRef::Name { name, .. } => name.node.as_str(),
            other => panic!("expected a name, got {other:?}"),
        })
        .collect();
    assert_eq!(names, ["3com-tsmux", "9pfs", "a.b_c-d", "_x"]);
    // the longest name is 63 characters
    parse_ok(&format!("service {} = tcp/1", "a".repeat(63)));
    let err = text_error(&format!("service {} = tcp/1", "a".repeat(64)));
    assert!(err.message.contains("longer than 63"), "{}", err.message);
    // all digits is a port, not a name
    assert_eq!(
        text_error("service 123 = tcp/1").message,
        "expected a name, found `123`"
    );
    assert!(text_error("service -x = tcp/1")
        .message
        .starts_with("expected a name"));
}

#[test]
fn keywords_are_not_names() {
    for word in [
        "from", "to", "on", "limit", "log", "counter", "as", "any", "tcp", "udp",
    ] {
        let err = text_error(&format!("service {word} = tcp/1"));
        assert_eq!(err.message, format!("expected a name, found `{word}`"));
        assert!(err.help.unwrap().contains("keyword"));
    }
    // but words that merely start with a keyword are names
    let refs = service_refs("tcpmux, fromage, tor, online, logger, any1");
    assert!(refs.iter().all(|r| matches!(r, ServiceRef::Name { .. })));
}

#[test]
fn nets_list_addresses_prefixes_names_and_any() {
    let members = net_refs("10.10.0.0/16, 2001:db8:10::/48, 192.0.2.7, ::1, ::/0, any, office");
    let prefix = |m: &NetRef| match m {
        NetRef::Prefix(p) => p.node.to_string(),
        other => panic!("expected a prefix, got {other:?}"),
    };
    assert_eq!(prefix(&members[0]), "10.10.0.0/16");
    assert_eq!(prefix(&members[1]), "2001:db8:10::/48");
    assert_eq!(prefix(&members[2]), "192.0.2.7/32");
    assert_eq!(prefix(&members[3]), "::1/128");
    assert_eq!(prefix(&members[4]), "::/0");
    assert!(matches!(members[5], NetRef::Any(_)));
    assert!(matches!(&members[6], NetRef::Name(n) if n.node == "office"));
}

#[test]
fn address_like_text_with_a_colon_is_one_token() {
    // IPv6-like text wins over an IPv4 address it starts with, so the whole token is reported.
    let errors = text_errors("net x = 192.0.2.7:80\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].rule, errors[0].text.as_str()),
        ("invalid-address", "192.0.2.7:80")
    );
    let members = net_refs("64:ff9b::192.0.2.7, ::ffff:192.0.2.7");
    assert!(members.iter().all(|m| matches!(m, NetRef::Prefix(_))));
    // Where no IPv6-like reading exists the IPv4-like prefix ends at the colon.
    let errors = text_errors("net x = 10.0-0:5\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].rule, errors[0].column), ("syntax-error", 15));
}

#[test]
fn host_bits_are_kept_as_written() {
    let members = net_refs("10.0.0.1/8");
    assert!(matches!(&members[0], NetRef::Prefix(p) if p.node.to_string() == "10.0.0.1/8"));
}

#[test]
fn net_definitions_need_members() {
    let err = text_error("net office = ");
    assert!(
        err.message.starts_with("expected a net name, an address"),
        "{}",
        err.message
    );
    let err = text_error("net office = 10.0.0.0/8 192.168.0.0/16");
    assert!(err.message.starts_with("expected `,`"), "{}", err.message);
}

#[test]
fn hosts_hold_binds_chains_and_forwards() {
    let policy = parse_ok(
        "host web-1.example {\n  bind sshd on 0.0.0.0 ssh\n  input drop {\n  }\n  forward-port tcp/1 to 10.0.0.1\n}\nhost b { }\n",
    );
    match policy.items.as_slice() {
        [Item::Host(a), Item::Host(b)] => {
            assert_eq!(a.name.node, "web-1.example");
            assert_eq!(a.items.len(), 3);
            assert_eq!(b.name.node, "b");
            assert!(b.items.is_empty());
        }
        other => panic!("expected two hosts, got {other:?}"),
    }
}

#[test]
fn host_blocks_need_a_name_and_braces() {
    let err = text_error("host {\n}");
    assert_eq!(err.message, "expected a name, found `{`");
    let errors = text_errors("host web 1 {\n  bind sshd on 0.0.0.0 ssh\n}");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].message, "expected `{`, found `1`");
    let err = text_error("host web {\n  input drop {\n  }\n");
    assert!(
        err.message.ends_with("found the end of the file"),
        "{}",
        err.message
    );
    assert!(err.message.contains("`}`"));
}

#[test]
fn top_level_host_items_describe_one_unnamed_host() {
    let policy =
        parse_ok("bind sshd on :: ssh\ninput accept {\n}\nforward-port udp/53 to 10.0.0.53\n");
    assert!(policy
        .items
        .iter()
        .all(|item| matches!(item, Item::HostItem(_))));
    assert_eq!(policy.items.len(), 3);
}

#[test]
fn binds_name_process_address_services_and_user() {
    let items = host_items(
        "host h {\n  bind nginx on 0.0.0.0 http, https as www-data\n  bind unbound on ::1 domain\n}",
    );
    match &items[..] {
        [HostItem::Bind(a), HostItem::Bind(b)] => {
            assert_eq!(a.process.node, "nginx");
            assert_eq!(a.address.node, "0.0.0.0".parse::<IpAddr>().unwrap());
            assert_eq!(a.services.len(), 2);
            assert_eq!(a.user.as_ref().map(|u| u.node.as_str()), Some("www-data"));
            assert_eq!(b.address.node, "::1".parse::<IpAddr>().unwrap());
            assert_eq!(b.user, None);
        }
        other => panic!("expected two binds, got {other:?}"),
    }
}

#[test]
fn binds_need_a_single_valid_address() {
    let err = text_error("bind sshd on 0.0.0.0/0 ssh");
    assert_eq!(err.rule, "invalid-address");
    assert!(err.message.contains("prefix"), "{}", err.message);
    let err = text_error("bind sshd on 300.0.0.1 ssh");
    assert_eq!(err.rule, "invalid-address");
    assert_eq!(err.text, "300.0.0.1");
    let err = text_error("bind sshd 0.0.0.0 ssh");
    assert_eq!(err.message, "expected `on`, found `0.0.0.0`");
    let err = text_error("bind sshd on 0.0.0.0");
    assert!(
        err.message.starts_with("expected a service name"),
        "{}",
        err.message
    );
    let err = text_error("bind sshd on 0.0.0.0 ssh as");
    assert!(
        err.message.starts_with("expected a name"),
        "{}",
        err.message
    );
}

#[test]
fn chains_have_a_kind_and_a_default() {
    let items = host_items(
        "host h {\n  input drop {\n  }\n  output accept { }\n  forward reject {\n  }\n}",
    );
    let chains: Vec<(ChainKind, Verdict)> = items
        .iter()
        .map(|item| match item {
            HostItem::Chain(chain) => (chain.kind.node, chain.policy.node),
            other => panic!("expected a chain, got {other:?}"),
        })
        .collect();
    assert_eq!(
        chains,
        [
            (ChainKind::Input, Verdict::Drop),
            (ChainKind::Output, Verdict::Accept),
            (ChainKind::Forward, Verdict::Reject),
        ]
    );
}

#[test]
fn chains_reject_unknown_kinds_and_defaults() {
    let err = text_error("input deny {\n}");
    assert!(
        err.message.starts_with("expected a default verdict"),
        "{}",
        err.message
    );
    let err = text_error("host h {\n  prerouting drop {\n  }\n}");
    assert!(
        err.message.starts_with("expected a host statement"),
        "{}",
        err.message
    );
    let err = text_error("input drop\n");
    assert_eq!(err.message, "expected `{`, found the end of the line");
}

#[test]
fn rules_have_a_verdict_and_optional_services() {
    let all = rules("  allow ssh\n  deny telnet, ftp\n  reject\n  allow from admins");
    let verdicts: Vec<Verdict> = all.iter().map(|r| r.verdict.node).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Accept,
            Verdict::Drop,
            Verdict::Reject,
            Verdict::Accept
        ]
    );
    assert_eq!(all[0].services.as_ref().map(Vec::len), Some(1));
    assert_eq!(all[1].services.as_ref().map(Vec::len), Some(2));
    assert_eq!(all[2].services, None);
    assert_eq!(all[3].services, None);
    assert!(all[3].from.is_some());
}

#[test]
fn rules_take_every_option_in_any_order() {
    let a = rule("allow ssh from admins, 10.0.0.0/8 to any on eth0 limit 10/minute burst 5 per source log \"ssh: \" counter");
    let b = rule("allow ssh counter log \"ssh: \" limit 10/minute burst 5 per source on eth0 to any from admins, 10.0.0.0/8");
    assert_eq!(erase_spans(&a), erase_spans(&b));
    assert_eq!(a.from.as_ref().map(Vec::len), Some(2));
    assert!(matches!(a.to.as_deref(), Some([NetRef::Any(_)])));
    assert_eq!(
        a.interface.as_ref().map(|i| i.names[0].node.as_str()),
        Some("eth0")
    );
    let limit = a.limit.as_ref().unwrap();
    assert_eq!(
        (limit.rate, limit.unit, limit.burst, limit.per_source),
        (10, RateUnit::Minute, Some(5), true)
    );
    assert_eq!(
        a.log
            .as_ref()
            .and_then(|l| l.prefix.as_ref())
            .map(|p| p.node.as_str()),
        Some("ssh: ")
    );
    assert!(a.counter.is_some());
}

#[test]
fn rule_options_are_simple_when_alone() {
    let r = rule("deny telnet log");
    assert_eq!(r.log.as_ref().map(|l| l.prefix.is_none()), Some(true));
    let r = rule("allow limit 3/second");
    let limit = r.limit.unwrap();
    assert_eq!(
        (limit.rate, limit.unit, limit.burst, limit.per_source),
        (3, RateUnit::Second, None, false)
    );
    let r = rule("allow ssh limit 1/hour per source");
    assert!(r.limit.unwrap().per_source);
    let r = rule("allow on wg0.100@x:y+z-");
    assert_eq!(r.interface.unwrap().names[0].node, "wg0.100@x:y+z-");
}

#[test]
fn interface_lists_and_negation() {
    let r = rule("allow ssh on eth0, eth1");
    let on = r.interface.unwrap();
    let names: Vec<&str> = on.names.iter().map(|n| n.node.as_str()).collect();
    assert_eq!((names, on.negated), (vec!["eth0", "eth1"], false));
    let on = rule("allow on !wan0, !wan1").interface.unwrap();
    assert!(on.negated);
    let r = rule("allow from !office, !10.0.0.0/8 to !192.0.2.1");
    assert!(r.from.unwrap().iter().all(|n| matches!(n, NetRef::Not(..))));
    assert!(matches!(r.to.as_deref(), Some([NetRef::Not(..)])));
}

#[test]
fn rule_options_may_appear_once() {
    let errors = text_errors("input drop {\n  allow ssh from a log from b log\n}");
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`from` is given twice in one rule",
            "`log` is given twice in one rule"
        ]
    );
    assert_eq!((errors[0].line, errors[0].column), (2, 24));
    assert_eq!(errors[0].text, "from b");
    let (_, diagnostics) =
        crate::syntax::parse_text(FILE, "input drop {\n  allow ssh from a from b\n}");
    assert_eq!(
        diagnostics[0].secondary.len(),
        1,
        "points at the first `from`"
    );
}

#[test]
fn rule_options_are_checked() {
    let err = text_error("input drop {\n  allow ssh on abcdefghijklmnop\n}");
    assert!(err.message.contains("longer than 15"), "{}", err.message);
    let err = text_error("input drop {\n  allow ssh limit 0/second\n}");
    assert!(err.message.contains("rate of 0"), "{}", err.message);
    let err = text_error("input drop {\n  allow ssh limit 10/minute burst 99999999999\n}");
    assert!(err.message.contains("too large"), "{}", err.message);
    let err = text_error("input drop {\n  allow ssh limit 10/minutes\n}");
    assert_eq!(err.help.as_deref(), Some("did you mean `minute`?"));
    let err = text_error("input drop {\n  allow ssh limit 10\n}");
    assert!(
        err.message.starts_with("expected a rate")
            || err.message.contains("`/`")
            || err.message.starts_with("expected `second`"),
        "{}",
        err.message
    );
    let err = text_error("input drop {\n  allow ssh on\n}");
    assert_eq!(
        err.message,
        "expected an interface name like `eth0`, found the end of the line"
    );
}

#[test]
fn log_prefixes_are_printable_ascii_up_to_127_bytes() {
    rule(&format!("allow log \"{}\"", "x".repeat(127)));
    let err = text_error(&format!(
        "input drop {{\n  allow log \"{}\"\n}}",
        "x".repeat(128)
    ));
    assert!(err.message.contains("127"), "{}", err.message);
    let err = text_error("input drop {\n  allow log \"caf\u{e9}\"\n}");
    assert!(err.message.contains("cannot contain"), "{}", err.message);
    let err = text_error("input drop {\n  allow log \"a\\nb\"\n}");
    assert!(err.message.contains("cannot contain"), "{}", err.message);
    let err = text_error("input drop {\n  allow log \"say \\\"hi\\\"\"\n}");
    assert!(err.message.contains("double quote"), "{}", err.message);
    let err = text_error("input drop {\n  allow log \"open\n}");
    assert!(
        err.message.starts_with("expected a closing `\"`"),
        "{}",
        err.message
    );
}

#[test]
fn forward_ports_name_a_spec_and_a_target() {
    let items = host_items(
        "host h {\n  forward-port tcp/8443 to 10.0.0.5:443\n  forward-port udp/5000-5010 from office, 192.0.2.0/24 to 10.0.0.6\n  forward-port tcp/443 to [2001:db8::5]:8443\n  forward-port tcp/80 to [::1]\n}",
    );
    let forwards: Vec<_> = items
        .iter()
        .map(|item| match item {
            HostItem::ForwardPort(f) => f,
            other => panic!("expected a forward-port, got {other:?}"),
        })
        .collect();
    assert_eq!(forwards[0].target.node.to_string(), "10.0.0.5");
    assert_eq!(forwards[0].target_port.as_ref().map(|p| p.node), Some(443));
    assert_eq!(
        forwards[0].spec.ports.as_ref().map(|p| p.node),
        Some(PortRange::single(8443))
    );
    assert_eq!(forwards[1].from.as_ref().map(Vec::len), Some(2));
    assert_eq!(forwards[1].target_port, None);
    assert_eq!(forwards[2].target.node.to_string(), "2001:db8::5");
    assert_eq!(forwards[2].target_port.as_ref().map(|p| p.node), Some(8443));
    assert_eq!(forwards[3].target.node.to_string(), "::1");
}

#[test]
fn forward_ports_need_one_port_range_and_a_clear_target() {
    let err = text_error("forward-port tcp to 10.0.0.5");
    assert_eq!(err.rule, "invalid-port");
    let err = text_error("forward-port ssh to 10.0.0.5");
    assert!(
        err.message.starts_with("expected a protocol"),
        "{}",
        err.message
    );
    let err = text_error("forward-port tcp/8443 to 2001:db8::5");
    assert!(err.message.contains("brackets"), "{}", err.message);
    let err = text_error("forward-port tcp/8443 to 10.0.0.5:0");
    assert_eq!(err.rule, "invalid-port");
    let err = text_error("forward-port tcp/8443 to [10.0.0.5]");
    assert_eq!(err.rule, "invalid-address");
    let err = text_error("forward-port tcp/8443 to 10.0.0.999:443");
    assert_eq!(
        (err.rule, err.text.as_str()),
        ("invalid-address", "10.0.0.999")
    );
    let err = text_error("forward-port tcp/8443 10.0.0.5");
    assert!(err.message.starts_with("expected "), "{}", err.message);
    assert!(err.message.contains("`to`"), "{}", err.message);
}

#[test]
fn statements_continue_after_a_backslash() {
    let r = rule("  allow ssh, \\\n      http \\\r\n      from admins # why\n");
    assert_eq!(r.services.as_ref().map(Vec::len), Some(2));
    assert!(r.from.is_some());
    // without the backslash the second line is a statement of its own
    let err = text_error("input drop {\n  allow ssh\n    from admins\n}");
    assert_eq!((err.line, err.column), (3, 5));
}

#[test]
fn whole_blocks_may_sit_on_one_line() {
    let policy = parse_ok("host h { input drop { allow ssh } }");
    assert!(matches!(&policy.items[..], [Item::Host(h)] if h.items.len() == 1));
}

#[test]
fn spans_cover_what_was_written() {
    let text = "service app = tcp/8080, ssh   # web\nhost web {\n  input drop {\n    allow app from 10.0.0.0/8 log  # why \\\n  }\n}\n";
    let policy = parse_ok(text);
    let at = |span: Span| {
        assert_eq!(span.file, FILE);
        &text[span.start..span.end]
    };
    let Item::Service(def) = &policy.items[0] else {
        panic!("a service")
    };
    assert_eq!(at(def.span), "service app = tcp/8080, ssh");
    assert_eq!(at(def.name.span), "app");
    assert_eq!(at(def.ports[0].span()), "tcp/8080");
    let ServiceRef::Spec(spec) = &def.ports[0] else {
        panic!("a spec")
    };
    assert_eq!(at(spec.protocol.span), "tcp");
    assert_eq!(at(spec.ports.as_ref().unwrap().span), "8080");
    assert_eq!(at(def.ports[1].span()), "ssh");
    let Item::Host(host) = &policy.items[1] else {
        panic!("a host")
    };
    assert_eq!(at(host.name.span), "web");
    let HostItem::Chain(chain) = &host.items[0] else {
        panic!("a chain")
    };
    assert_eq!(at(chain.kind.span), "input");
    assert_eq!(at(chain.policy.span), "drop");
    assert!(at(chain.span).starts_with("input drop {") && at(chain.span).ends_with('}'));
    let r = &chain.rules[0];
    assert_eq!(at(r.span), "allow app from 10.0.0.0/8 log");
    assert_eq!(at(r.verdict.span), "allow");
    assert_eq!(at(r.from.as_ref().unwrap()[0].span()), "10.0.0.0/8");
    assert_eq!(at(r.log.as_ref().unwrap().span), "log");
}

#[test]
fn icmp_types_and_protocols_without_ports() {
    use crate::model::Family;
    let refs = service_refs(
        "icmp, icmp/echo-request, icmp 13, icmpv6 nd-neighbor-solicit, icmpv6/mld-listener-reduction, gre, esp, proto/253, proto/ah",
    );
    let found: Vec<String> = refs
        .iter()
        .map(|r| match r {
            ServiceRef::Icmp {
                family, icmp_type, ..
            } => format!(
                "{}:{:?}",
                if *family == Family::V4 {
                    "icmp"
                } else {
                    "icmpv6"
                },
                icmp_type.as_ref().map(|t| t.node)
            ),
            ServiceRef::IpProtocol { number, .. } => format!("proto:{number}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        found,
        [
            "icmp:None",
            "icmp:Some(8)",
            "icmp:Some(13)",
            "icmpv6:Some(135)",
            "icmpv6:Some(132)",
            "proto:47",
            "proto:50",
            "proto:253",
            "proto:51"
        ]
    );
    // A type after a space stops at the options: `from` is not a type.
    let policy =
        parse_ok("input drop {\n  allow icmp from 10.0.0.0/8\n  allow icmp echo-request log\n}\n");
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
        panic!("a chain")
    };
    assert!(chain.rules[0].from.is_some());
    assert!(chain.rules[1].log.is_some());
    // Names that only start with a protocol's name are service names.
    assert!(matches!(
        service_refs("icmpd")[..],
        [ServiceRef::Name { .. }]
    ));
    assert!(matches!(
        service_refs("gres")[..],
        [ServiceRef::Name { .. }]
    ));
}

/// The chain of `input drop { ... }` around `lines`.
fn chain(lines: &str) -> ast::ChainBlock {
    match parse_ok(&format!("input drop {{\n{lines}\n}}\n"))
        .items
        .into_iter()
        .next()
    {
        Some(Item::HostItem(HostItem::Chain(chain))) => chain,
        other => panic!("expected a chain, got {other:?}"),
    }
}

#[test]
fn expectations_are_kept_apart_from_rules_in_source_order() {
    let chain = chain(
        "  allow ssh from admins\n  expect open ssh from admins\n  deny telnet\n  expect closed postgresql\n  expect limited ssh from 192.0.2.0/24\n",
    );
    assert_eq!(chain.rules.len(), 2);
    let kinds: Vec<ExpectKind> = chain.expectations.iter().map(|e| e.kind.node).collect();
    assert_eq!(
        kinds,
        [ExpectKind::Open, ExpectKind::Closed, ExpectKind::Limited]
    );
    let closed = &chain.expectations[1];
    assert!(
        matches!(&closed.services[..], [ServiceRef::Name { name, .. }] if name.node == "postgresql")
    );
    assert_eq!(
        (&closed.from, &closed.to, &closed.interface),
        (&None, &None, &None)
    );
    assert!(!closed.broken);
}

#[test]
fn expectations_take_from_to_and_on_in_any_order() {
    let a = chain("  expect closed postgresql, tcp/6432 from any to 10.0.0.5 on eth0, eth1");
    let b = chain("  expect closed postgresql, tcp/6432 on eth0, eth1 to 10.0.0.5 from any");
    assert_eq!(erase_spans(&a), erase_spans(&b));
    let e = &a.expectations[0];
    assert_eq!(e.services.len(), 2);
    assert!(matches!(e.from.as_deref(), Some([NetRef::Any(_)])));
    assert!(matches!(e.to.as_deref(), Some([NetRef::Prefix(_)])));
    assert_eq!(e.interface.as_ref().map(|i| i.names.len()), Some(2));
    // Continued lines and a comment, and a one-line block.
    let c = chain("  expect closed postgresql, tcp/6432 \\\n    from any to 10.0.0.5 # db\\\n");
    assert!(c.expectations[0].to.is_some());
    let policy = parse_ok("host h { input drop { expect open ssh } }");
    let Item::Host(host) = &policy.items[0] else {
        panic!("a host")
    };
    let HostItem::Chain(one_line) = &host.items[0] else {
        panic!("a chain")
    };
    assert_eq!(one_line.expectations.len(), 1);
}

#[test]
fn an_expectation_spans_its_statement() {
    let text = "input drop {\n  expect limited ssh from admins   # why\n}\n";
    let policy = parse_ok(text);
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
        panic!("a chain")
    };
    let e = &chain.expectations[0];
    let at = |span: Span| &text[span.start..span.end];
    assert_eq!(at(e.span), "expect limited ssh from admins");
    assert_eq!(at(e.kind.span), "limited");
}

#[test]
fn expect_and_its_kinds_stay_names_outside_the_head_of_a_chain_line() {
    // Not reserved: a name never starts a line, so `expect` there is always the statement.
    let policy = parse_ok(
        "service expect = tcp/1\nservice open = tcp/2\nnet closed = 10.0.0.0/8\nnet limited = 10.1.0.0/16\ninput drop {\n  allow expect, open from closed, limited\n  expect open expect, open from closed to limited\n}\n",
    );
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.last() else {
        panic!("a chain")
    };
    assert_eq!(chain.rules.len(), 1);
    let e = &chain.expectations[0];
    assert_eq!(e.kind.node, ExpectKind::Open);
    let names: Vec<&str> = e
        .services
        .iter()
        .map(|s| match s {
            ServiceRef::Name { name, .. } => name.node.as_str(),
            other => panic!("a name, got {other:?}"),
        })
        .collect();
    assert_eq!(names, ["expect", "open"]);
    // Words that start with `expect` start no expectation.
    let err = text_error("input drop {\n  expected open ssh\n}");
    assert_eq!(err.text, "expected");
}

#[test]
fn expectation_options_are_checked_like_rule_options() {
    let errors = text_errors(
        "input drop {\n  expect open tcp/0 from 10.0.0.256 on eth0, !eth1\n  expect closed ssh on a-name-that-is-far-too-long\n}",
    );
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.rule, e.text.as_str())).collect();
    assert_eq!(
        found,
        [
            ("invalid-port", "0"),
            ("invalid-address", "10.0.0.256"),
            ("syntax-error", "!eth1"),
            ("syntax-error", "a-name-that-is-far-too-long"),
        ]
    );
    let (policy, _) = crate::syntax::parse_text(
        FILE,
        "input drop {\n  expect open ssh on eth0, !eth1\n  expect open tcp/0\n}",
    );
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
        panic!("the chain is kept")
    };
    // A bad `on` keeps the statement, broken; a bad port leaves an error node.
    assert!(chain.expectations[0].broken);
    assert!(!chain.expectations[1].broken);
    assert!(matches!(
        chain.expectations[1].services[..],
        [ServiceRef::Error(_)]
    ));
}

#[test]
fn expectation_options_may_appear_once() {
    let err = text_error("input drop {\n  expect open ssh on eth0 from a on eth1\n}");
    assert_eq!(err.message, "`on` is given twice in one `expect`");
    assert_eq!(err.text, "on eth1");
    assert_eq!(err.help.as_deref(), Some("give `on` once per `expect`"));
    let err = text_error("input drop {\n  allow ssh on eth0 on eth1\n}");
    assert_eq!(err.message, "`on` is given twice in one rule");
}

#[test]
fn rule_only_options_in_an_expectation_are_reported_and_break_it() {
    for (option, word) in [
        ("limit 10/minute burst 5", "limit"),
        ("log \"ssh: \"", "log"),
        ("log", "log"),
        ("counter", "counter"),
    ] {
        let text = format!("input drop {{\n  expect open ssh {option} from a\n}}");
        let err = text_error(&text);
        assert_eq!(
            err.message,
            format!("`{word}` is an option of rules, not of `expect`")
        );
        assert_eq!(err.text, option);
        let (policy, _) = crate::syntax::parse_text(FILE, &text);
        let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
            panic!("the chain is kept")
        };
        assert!(chain.expectations[0].broken, "{option}");
        assert!(chain.expectations[0].from.is_some(), "{option}");
    }
    let err = text_error("input drop {\n  expect open ssh limit 1/minute\n}");
    assert!(err.help.unwrap().contains("`expect limited ssh`"));
}
