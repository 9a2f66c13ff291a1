//! Findings as JSON, for tools. The schema is documented in `docs/output.md` and versioned: fields
//! are only ever added.

use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::lint;
use crate::source::{Sources, Span};

/// Bump only for incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'a str,
    code: &'a str,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    location: JsonSpan,
    label: &'a str,
    help: Option<&'a str>,
    related: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    #[serde(flatten)]
    location: JsonSpan,
}

/// A span as file, 1-based line/column of both ends, and byte offsets.
#[derive(Serialize)]
pub(crate) struct JsonSpan {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub offset: usize,
    pub length: usize,
}

impl JsonSpan {
    pub(crate) fn new(sources: &Sources, span: Span) -> Self {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        JsonSpan {
            file: file.name.clone(),
            line,
            column,
            end_line,
            end_column,
            offset: span.start,
            length: span.len(),
        }
    }
}

pub fn render_json(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    let output = Output {
        version: SCHEMA_VERSION,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                rule: d.rule,
                code: lint::find(d.rule).map_or("", |r| r.code),
                severity: d.severity,
                message: &d.message,
                location: JsonSpan::new(sources, d.primary.span),
                label: &d.primary.message,
                help: d.help.as_deref(),
                related: d
                    .secondary
                    .iter()
                    .map(|l| JsonLabel {
                        message: &l.message,
                        location: JsonSpan::new(sources, l.span),
                    })
                    .collect(),
            })
            .collect(),
        summary: Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
        },
    };
    let mut text = serde_json::to_string_pretty(&output).expect("plain data serialises");
    text.push('\n');
    text
}
