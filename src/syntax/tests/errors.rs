//! Diagnostics: value errors, syntax error messages, and recovery to report all of them.

use super::*;
use crate::syntax::ast::{NetRef, ServiceRef};

#[test]
fn a_bare_port_asks_for_a_protocol() {
    let text = "input drop {\n  allow 8080\n}";
    let err = text_error(text);
    assert_eq!(err.rule, "invalid-port");
    assert_eq!((err.line, err.column, err.text.as_str()), (2, 9, "8080"));
    assert_eq!(err.help.as_deref(), Some("write `tcp/8080` or `udp/8080`"));
    let (policy, _) = crate::syntax::parse_text(FILE, text);
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
        panic!("the chain is kept")
    };
    assert!(matches!(
        chain.rules[0].services.as_deref(),
        Some([ServiceRef::Error(_)])
    ));
    let err = text_error("service s = 8000-8100");
    assert_eq!(
        err.help.as_deref(),
        Some("write `tcp/8000-8100` or `udp/8000-8100`")
    );
}

#[test]
fn invalid_ports_leave_error_nodes() {
    let text = "service s = tcp/0, udp/65536, tcp/8100-8000, tcp/1-99999, tcp/8o80, tcp/65535";
    let errors = text_errors(text);
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.rule, e.text.as_str())).collect();
    assert_eq!(
        found,
        [
            ("invalid-port", "0"),
            ("invalid-port", "65536"),
            ("invalid-port", "8100-8000"),
            ("invalid-port", "99999"),
            ("invalid-port", "8o80"),
        ]
    );
    assert!(errors[2].help.as_ref().unwrap().contains("`8000-8100`"));
    let (policy, _) = crate::syntax::parse_text(FILE, text);
    let Some(Item::Service(def)) = policy.items.first() else {
        panic!("the service is kept")
    };
    let errors = def
        .ports
        .iter()
        .filter(|p| matches!(p, ServiceRef::Error(_)))
        .count();
    assert_eq!((def.ports.len(), errors), (6, 5));
}

#[test]
fn invalid_addresses_leave_error_nodes() {
    let text =
        "net n = 10.0.0.256, 2001:db8::/129, 1.2.3/24, 10.0.0.0/33, 2001:db8:zz::, 10.0.0.1/8";
    let errors = text_errors(text);
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.rule, e.text.as_str())).collect();
    assert_eq!(
        found,
        [
            ("invalid-address", "10.0.0.256"),
            ("invalid-address", "129"),
            ("invalid-address", "1.2.3"),
            ("invalid-address", "33"),
            ("invalid-address", "2001:db8:zz::"),
        ]
    );
    let (policy, _) = crate::syntax::parse_text(FILE, text);
    let Some(Item::Net(def)) = policy.items.first() else {
        panic!("the net is kept")
    };
    assert_eq!(
        def.members
            .iter()
            .filter(|m| matches!(m, NetRef::Error(_)))
            .count(),
        5
    );
    assert!(
        matches!(def.members[5], NetRef::Prefix(_)),
        "host bits are not a parse error"
    );
}

#[test]
fn a_misspelled_top_level_keyword_says_what_was_expected() {
    let err = text_error("sevice app = tcp/1");
    assert_eq!(err.rule, "syntax-error");
    assert_eq!((err.line, err.column, err.text.as_str()), (1, 1, "sevice"));
    assert_eq!(
        err.message,
        "expected a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`), found `sevice`"
    );
    assert_eq!(err.help.as_deref(), Some("did you mean `service`?"));
}

