//! Findings as JSON, for tools. The schema is documented in `docs/output.md` and versioned: fields
//! are only ever added.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use super::{Diagnostic, Severity};
use crate::source::{Sources, Span};

/// Bump only for incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    diagnostics: Findings<'a>,
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
    let mut text = Vec::new();
    write_json(runs, &mut text).expect("writing to memory cannot fail");
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

/// [`render_json`] written to `out` as it is produced, so that a large document (a generated
/// policy can have a hundred thousand findings, over a hundred megabytes of JSON) is never held
/// whole in memory.
pub fn write_json(runs: &[(&Sources, &[Diagnostic])], out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<(&Sources, &Diagnostic)> = runs
        .iter()
        .flat_map(|&(sources, ds)| ds.iter().map(move |d| (sources, d)))
        .collect();
    let count = |s| all.iter().filter(|(_, d)| d.severity == s).count();
    let output = Output {
        version: SCHEMA_VERSION,
        diagnostics: Findings(&all),
        summary: Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
        },
    };
    // serde_json writes a document in pieces of a few bytes: gathered here, where each write is
    // a copy into the buffer, rather than each a call through `out`.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &output).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The list of findings, each converted as it is written.
struct Findings<'a>(&'a [(&'a Sources, &'a Diagnostic)]);

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|&(s, d)| JsonDiagnostic::new(s, d)))
    }
}

impl<'a> JsonDiagnostic<'a> {
    fn new(sources: &'a Sources, d: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            rule: d.rule.name,
            code: d.rule.code,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::shadowed_rule::SHADOWED_RULE;
    use crate::rule::UNKNOWN_SERVICE;
    use crate::source::SourceFile;

    fn sources(name: &str, text: &str) -> Sources {
        let mut sources = Sources::new();
        sources.add(SourceFile::new(name, name, text));
        sources
    }

    fn findings(count: usize) -> Vec<Diagnostic> {
        let file = crate::source::FileId(0);
        (0..count)
            .map(|i| {
                let span = Span::new(file, i % 40, i % 40 + 3);
                if i % 3 == 0 {
                    Diagnostic::new(&UNKNOWN_SERVICE, span, format!("\"quoted\"\n{i}"))
                        .help("a\ttab")
                } else {
                    Diagnostic::new(&SHADOWED_RULE, span, "shadowed")
                        .label("never matches")
                        .secondary(Span::new(file, 1, 2), "covered by this deny")
                }
            })
            .collect()
    }

    #[test]
    fn one_document_for_several_runs() {
        let a = sources(
            "a.pcl",
            "allow ssh\nallow https\ndeny tcp/1-1023\nallow smtp\n",
        );
        let b = sources("b d.pcl", "input drop {\n  allow imaps\n}\n");
        let (fa, fb) = (findings(7), findings(4));
        for runs in [
            vec![(&a, fa.as_slice())],
            vec![(&a, fa.as_slice()), (&b, fb.as_slice())],
            vec![(&a, &fa[..2])],
        ] {
            let text = render_json(&runs);
            let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            let count: usize = runs.iter().map(|(_, ds)| ds.len()).sum();
            assert_eq!(value["diagnostics"].as_array().map(Vec::len), Some(count));
            let errors = runs
                .iter()
                .flat_map(|(_, ds)| ds.iter())
                .filter(|d| d.severity == Severity::Error)
                .count();
            assert_eq!(value["summary"]["errors"], errors);
            assert!(text.ends_with("}\n"), "{text}");
        }
        let none = render_json(&[(&a, &[])]);
        assert!(none.contains("\"diagnostics\": [],"), "{none}");
    }
}
