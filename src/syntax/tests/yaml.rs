//! The YAML form: it lowers to the same tree as the text form and checks values the same way.

use super::*;
use crate::syntax::ast::{NetRef, ServiceRef, Verdict};

/// Parses both forms and asserts they mean the same, spans aside.
fn same(text: &str, yaml: &str) {
    let text_tree = parse_ok(text);
    let yaml_tree = parse_yaml_ok(yaml);
    assert_eq!(erase_spans(&text_tree), erase_spans(&yaml_tree));
}

#[test]
fn definitions_match_the_text_form() {
    same(
        "include \"a.pcl\"\ninclude \"b.yaml\"\nservice web = http, https\nservice dns = domain/udp, tcp/53\nnet lan = 10.0.0.0/8, 2001:db8::/32, any\n",
        "include: [a.pcl, b.yaml]\nservices:\n  web: http, https\n  dns: [domain/udp, tcp/53]\nnets:\n  lan: [10.0.0.0/8, \"2001:db8::/32\", any]\n",
    );
    same("include \"one.pcl\"", "include: one.pcl");
}

#[test]
fn hosts_and_rules_match_the_text_form() {
    same(
        "host h {\n  bind sshd on :: ssh as root\n  bind app on 127.0.0.1 tcp/8080\n  input drop {\n    allow ssh from admins on eth0 limit 10/minute burst 5 per source log \"ssh: \" counter\n    allow from admins\n    reject tcp/25 to any\n  }\n  forward accept {\n  }\n  forward-port tcp/8443 from office to [2001:db8::5]:443\n}\n",
        r#"
hosts:
  h:
    binds:
      - {process: sshd, on: "::", services: ssh, as: root}
      - process: app
        on: 127.0.0.1
        services: tcp/8080
    input:
      policy: drop
      rules:
        - {allow: ssh, from: admins, on: eth0, limit: 10/minute burst 5 per source, log: "ssh: ", counter: true}
        - allow:
          from: admins
        - {reject: tcp/25, to: any}
    forward:
      policy: accept
    forward-ports:
      - {port: tcp/8443, from: office, to: "[2001:db8::5]:443"}
"#,
    );
}

#[test]
fn top_level_host_keys_describe_one_unnamed_host() {
    same(
        "bind sshd on 0.0.0.0 ssh\ninput drop {\n  allow ssh\n}\nforward-port udp/53 to 10.0.0.53\n",
        "binds: [{process: sshd, on: 0.0.0.0, services: ssh}]\ninput: {policy: drop, rules: [{allow: ssh}]}\nforward-ports: [{port: udp/53, to: 10.0.0.53}]\n",
    );
}

#[test]
fn yaml_booleans_and_numbers_read_as_written_where_text_is_expected() {
    // `on` and `yes` are YAML 1.1 booleans, `8080` a number: as names they are what they say
    let policy = parse_yaml_ok(
        "hosts:\n  yes:\n    binds:\n      - {process: on, on: ::1, services: ssh, as: no}\n",
    );
    let Item::Host(host) = &policy.items[0] else {
        panic!("a host")
    };
    assert_eq!(host.name.node, "yes");
    let HostItem::Bind(bind) = &host.items[0] else {
        panic!("a bind")
    };
    assert_eq!(bind.process.node, "on");
    assert_eq!(bind.user.as_ref().unwrap().node, "no");
    let err = yaml_error("services:\n  app: 8080\n");
    assert_eq!(err.rule, "invalid-port");
    assert_eq!(err.help.as_deref(), Some("write `tcp/8080` or `udp/8080`"));
    assert_eq!((err.line, err.column), (2, 8));
}

#[test]
fn empty_documents_are_empty_policies() {
    assert!(parse_yaml_ok("").items.is_empty());
    assert!(parse_yaml_ok("# nothing yet\n").items.is_empty());
    assert!(parse_yaml_ok("services:\nhosts:\n").items.is_empty());
}