#[test]
fn messages_name_what_a_person_would_write() {
    let cases = [
        ("input drop {\n  alow ssh\n}", "expected a chain statement (`allow`, `deny`, `reject` or `expect`) or `}`, found `alow`", Some("did you mean `allow`?")),
        ("input drop {\n  allow ssh frm admins\n}", "expected `,`, an option (`from`, `to`, `on`, `limit`, `log` or `counter`), `}` or the end of the line, found `frm`", Some("did you mean `from`?")),
        ("inptu drop {\n}", "expected a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`), found `inptu`", Some("did you mean `input`?")),
        ("input drop {\n  allow ssh\n  bind x on ::1 ssh\n}", "expected a chain statement (`allow`, `deny`, `reject` or `expect`) or `}`, found `bind`", None),
        ("input drop {\n  expct open ssh\n}", "expected a chain statement (`allow`, `deny`, `reject` or `expect`) or `}`, found `expct`", Some("did you mean `expect`?")),
        ("input drop {\n  expect ssh\n}", "expected `open`, `closed` or `limited`, found `ssh`", None),
        ("input drop {\n  expect opne ssh\n}", "expected `open`, `closed` or `limited`, found `opne`", Some("did you mean `open`?")),
        ("input drop {\n  expect closed\n}", "expected a service name or a port spec like `tcp/22`, found the end of the line", None),
        ("input drop {\n  expect open ssh frm admins\n}", "expected `,`, an option of `expect` (`from`, `to` or `on`), `}` or the end of the line, found `frm`", Some("did you mean `from`?")),
        ("input drop {\n  EXPECT open ssh\n}", "expected a chain statement (`allow`, `deny`, `reject` or `expect`) or `}`, found `EXPECT`", Some("keywords and protocols are lowercase: write `expect`")),
        ("expect open ssh", "expected a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`), found `expect`", Some("an `expect` goes inside a chain block, among its rules: `input drop { expect open ssh }`")),
        ("host h {\n  expect open ssh\n}", "expected a host statement (`bind`, a chain or `forward-port`) or `}`, found `expect`", Some("an `expect` goes inside a chain block, among its rules: `input drop { expect open ssh }`")),
        ("allow ssh", "expected a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`), found `allow`", Some("rules go inside a chain block: `input drop { allow ssh }`")),
        ("service a = tcp/1 }", "expected `,` or the end of the line, found `}`", None),
        ("}", "expected a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`), found `}`", None),
        ("service a = domain/tpc", "expected a protocol (`tcp`, `udp`, `sctp` or `dccp`), found `tpc`", Some("did you mean `tcp`?")),
    ];
    for (text, message, help) in cases {
        let err = text_error(text);
        assert_eq!(err.message, message, "for {text:?}");
        if let Some(help) = help {
            assert_eq!(err.help.as_deref(), Some(help), "for {text:?}");
        }
        assert!(
            !err.message.contains('_'),
            "no grammar rule names: {}",
            err.message
        );
    }
}

#[test]
fn misplaced_keywords_are_explained() {
    let err = text_error("input drop {\n  allow ssh\n  input drop {\n  }\n}");
    assert!(err.help.unwrap().contains("not inside a chain"));
    let err = text_error("host h {\n  service a = tcp/1\n}");
    assert!(err.help.unwrap().contains("top level"));
    let err = text_error("host h {\n}\n}\n");
    assert_eq!(
        (err.line, err.help.as_deref()),
        (3, Some("this `}` closes no block: is it one too many?"))
    );
    let err = text_error("input drop {\n  allow ssh \\ # why\n}\n");
    assert!(err.help.unwrap().contains("last character"));
}

#[test]
fn an_unclosed_block_points_at_its_brace() {
    let (_, diagnostics) =
        crate::syntax::parse_text(FILE, "host h {\n  input drop {\n    allow ssh\n");
    assert_eq!(diagnostics.len(), 1);
    let secondary = &diagnostics[0].secondary;
    assert_eq!(secondary.len(), 1);
    assert_eq!(secondary[0].span.start, 22, "the chain's `{{`");
}

#[test]
fn three_mistakes_on_three_lines_are_three_diagnostics() {
    let text = "\
service app = tcp/8080
net office = 10.0.0.0/8

host web {
  bind nginx on 0.0.0.0 http as www-data
  input drop {
    alow ssh
    allow app from office limt 10/minute
    allow http
  }
  forward-port tcp/8443 to 10.0.0.5:443 extra
}
";
    let errors = text_errors(text);
    let lines: Vec<(usize, usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.column, e.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        [(7, 5, "alow"), (8, 27, "limt"), (11, 41, "extra")],
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| e.rule == "syntax-error"));
}

#[test]
fn recovery_keeps_the_rest_of_the_file() {
    let text = "\
servce a = tcp/1
service b = tcp/2
host web {
  input drop {
    allow b frm x
    allow a
  }
}
";
    let (policy, diagnostics) = crate::syntax::parse_text(FILE, text);
    assert_eq!(diagnostics.len(), 2);
    // the broken lines are gone, everything else is there
    let Item::Service(b) = &policy.items[0] else {
        panic!("service b")
    };
    assert_eq!(b.name.node, "b");
    let Item::Host(host) = &policy.items[1] else {
        panic!("the host")
    };
    let HostItem::Chain(chain) = &host.items[0] else {
        panic!("the chain")
    };
    assert_eq!(chain.rules.len(), 1);
}

#[test]
fn a_broken_block_header_does_not_cascade() {
    let text = "\
host web 1 {
  input drpo {
    allow ssh
    allow 8o80 x
  }
}
service s = tcp/0
";
    let errors = text_errors(text);
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.rule)).collect();
    assert_eq!(
        found,
        [
            (1, "syntax-error"),
            (2, "syntax-error"),
            (4, "syntax-error"),
            (7, "invalid-port"),
        ],
        "{errors:#?}"
    );
}

