//! Findings for people: miette's graphical reports, with the source under every label.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Label, Severity};
use crate::source::{ceil_char_boundary, floor_char_boundary, SourceFile, Sources, Span};

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
    source: SourceView,
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
        match &self.source {
            SourceView::Indexed(source) => Some(source),
            SourceView::Cropped(line) => Some(line),
            SourceView::None => None,
        }
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

fn labeled(span: Span, text: &str, primary: bool) -> LabeledSpan {
    let label = (!text.is_empty()).then(|| text.to_string());
    let source_span = SourceSpan::new(span.start.into(), span.len());
    if primary {
        LabeledSpan::new_primary_with_span(label, source_span)
    } else {
        LabeledSpan::new_with_span(label, source_span)
    }
}

/// Lines longer than this are not shown whole under a finding: the part around the finding is,
/// or none. (miette cannot lay out columns past 65,535, and a megabyte line helps nobody.)
const LONG_LINE: usize = 400;

/// The characters kept on each side of what a finding marks on a long line.
const CROP_MARGIN: usize = 60;

fn report(sources: &Sources, d: &Diagnostic) -> Report {
    let span = d.primary.span;
    let file = sources.get(span.file);
    let same_file: Vec<&Label> = std::iter::once(&d.primary)
        .chain(d.secondary.iter().filter(|l| l.span.file == span.file))
        .collect();
    let source = if d.quote {
        window_of(file, &same_file)
    } else {
        Window::Hidden
    };
    let (source, labels) = match source {
        Window::Whole => (
            SourceView::Indexed(IndexedSource { file: file.clone() }),
            same_file
                .iter()
                .enumerate()
                .map(|(i, l)| labeled(l.span, &l.message, i == 0))
                .collect(),
        ),
        Window::Cropped(line) => {
            let labels = same_file
                .iter()
                .enumerate()
                .map(|(i, l)| line.labeled(l, i == 0))
                .collect();
            (SourceView::Cropped(line), labels)
        }
        Window::Hidden => (SourceView::None, Vec::new()),
    };
    let mut related = Vec::new();
    for label in &d.secondary {
        if label.span.file != span.file {
            let other = sources.get(label.span.file);
            let whole = d.quote && !matches!(window_of(other, &[label]), Window::Hidden);
            related.push(Report {
                code: String::new(),
                message: if whole {
                    label.message.to_string()
                } else {
                    format!("{}: {}", sources.location(label.span), label.message)
                },
                severity: miette::Severity::Advice,
                source: if whole {
                    SourceView::Indexed(IndexedSource {
                        file: other.clone(),
                    })
                } else {
                    SourceView::None
                },
                labels: if whole {
                    vec![labeled(label.span, "", true)]
                } else {
                    Vec::new()
                },
                help: None,
                related: Vec::new(),
            });
        }
    }
    let message = match source {
        // Without the source, the position goes with the message.
        SourceView::None => format!("{}: {}", sources.location(span), d.message),
        _ => d.message.to_string(),
    };
    Report {
        code: format!("{}[{}]", d.severity, d.rule),
        message,
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        },
        source,
        labels,
        help: d.help.as_deref().map(str::to_string),
        related,
    }
}

/// How much of a file a finding shows.
enum Window {
    /// The lines of its labels, with context, as they are.
    Whole,
    /// One long line, cut down to the part its labels mark.
    Cropped(CroppedLine),
    /// None: labels too far apart on long lines, or a file that must not be quoted.
    Hidden,
}

/// Which [`Window`] fits the labels (all in `file`).
fn window_of(file: &SourceFile, labels: &[&Label]) -> Window {
    let lines = |l: &Label| {
        let first = file.line_col(l.span.start).0;
        let last = file
            .line_col(l.span.end.saturating_sub(1).max(l.span.start))
            .0;
        (first, last)
    };
    let first = labels.iter().map(|l| lines(l).0).min().unwrap_or(1);
    let last = labels.iter().map(|l| lines(l).1).max().unwrap_or(1);
    let long = |line: usize| {
        let (start, end) = file.line_span(line);
        end - start > LONG_LINE
    };
    // The lines shown: the labels' own and one of context on each side.
    let shown = first.saturating_sub(1).max(1)..=(last + 1).min(file.line_count());
    if !shown.clone().any(long) {
        return Window::Whole;
    }
    if first != last {
        return Window::Hidden;
    }
    let from = labels.iter().map(|l| l.span.start).min().unwrap_or(0);
    let to = labels.iter().map(|l| l.span.end).max().unwrap_or(0);
    if to - from > LONG_LINE {
        return Window::Hidden;
    }
    Window::Cropped(CroppedLine::new(file, first, from, to))
}

