//! Inline suppressions: `# portcullis: ignore[rule-name, other-rule]` on the line of a finding or
//! on the line before it.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Sources, Span};

const MARKER: &str = "portcullis:";

/// One `ignore[...]` comment.
#[derive(Debug, Clone)]
pub struct Suppression {
    pub file: FileId,
    /// 1-based line of the comment.
    pub line: usize,
    /// Whether the comment stands alone on its line (then it covers the next line too).
    pub own_line: bool,
    /// Rule names or codes as written, each with its span.
    pub rules: Vec<(String, Span)>,
    pub span: Span,
}

/// Finds suppression comments in every file. A `#` inside a string is not a comment.
pub fn collect(sources: &Sources) -> Vec<Suppression> {
    let mut out = Vec::new();
    for (file, source) in sources.iter() {
        let text = source.text.as_str();
        // A suppression is a comment holding the marker: most files and lines have none, and
        // looking for the marker or a `#` first is much cheaper than following strings.
        if !text.contains(MARKER) {
            continue;
        }
        let mut offset = 0;
        for (index, line) in text.split('\n').enumerate() {
            if line.contains('#') {
                if let Some(s) = parse_line(file, index + 1, offset, line) {
                    out.push(s);
                }
            }
            offset += line.len() + 1;
        }
    }
    out
}

fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_line(file: FileId, line_no: usize, offset: usize, line: &str) -> Option<Suppression> {
    let hash = comment_start(line)?;
    let comment = &line[hash + 1..];
    let marker = comment.find(MARKER)?;
    let after_marker = hash + 1 + marker + MARKER.len();
    let rest = &line[after_marker..];
    let trimmed = rest.trim_start();
    let ignore_at = after_marker + (rest.len() - trimmed.len());
    let list = trimmed.strip_prefix("ignore[")?;
    let list_start = ignore_at + "ignore[".len();
    let close = list.find(']')?;
    let mut rules = Vec::new();
    let mut cursor = list_start;
    for part in list[..close].split(',') {
        let lead = part.len() - part.trim_start().len();
        let name = part.trim();
        if !name.is_empty() {
            let start = offset + cursor + lead;
            rules.push((name.to_string(), Span::new(file, start, start + name.len())));
        }
        cursor += part.len() + 1;
    }
    Some(Suppression {
        file,
        line: line_no,
        own_line: line[..hash].trim().is_empty(),
        rules,
        span: Span::new(file, offset + hash, offset + line.len()),
    })
}

impl Suppression {
    /// Whether this suppression covers a finding of `rule` (name or code) starting on `line`.
    pub fn covers(&self, sources: &Sources, d: &Diagnostic) -> Option<usize> {
        if d.primary.span.file != self.file {
            return None;
        }
        let (line, _) = sources.get(self.file).line_col(d.primary.span.start);
        let on_line = line == self.line || (self.own_line && line == self.line + 1);
        if !on_line {
            return None;
        }
        // By name, code or former name: `find` knows all three.
        self.rules
            .iter()
            .position(|(name, _)| crate::lint::find(name).is_some_and(|r| r == d.rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn finds_rules_and_their_spans() {
        let mut sources = Sources::new();
        let text = "allow telnet  # portcullis: ignore[insecure-service, PC201]\n# portcullis: ignore[x]\nlog \"#\"\n";
        let id = sources.add(SourceFile::new("a.pcl", "a.pcl", text));
        let found = collect(&sources);
        assert_eq!(found.len(), 2);
        assert!(!found[0].own_line);
        assert!(found[1].own_line);
        let names: Vec<_> = found[0].rules.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["insecure-service", "PC201"]);
        assert_eq!(sources.text(found[0].rules[1].1), "PC201");
        assert_eq!(found[1].line, 2);
        let _ = id;
    }
}