#[test]
fn a_headerless_block_written_as_such_is_reported() {
    let err = text_error("{\n  service a = tcp/1\n}");
    assert_eq!(err.message, "a block needs a header");
    assert_eq!(err.text, "{");
}

#[test]
fn errors_inside_continued_statements_blank_the_whole_statement() {
    let text = "input drop {\n  allow ssh \\\n    frm admins \\\n    log\n  deny x y\n}\n";
    let errors = text_errors(text);
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5], "{errors:#?}");
}

#[test]
fn many_errors_stop_without_looping() {
    let text = "x\n".repeat(200);
    let errors = text_errors(&text);
    assert!(!errors.is_empty() && errors.len() <= 50, "{}", errors.len());
    let errors = text_errors("{{{{{{{{{{{{{{{{{{{{");
    assert!(!errors.is_empty());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = "{".repeat(100_000);
    let errors = text_errors(&text);
    assert!(!errors.is_empty());
}

#[test]
fn a_rule_with_an_invalid_option_is_kept_broken_not_widened() {
    for option in [
        "on abcdefghijklmnopq",
        "limit 0/second",
        "log \"caf\u{e9}\"",
    ] {
        let text = format!("input drop {{\n  allow ssh {option}\n  allow http\n}}\n");
        let (policy, diagnostics) = crate::syntax::parse_text(FILE, &text);
        assert_eq!(diagnostics.len(), 1, "{option}");
        let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
            panic!("the chain is kept")
        };
        // Kept in its place, so the chain's findings stay right, but marked: it never resolves,
        // so it can never be compiled without what it was written with.
        assert_eq!(chain.rules.len(), 2, "{option}");
        assert!(chain.rules[0].broken, "{option}");
        assert!(!chain.rules[1].broken, "{option}");
    }
}

#[test]
fn unknown_icmp_types_and_protocols_are_explained() {
    let err = text_error("service s = icmp/echo-requst");
    assert_eq!(err.rule, "invalid-port");
    assert_eq!(err.text, "echo-requst");
    assert_eq!(err.help.as_deref(), Some("did you mean `echo-request`?"));
    let err = text_error("service s = icmp nd-neighbor-solicit");
    assert!(
        err.help.as_deref().unwrap().contains("is an icmpv6 type"),
        "{err:?}"
    );
    let err = text_error("service s = icmpv6/300");
    assert!(err.message.contains("above 255"), "{err:?}");
    let err = text_error("service s = proto/300");
    assert!(err.message.contains("above 255"), "{err:?}");
    let err = text_error("service s = proto/nope");
    assert!(err.help.as_deref().unwrap().contains("`gre`"), "{err:?}");
    // Protocol names are reserved like `tcp`.
    assert_eq!(text_error("net gre = 10.0.0.0/8").rule, "syntax-error");
}

#[test]
fn lists_that_mix_negated_and_plain_members_are_refused() {
    let err = text_error("input drop {\n  allow ssh from !office, vpn\n}");
    assert_eq!(err.rule, "syntax-error");
    assert_eq!(err.text, "vpn");
    assert!(err.help.as_deref().unwrap().contains("neither"), "{err:?}");
    let err = text_error("input drop {\n  allow ssh on eth0, !wan0\n}");
    assert_eq!(err.text, "!wan0");
    let err = text_error("net x = !any");
    assert_eq!(err.rule, "invalid-address");
}

#[test]
fn recovery_goes_on_after_a_broken_expectation() {
    let text = "\
input drop {
  expect ssh from admins
  expect open tcp/0
  expect closed ssh frm x
  allow ssh
  expect limited ssh
}
";
    let (policy, diagnostics) = crate::syntax::parse_text(FILE, text);
    let errors = found(text, &diagnostics);
    let lines: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.rule)).collect();
    assert_eq!(
        lines,
        [
            (2, "syntax-error"),
            (3, "invalid-port"),
            (4, "syntax-error")
        ],
        "{errors:#?}"
    );
    let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
        panic!("the chain is kept")
    };
    assert_eq!((chain.rules.len(), chain.expectations.len()), (1, 2));
}

#[test]
fn expectations_in_a_block_whose_header_broke_are_still_checked() {
    let text = "host web {\n  input drpo {\n    expect open ssh\n    expect open tcp/0 limit 1/second\n  }\n}\n";
    let errors = text_errors(text);
    let found: Vec<(usize, &str, &str)> = errors
        .iter()
        .map(|e| (e.line, e.rule, e.text.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "syntax-error", "drpo"),
            (4, "invalid-port", "0"),
            (4, "syntax-error", "limit 1/second"),
        ],
        "{errors:#?}"
    );
}
