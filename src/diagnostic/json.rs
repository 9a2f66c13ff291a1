//! Findings as JSON, for tools. The schema is documented in `docs/output.md` and versioned: fields
//! are only ever added.

use serde::Serialize;

use super::{Diagnostic, Severity};
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

/// Findings above this many are serialised on two threads: a large generated policy can have a
/// hundred thousand, and their JSON is over a hundred megabytes.
const PARALLEL_FINDINGS: usize = 2_000;

/// One document for the findings of several runs, each with the sources its spans point into.
pub fn render_json(runs: &[(&Sources, &[Diagnostic])]) -> String {
    let mut text = String::new();
    write_json(runs, &mut |piece| text.push_str(piece));
    text
}

/// [`render_json`] handed over in pieces, so that a large document is not copied into one string.
pub fn write_json(runs: &[(&Sources, &[Diagnostic])], write: &mut dyn FnMut(&str)) {
    write_pieces(runs, PARALLEL_FINDINGS, write);
}

fn write_pieces(
    runs: &[(&Sources, &[Diagnostic])],
    parallel_from: usize,
    write: &mut dyn FnMut(&str),
) {
    let all: Vec<(&Sources, &Diagnostic)> = runs
        .iter()
        .flat_map(|&(sources, ds)| ds.iter().map(move |d| (sources, d)))
        .collect();
    let count = |s| all.iter().filter(|(_, d)| d.severity == s).count();
    let summary = Summary {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
    };
    if all.len() < parallel_from.max(2) {
        let output = Output {
            version: SCHEMA_VERSION,
            diagnostics: all
                .iter()
                .map(|&(s, d)| JsonDiagnostic::new(s, d))
                .collect(),
            summary,
        };
        write(&serde_json::to_string_pretty(&output).expect("plain data serialises"));
        write("\n");
        return;
    }
    // serde_json writes the envelope with an empty list; each half of the list is written on its
    // own thread, in a document of its own that holds it as deep, and cut into the empty list.
    let envelope = serde_json::to_string_pretty(&Output {
        version: SCHEMA_VERSION,
        diagnostics: Vec::new(),
        summary,
    })
    .expect("plain data serialises");
    let (first, second) = all.split_at(all.len() / 2);
    let (first, second) = crate::parallel::join(|| elements(first), || elements(second));
    let empty_list = "\"diagnostics\": []";
    let at = envelope
        .find(empty_list)
        .expect("the envelope has an empty list")
        + empty_list.len()
        - 1;
    for piece in [
        &envelope[..at],
        "\n",
        items(&first),
        ",\n",
        items(&second),
        "\n  ",
        &envelope[at..],
        "\n",
    ] {
        write(piece);
    }
}

/// A document holding only a list of findings, which serde_json lays out exactly as in [`Output`].
#[derive(Serialize)]
struct Part<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// Pretty JSON of a document holding only the list of `part`'s findings, which serde_json lays
/// out at the depth of the list in [`Output`]; [`items`] cuts them out of it.
fn elements(part: &[(&Sources, &Diagnostic)]) -> String {
    let part = Part {
        diagnostics: part
            .iter()
            .map(|&(s, d)| JsonDiagnostic::new(s, d))
            .collect(),
    };
    serde_json::to_string_pretty(&part).expect("plain data serialises")
}

/// The findings of an [`elements`] document as they stand inside the whole document's list:
/// separated by commas, without a line end after the last.
fn items(document: &str) -> &str {
    document
        .strip_prefix("{\n  \"diagnostics\": [\n")
        .and_then(|rest| rest.strip_suffix("\n  ]\n}"))
        .expect("serde_json lays out a non-empty list of objects as expected")
}

impl<'a> JsonDiagnostic<'a> {
    fn new(sources: &'a Sources, d: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            rule: d.rule,
            code: d.code,
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

    fn render(runs: &[(&Sources, &[Diagnostic])], parallel_from: usize) -> String {
        let mut text = String::new();
        write_pieces(runs, parallel_from, &mut |piece| text.push_str(piece));
        text
    }

    #[test]
    fn two_threads_write_what_one_writes() {
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
            let one = render(&runs, usize::MAX);
            let two = render(&runs, 0);
            assert_eq!(one, render_json(&runs));
            assert_eq!(one, two);
            let value: serde_json::Value = serde_json::from_str(&two).expect("valid JSON");
            let count: usize = runs.iter().map(|(_, ds)| ds.len()).sum();
            assert_eq!(value["diagnostics"].as_array().map(Vec::len), Some(count));
        }
        let none = render(&[(&a, &[])], 0);
        assert_eq!(none, render_json(&[(&a, &[])]));
        assert!(none.contains("\"diagnostics\": [],"), "{none}");
    }
}