#[test]
fn values_are_checked_where_they_are_written() {
    let text =
        "nets:\n  lan: [10.0.0.0/8, 10.0.0.256]\nservices:\n  web: \"tcp/80, tcp/8100-8000\"\n";
    let errors = yaml_errors(text);
    let found: Vec<(usize, usize, &str, &str)> = errors
        .iter()
        .map(|e| (e.line, e.column, e.rule, e.text.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (2, 21, "invalid-address", "10.0.0.256"),
            (4, 21, "invalid-port", "8100-8000"),
        ]
    );
    let (policy, _) = crate::syntax::parse_yaml(FILE, text);
    let Item::Net(net) = &policy.items[0] else {
        panic!("the net is kept")
    };
    assert!(matches!(net.members[1], NetRef::Error(_)));
    let Item::Service(service) = &policy.items[1] else {
        panic!("the service is kept")
    };
    assert!(matches!(service.ports[1], ServiceRef::Error(_)));
}

#[test]
fn scalar_syntax_errors_point_into_the_scalar() {
    let err = yaml_error("services:\n  web: tcp/80 udp/53\n");
    assert_eq!(
        err.message,
        "expected `,` or the end of the value, found `udp/53`"
    );
    assert_eq!((err.line, err.column), (2, 15));
    // with escapes the offsets inside cannot be mapped: the whole scalar is the span
    let err = yaml_error("services:\n  web: \"tcp/80\\t x\"\n");
    assert_eq!(err.text, "\"tcp/80\\t x\"");
}

#[test]
fn names_are_validated_like_the_text_form() {
    for bad in [
        "\"a;b\"",
        "\"a\\nb\"",
        "\"a b\"",
        "\"{x}\"",
        "'\"q\"'",
        "\"\"",
        "from",
        "\"1234\"",
    ] {
        let text = format!("services:\n  {bad}: tcp/1\n");
        let err = yaml_error(&text);
        assert_eq!(err.rule, "syntax-error", "for {bad}");
        assert_eq!(err.line, 2, "for {bad}");
    }
    let err = yaml_error("hosts:\n  \"web;rm -rf\":\n    binds: []\n");
    assert!(err.message.starts_with("expected "), "{}", err.message);
    let err = yaml_error("binds:\n  - {process: \"ssh d\", on: 0.0.0.0, services: ssh}\n");
    assert_eq!(err.line, 2);
    let err = yaml_error(&format!("nets:\n  {}: any\n", "n".repeat(64)));
    assert!(err.message.contains("longer than 63"));
}

#[test]
fn log_prefixes_are_checked_like_the_text_form() {
    let err =
        yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: ssh, log: \"caf\u{e9}\"}\n");
    assert!(err.message.contains("cannot contain"), "{}", err.message);
    let err = yaml_error(&format!(
        "input:\n  policy: drop\n  rules:\n    - {{allow: ssh, log: {}}}\n",
        "x".repeat(128)
    ));
    assert!(err.message.contains("127"), "{}", err.message);
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: ssh, log: [a]}\n");
    assert!(err.message.contains("a log prefix"), "{}", err.message);
    let policy = parse_yaml_ok(
        "input:\n  policy: drop\n  rules:\n    - {allow: ssh, log: false, counter: false}\n",
    );
    let Item::HostItem(HostItem::Chain(chain)) = &policy.items[0] else {
        panic!("a chain")
    };
    assert_eq!(
        (
            chain.rules[0].log.is_none(),
            chain.rules[0].counter.is_none()
        ),
        (true, true)
    );
}

#[test]
fn unknown_keys_list_the_expected_ones() {
    let err = yaml_error("service:\n  a: tcp/1\n");
    assert_eq!(err.message, "unknown key `service` in the policy");
    let help = err.help.unwrap();
    assert!(help.starts_with("did you mean `services`?"), "{help}");
    assert!(
        help.contains("`include`, `services`, `nets`, `hosts`"),
        "{help}"
    );
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: ssh, form: admins}\n");
    assert_eq!(err.message, "unknown key `form` in a rule");
    assert!(err.help.unwrap().contains("`from`"));
    let err = yaml_error("hosts:\n  h:\n    bind: []\n");
    assert_eq!(err.message, "unknown key `bind` in a host");
}

