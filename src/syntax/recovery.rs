//! Parsing the text form with recovery, so that one run reports every syntax error of a file.
//!
//! pest stops at the first error. After each one, the statement it is in (its line, with the lines
//! a trailing `\` joins to it) is blanked out and the text parsed again. Blanking replaces characters
//! with spaces, so every byte offset and line number stays what it was in the file; it keeps `{` and
//! `}` so that blocks still pair up: a broken `host web 1 {` leaves a headerless block whose contents
//! are still checked. The tree comes from the first parse that succeeds.

use std::ops::Range;

use pest::Parser;

use super::ast::Item;
use super::grammar::{PolicyParser, Rule};
use super::parse_error::{self, Context};
use super::parser::{Builder, Origin};
use super::scan::{self, Place, Scanner};
use super::split;
use crate::diagnostic::Diagnostic;
use crate::source::{floor_char_boundary, FileId};

/// More syntax errors than this in one file are not worth reading one by one.
const MAX_ATTEMPTS: usize = 50;

/// Blocks may nest this deep. A policy needs two levels (a host, its chains); the parser recurses
/// once per level, and a limit keeps any input from exhausting its stack.
pub(crate) const MAX_BLOCK_DEPTH: usize = 16;

pub(crate) fn parse_text(file: FileId, text: &str) -> (Vec<Item>, Vec<Diagnostic>) {
    let deep = too_deep(text);
    if !deep.is_empty() {
        return parse_with_blanks(file, text, deep);
    }
    split::parse_in_two(file, text, split::MIN_SPLIT_BYTES)
        .unwrap_or_else(|| parse_serial(file, text))
}

/// The parse on one thread, with recovery.
pub(crate) fn parse_serial(file: FileId, text: &str) -> (Vec<Item>, Vec<Diagnostic>) {
    parse_with_blanks(file, text, Vec::new())
}

/// The blocks (from their `{` to their `}` or the end of the file) that open deeper than
/// [`MAX_BLOCK_DEPTH`], outermost first, skipping braces in strings and comments.
fn too_deep(text: &str) -> Vec<Range<usize>> {
    let mut deep = Vec::new();
    let mut depth = 0usize;
    let mut opened_at: Option<usize> = None;
    for (i, b, place) in scan::places(text) {
        if place != Place::Code {
            continue;
        }
        match b {
            b'{' => {
                depth += 1;
                if depth > MAX_BLOCK_DEPTH && opened_at.is_none() {
                    opened_at = Some(i);
                }
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == MAX_BLOCK_DEPTH {
                    if let Some(start) = opened_at.take() {
                        deep.push(start..i + 1);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(start) = opened_at {
        deep.push(start..text.len());
    }
    deep
}

/// The parse with recovery, the blocks in `deep` reported and blanked out first.
fn parse_with_blanks(
    file: FileId,
    text: &str,
    deep: Vec<Range<usize>>,
) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut work = text.to_owned();
    let mut diagnostics = Vec::new();
    for range in &deep {
        diagnostics.push(
            Diagnostic::new(
                &crate::rule::SYNTAX_ERROR,
                crate::source::Span::new(file, range.start, range.start + 1),
                format!("blocks are nested more than {MAX_BLOCK_DEPTH} deep"),
            )
            .label("this block is not read")
            .help("a host holds chains and a chain holds rules; nothing nests deeper"),
        );
        erase(&mut work, range);
    }
    let mut blanked: Vec<Range<usize>> = deep;
    for _ in 0..MAX_ATTEMPTS {
        let error = match PolicyParser::parse(Rule::file, &work) {
            Ok(pairs) => {
                let items =
                    Builder::new(file, Origin::At(0), &blanked, &mut diagnostics).file(pairs);
                return (items, diagnostics);
            }
            Err(error) => error,
        };
        let pos = floor_char_boundary(&work, parse_error::position(&error).min(work.len()));
        let statement = statement_range(&work, pos);
        // An error on a line already blanked comes from the braces kept there: a follow-on of the
        // error reported for that line.
        let follow_on = blanked
            .iter()
            .any(|range| range.start <= pos && pos <= range.end);
        if !follow_on {
            diagnostics.push(parse_error::diagnostic(
                &error,
                &work,
                file,
                Origin::At(0),
                Context::File,
            ));
        }
        let progressed = (!follow_on && blank(&mut work, &statement, true))
            || blank(&mut work, &statement, false);
        if !progressed {
            break;
        }
        blanked.push(statement);
    }
    (Vec::new(), diagnostics)
}

/// The byte range of the statement around `pos`: its physical line, extended over the lines that a
/// trailing `\` joins to it, without the final newline.
fn statement_range(text: &str, pos: usize) -> Range<usize> {
    let continues = |line_end: usize| text[..line_end].trim_end_matches('\r').ends_with('\\');
    let mut start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    while start > 0 && continues(start - 1) {
        start = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
    }
    let line_end = |from: usize| text[from..].find('\n').map_or(text.len(), |i| from + i);
    let mut end = line_end(pos);
    while end < text.len() && continues(end) {
        end = line_end(end + 1);
    }
    start..end
}

/// Replaces every byte of `range` but line breaks with a space.
fn erase(text: &mut String, range: &Range<usize>) {
    let mut bytes = std::mem::take(text).into_bytes();
    for b in &mut bytes[range.clone()] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
    // Whole characters are replaced byte by byte (the range starts at `{` and ends after `}` or at
    // the end), so the text stays UTF-8.
    *text = String::from_utf8(bytes).unwrap_or_default();
}

/// Replaces the characters of `range` (a statement that does not parse) with spaces, keeping
/// line breaks and, if `keep_braces`, the braces outside strings and comments; offsets and lines
/// stay what they were. Returns whether anything changed.
pub(super) fn blank(text: &mut String, range: &Range<usize>, keep_braces: bool) -> bool {
    // Byte by byte: the characters that matter here are ASCII, which never occur inside a
    // multi-byte character, and each byte of a blanked character becomes a space.
    debug_assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
    let mut bytes = std::mem::take(text).into_bytes();
    let mut changed = false;
    let mut scanner = Scanner::default();
    for b in &mut bytes[range.clone()] {
        let keep = match scanner.place(*b) {
            Place::LineEnd => true,
            Place::Code => keep_braces && (*b == b'{' || *b == b'}'),
            Place::String | Place::Comment => false,
        };
        if !keep && *b != b' ' {
            changed = true;
            *b = b' ';
        }
    }
    *text = String::from_utf8(bytes).expect("only whole characters were replaced");
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_follow_continuations() {
        let text = "a\nb \\\nc\nd";
        assert_eq!(statement_range(text, 0), 0..1);
        assert_eq!(statement_range(text, 2), 2..7);
        assert_eq!(statement_range(text, 6), 2..7);
        assert_eq!(statement_range(text, 8), 8..9);
        assert_eq!(statement_range(text, 9), 8..9);
        assert_eq!(statement_range("x\n", 1), 0..1);
        assert_eq!(statement_range("x\n", 2), 2..2);
    }

    #[test]
    fn blanking_keeps_offsets_and_braces() {
        let mut text = String::from("host ü 1 { # {\nx");
        let line = 0..text.find('\n').unwrap();
        assert!(blank(&mut text, &line, true));
        assert_eq!(text, "          {    \nx");
        assert!(blank(&mut text, &line, false));
        assert_eq!(text, "               \nx");
        assert!(!blank(&mut text, &line, false));
        let mut text = String::from("log \"}\" }");
        blank(&mut text, &(0..9), true);
        assert_eq!(text, "        }");
    }
}
