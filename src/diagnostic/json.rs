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
    location: JsonSpan<'a>,
    label: &'a str,
    help: Option<&'a str>,
    related: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    #[serde(flatten)]
    location: JsonSpan<'a>,
}

/// A span as file, 1-based line/column of both ends, and byte offsets.
#[derive(Serialize)]
pub(crate) struct JsonSpan<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub offset: usize,
    pub length: usize,
}

impl<'a> JsonSpan<'a> {
    pub(crate) fn new(sources: &'a Sources, span: Span) -> Self {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        JsonSpan {
            file: &file.name,
            line,
            column,
            end_line,
            end_column,
            offset: span.start,
            length: span.len(),
        }
    }
}

/// One document for the findings of several runs, each with the sources its spans point into.
pub fn render_json(runs: &[(&Sources, &[Diagnostic])]) -> String {
    let all = || {
        runs.iter()
            .flat_map(|&(sources, ds)| ds.iter().map(move |d| (sources, d)))
    };
    let count = |s| all().filter(|(_, d)| d.severity == s).count();
    let output = Output {
        version: SCHEMA_VERSION,
        diagnostics: all()
            .map(|(sources, d)| JsonDiagnostic {
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
