//! Findings for people: miette's graphical reports, with the source under every label.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources, Span};

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct HumanOptions {
    pub color: bool,
    /// Terminal width; output is wrapped to it.
    pub width: usize,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            width: 100,
        }
    }
}

/// A file as miette reads it. miette's own `read_span` scans the text from its start for every
/// label, which makes rendering many findings of a large file quadratic; this one cuts out the
/// few lines around the span with the file's line index first.
struct IndexedSource {
    file: SourceFile,
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.file.text.as_str();
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let (first_line, _) = self.file.line_col(start);
        let (last_line, _) = self.file.line_col(end.saturating_sub(1).max(start));
        let from_line = first_line.saturating_sub(context_lines_before).max(1);
        let to_line = (last_line + context_lines_after).min(self.file.line_count());
        let window_start = self.file.line_span(from_line).0;
        let window_end = self.file.line_span(to_line).1.max(end);
        let window = &text[window_start..window_end];
        let inner = window.read_span(
            &SourceSpan::new((start - window_start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.name.clone(),
            inner.data(),
            SourceSpan::new(
                (window_start + inner.span().offset()).into(),
                inner.span().len(),
            ),
            inner.line() + from_line - 1,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// One finding as miette sees it. Labels in another file than the primary one become related
/// reports with their own source.
struct Report {
    code: String,
    message: String,
    severity: miette::Severity,
    source: IndexedSource,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<Report>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn source_of(sources: &Sources, span: Span) -> IndexedSource {
    IndexedSource {
        file: sources.get(span.file).clone(),
    }
}

fn labeled(span: Span, text: &str, primary: bool) -> LabeledSpan {
    let label = (!text.is_empty()).then(|| text.to_string());
    let source_span = SourceSpan::new(span.start.into(), span.len());
    if primary {
        LabeledSpan::new_primary_with_span(label, source_span)
    } else {
        LabeledSpan::new_with_span(label, source_span)
    }
}

fn report(sources: &Sources, d: &Diagnostic) -> Report {
    let span = d.primary.span;
    let mut labels = vec![labeled(span, &d.primary.message, true)];
    let mut related = Vec::new();
    for label in &d.secondary {
        if label.span.file == span.file {
            labels.push(labeled(label.span, &label.message, false));
        } else {
            related.push(Report {
                code: String::new(),
                message: label.message.clone(),
                severity: miette::Severity::Advice,
                source: source_of(sources, label.span),
                labels: vec![labeled(label.span, "", true)],
                help: None,
                related: Vec::new(),
            });
        }
    }
    Report {
        code: format!("{}[{}]", d.severity, d.rule),
        message: d.message.clone(),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        },
        source: source_of(sources, span),
        labels,
        help: d.help.clone(),
        related,
    }
}

/// Renders one finding.
pub fn render_one(sources: &Sources, d: &Diagnostic, options: HumanOptions) -> String {
    let mut out = String::new();
    render_into(&mut out, &handler(options), sources, d);
    out
}

fn handler(options: HumanOptions) -> GraphicalReportHandler {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
}

fn render_into(
    out: &mut String,
    handler: &GraphicalReportHandler,
    sources: &Sources,
    d: &Diagnostic,
) {
    let start = out.len();
    if handler.render_report(out, &report(sources, d)).is_err() {
        // Rendering only fails on a span outside its file, which is a bug; still say something.
        out.truncate(start);
        out.push_str(&format!(
            "{}: {}: {}\n",
            sources.location(d.primary.span),
            d.severity,
            d.message
        ));
    }
}

/// Findings above this many are rendered on two threads: laying out a report (wrapping, source
/// windows) costs tens of microseconds, which adds up on large generated policies.
const PARALLEL_FINDINGS: usize = 2_000;

/// Renders all findings, each followed by a blank line, in order.
pub fn render_human(
    sources: &Sources,
    diagnostics: &[Diagnostic],
    options: HumanOptions,
) -> String {
    let render = |part: &[Diagnostic]| {
        let handler = handler(options);
        let mut out = String::new();
        for d in part {
            render_into(&mut out, &handler, sources, d);
            out.push('\n');
        }
        out
    };
    if diagnostics.len() < PARALLEL_FINDINGS {
        return render(diagnostics);
    }
    let (first, second) = diagnostics.split_at(diagnostics.len() / 2);
    let (mut out, rest) = crate::parallel::join(|| render(first), || render(second));
    out.push_str(&rest);
    out
}

/// `2 errors, 1 warning` (empty when there is nothing).
pub fn summary<'a>(diagnostics: impl Iterator<Item = &'a Diagnostic> + Clone) -> String {
    let count = |s: Severity| diagnostics.clone().filter(|d| d.severity == s).count();
    let mut parts = Vec::new();
    for (severity, one, many) in [
        (Severity::Error, "error", "errors"),
        (Severity::Warning, "warning", "warnings"),
        (Severity::Info, "note", "notes"),
    ] {
        match count(severity) {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    parts.join(", ")
}
