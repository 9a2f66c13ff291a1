//! A YAML document as a tree of nodes with byte spans, read with serde-saphyr.
//!
//! The policy is not deserialized into Rust structs directly: serde stops at the first mismatch,
//! and a linter reports them all. Reading a generic tree first lets the lowering check every key and
//! value and point at each mistake.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location};

use crate::diagnostic::Diagnostic;
use crate::rule::SYNTAX_ERROR;
use crate::source::{FileId, Span};
use crate::syntax::parser::Origin;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    /// Where the node is written; a collection's span covers its contents.
    pub span: Span,
    /// How offsets into a scalar's text map to the file.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    /// A boolean, with its text as written (`true`, `yes`, `on`...).
    Bool(bool, String),
    /// Any other scalar as text: a string's value, a number as written.
    Text(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The node as text, if it is a scalar: what a name or a port spec is read from. A boolean
    /// reads as written, so a user named `yes` or a key `on` stays what it says.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(text) | Value::Bool(_, text) => Some(text),
            _ => None,
        }
    }

    /// What the node is, for messages: "a list", "`42`"...
    pub(crate) fn kind(&self) -> String {
        match &self.value {
            Value::Null => "nothing".into(),
            Value::Bool(_, text) | Value::Text(text) => {
                let shown: String = text.escape_debug().take(40).collect();
                format!("`{shown}`")
            }
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

/// Reads a YAML document; a document that is not valid YAML is one `syntax-error`.
pub(crate) fn read(file: FileId, text: &str) -> Result<Node, Box<Diagnostic>> {
    let options = serde_saphyr::options! {
        // Repeated keys reach the lowering, which reports them where they matter.
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
    };
    let positions = Positions::new(text);
    match serde_saphyr::from_str_with_options::<serde_saphyr::Spanned<Raw>>(text, options) {
        Ok(raw) => Ok(convert(raw, text, file, &positions)),
        Err(error) => {
            let span = error
                .location()
                .map(|loc| positions.span(file, &loc))
                .unwrap_or_else(|| Span::new(file, 0, 0));
            let mut diagnostic =
                Diagnostic::new(&SYNTAX_ERROR, span, yaml_message(&error)).label("invalid YAML");
            if unquoted_ipv6(text, span.start) {
                diagnostic = diagnostic.help(
                    "to YAML, a `:` in an IPv6 address can end a key: quote the address, `on: \"::\"`",
                );
            }
            Err(Box::new(diagnostic))
        }
    }
}

/// Whether the line of `offset` holds an IPv6-looking value (`::`, `2001:db8::1`) outside quotes,
/// which YAML reads as mapping syntax.
fn unquoted_ipv6(text: &str, offset: usize) -> bool {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[start..end];
    let mut quoted = None;
    for (i, c) in line.char_indices() {
        match (quoted, c) {
            (None, '"' | '\'') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (None, ':') if line[i..].starts_with("::") => return true,
            _ => {}
        }
    }
    false
}

/// serde-saphyr's message in our words ([`crate::yaml_words`]).
fn yaml_message(error: &serde_saphyr::Error) -> String {
    format!("invalid YAML: {}", crate::yaml_words::phrase(error))
}

/// The tree as serde-saphyr hands it over, with its character-based locations.
#[derive(Debug)]
enum Raw {
    Null,
    Bool(bool),
    /// A number: its text comes from the source.
    Number,
    Str(String),
    Seq(Vec<serde_saphyr::Spanned<Raw>>),
    Map(Vec<(serde_saphyr::Spanned<Raw>, serde_saphyr::Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(value))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Raw, E> {
        Ok(Raw::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Raw, E> {
        Ok(Raw::Number)
    }

    fn visit_i128<E>(self, _: i128) -> Result<Raw, E> {
        Ok(Raw::Number)
    }

    fn visit_u128<E>(self, _: u128) -> Result<Raw, E> {
        Ok(Raw::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Raw, E> {
        Ok(Raw::Number)
    }

    fn visit_char<E>(self, value: char) -> Result<Raw, E> {
        Ok(Raw::Str(value.to_string()))
    }

    fn visit_str<E>(self, value: &str) -> Result<Raw, E> {
        Ok(Raw::Str(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Raw, E> {
        Ok(Raw::Str(value))
    }

    fn visit_bytes<E>(self, value: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(value).into_owned()))
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Raw, A::Error> {
        Err(de::Error::custom("unexpected enum"))
    }
}

fn convert(
    raw: serde_saphyr::Spanned<Raw>,
    text: &str,
    file: FileId,
    positions: &Positions,
) -> Node {
    let span = positions.span(file, &raw.referenced);
    let defined = positions.span(file, &raw.defined);
    let source = |span: Span| text.get(span.start..span.end).unwrap_or("");
    let (value, origin, span) = match raw.value {
        Raw::Null => (Value::Null, Origin::Within(span), span),
        Raw::Bool(value) => {
            let written = source(defined).to_string();
            let origin = origin_of(&written, source(span), span);
            (Value::Bool(value, written), origin, span)
        }
        Raw::Number => {
            let written = source(defined).to_string();
            let origin = origin_of(&written, source(span), span);
            (Value::Text(written), origin, span)
        }
        Raw::Str(value) => {
            let origin = origin_of(&value, source(span), span);
            (Value::Text(value), origin, span)
        }
        Raw::Seq(items) => {
            let items: Vec<Node> = items
                .into_iter()
                .map(|item| convert(item, text, file, positions))
                .collect();
            let span = items.iter().fold(span, |span, item| span.to(item.span));
            let span = through_closer(text, span, '[', ']');
            (Value::Seq(items), Origin::Within(span), span)
        }
        Raw::Map(entries) => {
            let entries: Vec<(Node, Node)> = entries
                .into_iter()
                .map(|(key, value)| {
                    (
                        convert(key, text, file, positions),
                        convert(value, text, file, positions),
                    )
                })
                .collect();
            let span = entries
                .iter()
                .fold(span, |span, (key, value)| span.to(key.span).to(value.span));
            let span = through_closer(text, span, '{', '}');
            (Value::Map(entries), Origin::Within(span), span)
        }
    };
    Node {
        value,
        span,
        origin,
    }
}

/// A flow collection (`[a, b]`, `{k: v}`) ends at its closing bracket, after its last item.
fn through_closer(text: &str, span: Span, open: char, close: char) -> Span {
    if !text.get(span.start..).unwrap_or("").starts_with(open) {
        return span;
    }
    let rest = text.get(span.end..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n', ',']).len();
    if rest[skipped..].starts_with(close) {
        Span::new(span.file, span.start, span.end + skipped + 1)
    } else {
        span
    }
}

/// Offsets into `value` map to the file one to one when the source shows it verbatim, plain or
/// between quotes; otherwise (escapes, folding, an alias) they all map to the node.
fn origin_of(value: &str, written: &str, span: Span) -> Origin {
    if written == value {
        return Origin::At(span.start);
    }
    let quoted = written.len() == value.len() + 2
        && (written.starts_with('"') || written.starts_with('\''))
        && written.get(1..written.len() - 1) == Some(value);
    if quoted {
        Origin::At(span.start + 1)
    } else {
        Origin::Within(span)
    }
}

/// Character offsets (what serde-saphyr reports) to byte offsets.
struct Positions {
    /// Byte offset of each character, and the text's length at the end; empty for ASCII text.
    starts: Vec<usize>,
    len: usize,
}

impl Positions {
    fn new(text: &str) -> Self {
        let starts = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        };
        Positions {
            starts,
            len: text.len(),
        }
    }

    fn byte(&self, char_offset: u64) -> usize {
        let offset = usize::try_from(char_offset).unwrap_or(usize::MAX);
        if self.starts.is_empty() {
            offset.min(self.len)
        } else {
            self.starts.get(offset).copied().unwrap_or(self.len)
        }
    }

    fn span(&self, file: FileId, location: &Location) -> Span {
        if location.line() == 0 {
            return Span::new(file, 0, 0);
        }
        let span = location.span();
        let start = self.byte(span.offset());
        let end = self.byte(span.offset().saturating_add(span.len()));
        Span::new(file, start, end.max(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(text: &str) -> Node {
        read(FileId(0), text).expect("valid YAML")
    }

    #[test]
    fn scalars_keep_their_text_and_position() {
        let text = "a: tcp/80\nb: \"x y\"\non: 8080\nü: yes\n";
        let root = read_ok(text);
        let Value::Map(entries) = &root.value else {
            panic!("a mapping")
        };
        let (key, value) = &entries[0];
        assert_eq!(key.text(), Some("a"));
        assert_eq!(value.text(), Some("tcp/80"));
        assert_eq!(value.origin, Origin::At(3));
        let (_, value) = &entries[1];
        assert_eq!(value.text(), Some("x y"));
        assert_eq!(value.origin, Origin::At(14));
        let (key, value) = &entries[2];
        assert_eq!(key.text(), Some("on"));
        assert_eq!(value.text(), Some("8080"));
        let (key, value) = &entries[3];
        assert_eq!(key.text(), Some("ü"));
        assert!(matches!(value.value, Value::Bool(true, _)));
        assert_eq!(&text[value.span.start..value.span.end], "yes");
    }

    #[test]
    fn collections_cover_their_contents() {
        let text = "a:\n  - x\n  - y\n";
        let root = read_ok(text);
        assert_eq!(root.span.end, text.len() - 1);
    }

    #[test]
    fn invalid_yaml_is_one_located_error() {
        let err = read(FileId(0), "a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(err.rule, "syntax-error");
        assert!(err.message.starts_with("invalid YAML: "), "{}", err.message);
        assert!(!err.message.contains(" at line "));
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(read_ok("").value, Value::Null);
        assert_eq!(read_ok("# nothing\n").value, Value::Null);
    }
}