/// One long line of a file cut to the part around `from..to`, with `…` where it was cut. It keeps
/// the file's name, the line's number and real columns, so the report reads as if whole.
struct CroppedLine {
    name: String,
    text: String,
    line: usize,
    /// Byte offset in the file of the first byte kept.
    cut_at: usize,
    /// Bytes of `text` before the kept part (the `…`).
    prefix: usize,
    /// 0-based column of the first character kept.
    column: usize,
}

impl CroppedLine {
    fn new(file: &SourceFile, line: usize, from: usize, to: usize) -> Self {
        let text = file.text.as_str();
        let (line_start, line_end) = file.line_span(line);
        let start = floor_char_boundary(text, from.saturating_sub(CROP_MARGIN).max(line_start));
        let end = ceil_char_boundary(text, (to + CROP_MARGIN).min(line_end).max(start));
        let mut cropped = String::new();
        if start > line_start {
            cropped.push('…');
        }
        let prefix = cropped.len();
        cropped.push_str(&text[start..end]);
        if end < line_end {
            cropped.push('…');
        }
        CroppedLine {
            name: file.name.clone(),
            text: cropped,
            line,
            cut_at: start,
            prefix,
            column: file.line_col(start).1 - 1,
        }
    }

    /// A label at its place in the cropped text.
    fn labeled(&self, label: &Label, primary: bool) -> LabeledSpan {
        let limit = self.text.len();
        let at = |offset: usize| (offset.saturating_sub(self.cut_at) + self.prefix).min(limit);
        let span = Span::new(label.span.file, at(label.span.start), at(label.span.end));
        labeled(span, &label.message, primary)
    }
}

impl SourceCode for CroppedLine {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        _context_lines_before: usize,
        _context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let offset = span.offset();
        if offset + span.len() > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let kept = self.text.get(self.prefix..offset).unwrap_or("");
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            SourceSpan::new(0.into(), self.text.len()),
            self.line - 1,
            self.column + kept.chars().count(),
            1,
        )))
    }
}

/// The source a report shows, if any.
enum SourceView {
    Indexed(IndexedSource),
    Cropped(CroppedLine),
    None,
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

/// Renders all findings, each followed by a blank line, in order.
pub fn render_human(
    sources: &Sources,
    diagnostics: &[Diagnostic],
    options: HumanOptions,
) -> String {
    let handler = handler(options);
    let mut out = String::new();
    for d in diagnostics {
        render_into(&mut out, &handler, sources, d);
        out.push('\n');
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::SYNTAX_ERROR;
    use crate::source::{FileId, SourceFile};

    fn one_file(text: &str) -> Sources {
        let mut sources = Sources::new();
        sources.add(SourceFile::new("long.pcl", "long.pcl", text));
        sources
    }

    #[test]
    fn a_finding_far_along_a_long_line_shows_the_part_around_it() {
        let line = format!("allow {}, tcp/99999", "tcp/1, ".repeat(20_000));
        let text = format!("input drop {{\n  {line}\n}}\n");
        let sources = one_file(&text);
        let start = text.find("tcp/99999").unwrap();
        let d = Diagnostic::new(&SYNTAX_ERROR, Span::new(FileId(0), start, start + 9), "bad")
            .label("here");
        let out = render_one(&sources, &d, HumanOptions::default());
        let column = line.find("tcp/99999").unwrap() + 3;
        assert!(out.contains(&format!("[long.pcl:2:{column}]")), "{out}");
        assert!(out.contains("│ …, tcp/1, tcp/1"), "{out}");
        assert!(out.lines().all(|l| l.chars().count() < 300), "{out}");
    }

    #[test]
    fn a_finding_that_spans_a_long_line_shows_only_its_place() {
        let line = format!("allow {}", "tcp/1, ".repeat(20_000));
        let text = format!("input drop {{\n  {line}\n}}\n");
        let sources = one_file(&text);
        let d = Diagnostic::new(
            &SYNTAX_ERROR,
            Span::new(FileId(0), 15, text.len() - 3),
            "wide",
        )
        .label("all of it")
        .secondary(Span::new(FileId(0), 0, 5), "the chain");
        let out = render_one(&sources, &d, HumanOptions::default());
        assert!(out.contains("long.pcl:2:3: wide"), "{out}");
        assert!(out.lines().all(|l| l.chars().count() < 300), "{out}");
    }

    #[test]
    fn an_unquoted_finding_shows_no_source() {
        let sources = one_file("root:secret:1:2\n");
        let d = Diagnostic::new(&SYNTAX_ERROR, Span::new(FileId(0), 0, 4), "not a policy")
            .without_quote();
        let out = render_one(&sources, &d, HumanOptions::default());
        assert!(out.contains("long.pcl:1:1: not a policy"), "{out}");
        assert!(!out.contains("secret"), "{out}");
    }
}
