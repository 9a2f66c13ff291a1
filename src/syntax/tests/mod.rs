//! Tests of both forms: every construct with a positive and a negative case, spans, messages,
//! error recovery, the examples, and never panicking on any input.

mod errors;
mod examples;
mod properties;
mod text;
mod yaml;

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceFile};
use crate::syntax::ast::{self, HostItem, Item, PolicyFile};

const FILE: FileId = FileId(3);

/// Parses text that must be valid.
fn parse_ok(text: &str) -> PolicyFile {
    let (policy, diagnostics) = super::parse_text(FILE, text);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics for {text:?}:\n{}",
        render(text, &diagnostics)
    );
    policy
}

/// Parses text that must be valid YAML policy.
fn parse_yaml_ok(text: &str) -> PolicyFile {
    let (policy, diagnostics) = super::parse_yaml(FILE, text);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics for {text:?}:\n{}",
        render(text, &diagnostics)
    );
    policy
}

/// A diagnostic as `line:column rule: message`, for compact assertions.
#[derive(Debug)]
struct Found {
    line: usize,
    column: usize,
    rule: &'static str,
    message: String,
    help: Option<String>,
    /// The text under the primary span.
    text: String,
}

fn found(text: &str, diagnostics: &[Diagnostic]) -> Vec<Found> {
    let source = SourceFile::new("test", "test", text);
    diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.primary.span.file, FILE);
            let (line, column) = source.line_col(d.primary.span.start);
            Found {
                line,
                column,
                rule: d.rule.name,
                message: d.message.to_string(),
                help: d.help.as_deref().map(str::to_string),
                text: text
                    .get(d.primary.span.start..d.primary.span.end)
                    .unwrap_or("<bad span>")
                    .to_string(),
            }
        })
        .collect()
}

fn text_errors(text: &str) -> Vec<Found> {
    let (_, diagnostics) = super::parse_text(FILE, text);
    found(text, &diagnostics)
}

fn yaml_errors(text: &str) -> Vec<Found> {
    let (_, diagnostics) = super::parse_yaml(FILE, text);
    found(text, &diagnostics)
}

/// The single diagnostic of `text`.
fn text_error(text: &str) -> Found {
    let mut all = text_errors(text);
    assert_eq!(
        all.len(),
        1,
        "expected one diagnostic for {text:?}, got {all:#?}"
    );
    all.remove(0)
}

fn yaml_error(text: &str) -> Found {
    let mut all = yaml_errors(text);
    assert_eq!(
        all.len(),
        1,
        "expected one diagnostic for {text:?}, got {all:#?}"
    );
    all.remove(0)
}

fn render(text: &str, diagnostics: &[Diagnostic]) -> String {
    found(text, diagnostics)
        .iter()
        .map(|f| format!("  {}:{} {}: {}\n", f.line, f.column, f.rule, f.message))
        .collect()
}

/// The rules of `input drop { ... }` around `rules`.
fn rules(rules: &str) -> Vec<ast::Rule> {
    let policy = parse_ok(&format!("input drop {{\n{rules}\n}}\n"));
    match policy.items.into_iter().next() {
        Some(Item::HostItem(HostItem::Chain(chain))) => chain.rules,
        other => panic!("expected a chain, got {other:?}"),
    }
}

fn rule(text: &str) -> ast::Rule {
    let mut all = rules(text);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// `Debug` output without spans, to compare trees parsed from different text.
fn erase_spans(tree: &impl std::fmt::Debug) -> String {
    let debug = format!("{tree:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(start) = rest.find("Span {") {
        out.push_str(&rest[..start]);
        out.push('_');
        rest = &rest[start..];
        rest = match rest.find('}') {
            Some(end) => &rest[end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[test]
fn erasing_spans_keeps_everything_else() {
    let span = crate::source::Span::new(FILE, 1, 2);
    let net = ast::NetRef::Any(span);
    assert_eq!(erase_spans(&net), "Any(_)");
    let name = crate::source::Spanned::new("x".to_string(), span);
    assert_eq!(erase_spans(&name), "Spanned { node: \"x\", span: _ }");
}