#[test]
fn shapes_are_checked() {
    let err = yaml_error("- a\n- b\n");
    assert!(err
        .message
        .starts_with("expected a mapping for the policy, found a list"));
    let err = yaml_error("input:\n  rules: []\n");
    assert_eq!(err.message, "the `input` chain needs `policy`");
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {from: admins}\n");
    assert!(err.message.contains("one of `allow`, `deny` or `reject`"));
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: ssh, deny: ssh}\n");
    assert!(err.message.starts_with("a rule has one verdict"));
    let err = yaml_error("input:\n  policy: block\n");
    assert!(err.message.starts_with("expected a default verdict"));
    let err = yaml_error("binds: {process: sshd}\n");
    assert!(err.message.starts_with("expected a list for `binds`"));
    let err = yaml_error("binds:\n  - {process: sshd, services: ssh}\n");
    assert_eq!(err.message, "a bind needs `on`");
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: []}\n");
    assert!(
        err.message.starts_with("expected a service name"),
        "{}",
        err.message
    );
    let err = yaml_error("input:\n  policy: drop\n  rules:\n    - {allow: ssh, counter: 1}\n");
    assert!(err.message.contains("`true` or `false`"), "{}", err.message);
    let err = yaml_error("forward-ports:\n  - {port: tcp, to: 10.0.0.1}\n");
    assert_eq!(err.rule, "invalid-port");
}

#[test]
fn repeated_keys_are_reported_where_one_is_meant() {
    let err = yaml_error("input:\n  policy: drop\n  policy: accept\n");
    assert_eq!(err.message, "`policy` is given twice in the `input` chain");
    assert_eq!(err.line, 3);
    // definitions may repeat: the resolver reports duplicate names like in the text form
    let policy = parse_yaml_ok("services:\n  a: tcp/1\n  a: tcp/2\n");
    assert_eq!(policy.items.len(), 2);
}

#[test]
fn invalid_yaml_is_one_syntax_error() {
    let err = yaml_error("services:\n  a: [tcp/1\n  b: tcp/2\n");
    assert_eq!(err.rule, "syntax-error");
    assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    let err = yaml_error("a: 1\n---\nb: 2\n");
    assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
}

#[test]
fn verdict_words_map_like_the_text_form() {
    let policy =
        parse_yaml_ok("output:\n  policy: reject\n  rules:\n    - deny: tcp/25\n    - allow:\n");
    let Item::HostItem(HostItem::Chain(chain)) = &policy.items[0] else {
        panic!("a chain")
    };
    assert_eq!(chain.policy.node, Verdict::Reject);
    assert_eq!(chain.rules[0].verdict.node, Verdict::Drop);
    assert_eq!(chain.rules[1].services, None);
}

