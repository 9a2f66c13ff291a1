//! Neither parser panics, whatever the input, and every span stays inside the file.

use proptest::prelude::*;

use super::*;

const WEB: &str = include_str!("../../../examples/web.pcl");
const WEB_YAML: &str = include_str!("../../../examples/web.yaml");

/// Characters that matter to the grammar, plus some that do not belong.
fn policy_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(
            " \t\n\r{}=,/-.:[]\"\\#abcdefilnoprstuwxy0123456789".chars().collect::<Vec<_>>()
        ),
        1 => any::<char>(),
    ]
}

fn policy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(policy_char(), 0..200).prop_map(|chars| chars.into_iter().collect())
}

/// A tweak to a valid file: cut, insert or overwrite a few bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "\n",
            "\\\n",
            "\"",
            ",",
            "from",
            "to",
            "allow",
            "tcp/",
            "8080",
            "0",
            "65536",
            "::",
            "/129",
            "host x {",
            "input drop {",
            "log \"",
            "limit 1/second",
            "expect open ssh from a\n",
            "expect closed ",
            "expect:\n  - {limited: ssh, log: true}\n",
            "#",
            "é",
            "\r",
        ])
        .prop_map(str::to_string),
        policy_text(),
    ];
    prop_oneof![
        (any::<usize>(), 1..20usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), snippet.clone()).prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), snippet).prop_map(|(at, s)| Mutation::Replace(at, s)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    for mutation in mutations {
        let boundary = |text: &str, at: usize| {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        match mutation {
            Mutation::Delete(at, len) => {
                let start = boundary(&text, *at);
                let end = boundary(&text, (start + len).min(text.len()));
                text.replace_range(start..end.max(start), "");
            }
            Mutation::Insert(at, s) => {
                let at = boundary(&text, *at);
                text.insert_str(at, s);
            }
            Mutation::Replace(at, s) => {
                let start = boundary(&text, *at);
                let end = boundary(&text, (start + s.len()).min(text.len()));
                text.replace_range(start..end.max(start), s);
            }
        }
    }
    text
}

fn check_text(text: &str) {
    let (policy, diagnostics) = crate::syntax::parse_text(FILE, text);
    check_spans(text, &policy, &diagnostics);
}

fn check_yaml(text: &str) {
    let (policy, diagnostics) = crate::syntax::parse_yaml(FILE, text);
    check_spans(text, &policy, &diagnostics);
}

fn check_spans(text: &str, policy: &PolicyFile, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{span:?} in {text:?}"
            );
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
        assert!(!d.message.is_empty());
    }
    // every span in the tree is inside the text: check through the Debug form (a log prefix may
    // hold `end: ` too, hence only numbers count)
    let debug = format!("{policy:?}");
    for part in debug.split("end: ").skip(1) {
        let digits = part.split(|c: char| !c.is_ascii_digit()).next();
        if let Some(end) = digits.and_then(|n| n.parse::<usize>().ok()) {
            assert!(
                end <= text.len(),
                "span end {end} beyond {} in {text:?}",
                text.len()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn text_parser_never_panics_on_random_text(text in policy_text()) {
        check_text(&text);
    }

    #[test]
    fn text_parser_never_panics_on_mutated_examples(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        check_text(&apply(WEB, &mutations));
    }

    #[test]
    fn yaml_parser_never_panics_on_random_text(text in policy_text()) {
        check_yaml(&text);
    }

    #[test]
    fn yaml_parser_never_panics_on_mutated_examples(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        check_yaml(&apply(WEB_YAML, &mutations));
    }
}