#[test]
fn a_broken_statement_still_has_its_other_fields_checked() {
    let errors = yaml_errors("binds:\n  - {on: 10.0.0.256, services: tcp/0}\n");
    let rules: Vec<&str> = errors.iter().map(|e| e.rule).collect();
    assert_eq!(
        rules,
        ["syntax-error", "invalid-address", "invalid-port"],
        "{errors:#?}"
    );
    let errors = yaml_errors("input:\n  rules:\n    - {allow: tcp/0}\n");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let errors = yaml_errors("input:\n  policy: drop\n  rules:\n    - {from: 1.2.3}\n");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn the_newer_constructs_match_the_text_form() {
    same(
        "host gw {\n  bind nginx on :: v6only http\n  input drop {\n    allow icmp echo-request, icmpv6/nd-neighbor-solicit, gre, proto/253 from !office, !10.0.0.0/8 on eth0, eth1\n    deny esp on !wan0\n  }\n  forward-port tcp/443 from partners on wan0 at 203.0.113.7 to 10.0.0.5\n  masquerade on wan0 from lan\n  snat on wan1, wan2 to 198.51.100.9\n}\n",
        r#"
hosts:
  gw:
    binds:
      - {process: nginx, on: "::", stack: v6only, services: http}
    input:
      policy: drop
      rules:
        - {allow: "icmp echo-request, icmpv6/nd-neighbor-solicit, gre, proto/253", from: ["!office", "!10.0.0.0/8"], on: [eth0, eth1]}
        - {deny: esp, on: "!wan0"}
    forward-ports:
      - {port: tcp/443, from: partners, on: wan0, at: 203.0.113.7, to: 10.0.0.5}
    masquerade:
      - {on: wan0, from: lan}
    snat:
      - {on: "wan1, wan2", to: 198.51.100.9}
"#,
    );
}

#[test]
fn expectations_match_the_text_form() {
    same(
        "host h {\n  input drop {\n    allow ssh from admins\n    expect open ssh from admins\n    expect closed postgresql\n    allow http\n    expect closed postgresql, tcp/6432 from any to 10.0.0.5 on eth0\n    expect limited ssh from !192.0.2.0/24 on !wan0, !wan1\n  }\n  output accept {\n    expect open domain to 10.0.0.53\n  }\n}\n",
        r#"
hosts:
  h:
    input:
      policy: drop
      rules:
        - {allow: ssh, from: admins}
        - {allow: http}
      expect:
        - {open: ssh, from: admins}
        - closed: postgresql
        - {closed: [postgresql, tcp/6432], from: any, to: 10.0.0.5, on: eth0}
        - {limited: ssh, from: "!192.0.2.0/24", on: ["!wan0", "!wan1"]}
    output:
      policy: accept
      expect:
        - {open: domain, to: 10.0.0.53}
"#,
    );
    // A chain of expectations only, at the top level.
    same(
        "input drop {\n  expect closed tcp\n}\n",
        "input: {policy: drop, expect: [{closed: tcp}]}\n",
    );
}

#[test]
fn expectations_are_checked_like_the_text_form() {
    let expect = |entries: &str| format!("input:\n  policy: drop\n  expect:\n{entries}");
    let err = yaml_error(&expect("    - {from: admins}\n"));
    assert_eq!(
        err.message,
        "an expectation needs one of `open`, `closed` or `limited`"
    );
    assert_eq!(
        err.help.as_deref(),
        Some("write `- {open: ssh, from: admins}`")
    );
    let err = yaml_error(&expect("    - {open: ssh, closed: ssh}\n"));
    assert_eq!(
        err.message,
        "an expectation has one kind, this one has `open` and `closed`"
    );
    assert_eq!(err.help.as_deref(), Some("split it into two expectations"));
    let err = yaml_error(&expect("    - {open: ssh, form: admins}\n"));
    assert_eq!(err.message, "unknown key `form` in an expectation");
    let help = err.help.unwrap();
    assert!(help.starts_with("did you mean `from`?"), "{help}");
    assert!(!help.contains("`limit`"), "{help}");
    let err = yaml_error(&expect("    - {open: }\n"));
    assert!(
        err.message.starts_with("expected a service name"),
        "{}",
        err.message
    );
    let err = yaml_error(&expect("    - {open: tcp/0}\n"));
    assert_eq!(err.rule, "invalid-port");
    let err = yaml_error(&expect("    - {open: ssh, on: \"eth0, !eth1\"}\n"));
    assert!(err.message.contains("all negated"), "{}", err.message);
    let err = yaml_error("input:\n  policy: drop\n  expect: {open: ssh}\n");
    assert!(err.message.starts_with("expected a list for `expect`"));
    let err = yaml_error(&expect("    - {open: ssh, from: a, from: b}\n"));
    assert_eq!(err.message, "`from` is given twice in an expectation");
    let err = yaml_error("input:\n  policy: drop\n  expects: []\n");
    assert!(err.help.unwrap().starts_with("did you mean `expect`?"));
}

#[test]
fn rule_only_options_in_an_expectation_are_reported_as_in_the_text_form() {
    for (key, value, text) in [
        ("limit", "10/minute", "limit 10/minute"),
        ("log", "true", "log"),
        ("counter", "true", "counter"),
    ] {
        let yaml = format!(
            "input:\n  policy: drop\n  expect:\n    - {{open: ssh, {key}: {value}, from: a}}\n"
        );
        let err = yaml_error(&yaml);
        let text_err = text_error(&format!(
            "input drop {{\n  expect open ssh {text} from a\n}}"
        ));
        assert_eq!(err.message, text_err.message, "{key}");
        assert_eq!(err.help, text_err.help, "{key}");
        assert_eq!(err.text, format!("{key}: {value}"));
        // Both keep it broken.
        let (policy, _) = crate::syntax::parse_yaml(FILE, &yaml);
        let Some(Item::HostItem(HostItem::Chain(chain))) = policy.items.first() else {
            panic!("the chain is kept")
        };
        assert!(chain.expectations[0].broken, "{key}");
    }
}
