//! Site service definitions in services(5) format, layered over the registry.
//!
//! An overlay is a file in the format of `/etc/services` (and of Windows'
//! `drivers\etc\services`):
//!
//! ```text
//! # comment
//! name  port/protocol  [alias...]  [# comment]
//! ```
//!
//! The port may also be a range (`8000-8010/tcp`), and, as in Wireshark's services file, one line
//! may list several protocols (`5000/tcp/udp`). The comment becomes the description.

use std::collections::hash_map::{self, HashMap};
use std::fmt;

use crate::model::{PortRange, Protocol};

/// A service defined by an overlay line. Same fields as [`Entry`](super::Entry), owned, plus the
/// 1-based line it came from for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverlayEntry {
    pub name: String,
    pub protocol: Protocol,
    pub ports: PortRange,
    pub description: String,
    pub line: usize,
}

/// A line of an overlay file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayError {
    /// The file name given to [`Overlay::parse`].
    pub source_name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters, of the offending text.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for OverlayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.source_name, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for OverlayError {}

/// Parsed overlay: entries in file order, with case-insensitive name and alias indexes.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    source_name: String,
    entries: Vec<OverlayEntry>,
    /// Lowercased name -> indices into `entries`.
    names: HashMap<String, Vec<usize>>,
    /// Lowercased alias -> lowercased name.
    aliases: HashMap<String, String>,
    /// Every alias as written, in file order, for suggestions.
    alias_spellings: Vec<String>,
}

/// Protocols that appear in real services files but carry no ports a firewall filters
/// (AppleTalk's `ddp` in Debian's `/etc/services`): lines with them are skipped, not errors,
/// so `/etc/services` itself can be used as an overlay.
const PORTLESS_PROTOCOLS: [&str; 1] = ["ddp"];

/// A whitespace-separated word and the 1-based column it starts at.
struct Token<'a> {
    text: &'a str,
    column: usize,
}

fn tokens(line: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for (column, (offset, c)) in line.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((offset, column + 1)),
            (true, Some((from, col))) => {
                out.push(Token {
                    text: &line[from..offset],
                    column: col,
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some((from, col)) = start {
        out.push(Token {
            text: &line[from..],
            column: col,
        });
    }
    out
}

/// RFC 6335 requires a letter in a service name; it also keeps names apart from port numbers.
fn is_name(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_alphabetic())
}

impl Overlay {
    /// Parses services(5) text. `source_name` names the file in errors. Every bad line is
    /// reported, not just the first.
    pub fn parse(source_name: &str, text: &str) -> Result<Overlay, Vec<OverlayError>> {
        let mut overlay = Overlay {
            source_name: source_name.to_string(),
            ..Overlay::default()
        };
        let mut errors = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |column: usize, message: String| OverlayError {
                source_name: source_name.to_string(),
                line,
                column,
                message,
            };
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some(parsed)) => overlay.add(parsed, line),
                Err((column, message)) => errors.push(error(column, message)),
            }
        }
        if errors.is_empty() {
            Ok(overlay)
        } else {
            Err(errors)
        }
    }

    fn add(&mut self, parsed: ParsedLine, line: usize) {
        let key = parsed.name.to_ascii_lowercase();
        for &protocol in &parsed.protocols {
            self.names
                .entry(key.clone())
                .or_default()
                .push(self.entries.len());
            self.entries.push(OverlayEntry {
                name: parsed.name.clone(),
                protocol,
                ports: parsed.ports,
                description: parsed.description.clone(),
                line,
            });
        }
        for alias in parsed.aliases {
            let alias_key = alias.to_ascii_lowercase();
            // As with getservbyname(3), the first definition of an alias wins.
            if let hash_map::Entry::Vacant(slot) = self.aliases.entry(alias_key) {
                slot.insert(key.clone());
                self.alias_spellings.push(alias);
            }
        }
    }

    /// The file name given to [`Overlay::parse`], for diagnostics.
    pub fn name(&self) -> &str {
        &self.source_name
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[OverlayEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries named `name` (any case), or those of the name it is an alias of. A name
    /// defined on its own line wins over the same word used as an alias.
    pub fn by_name(&self, name: &str) -> Vec<OverlayEntry> {
        let key = name.to_ascii_lowercase();
        let indices = self.names.get(&key).or_else(|| {
            let target = self.aliases.get(&key)?;
            self.names.get(target)
        });
        indices
            .map(|indices| indices.iter().map(|&i| self.entries[i].clone()).collect())
            .unwrap_or_default()
    }

    /// The spelling of `name`'s definition after case folding and aliases.
    pub fn canonical_name(&self, name: &str) -> Option<&str> {
        self.by_name_index(name)
            .map(|i| self.entries[i].name.as_str())
    }

    fn by_name_index(&self, name: &str) -> Option<usize> {
        let key = name.to_ascii_lowercase();
        let indices = self
            .names
            .get(&key)
            .or_else(|| self.names.get(self.aliases.get(&key)?))?;
        indices.first().copied()
    }

    /// Every distinct name and alias, for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let mut seen = std::collections::HashSet::new();
        self.entries
            .iter()
            .map(|e| e.name.as_str())
            .filter(move |name| seen.insert(name.to_ascii_lowercase()))
            .chain(self.alias_spellings.iter().map(String::as_str))
    }
}

/// One meaningful line.
struct ParsedLine {
    name: String,
    ports: PortRange,
    protocols: Vec<Protocol>,
    aliases: Vec<String>,
    description: String,
}

/// `Ok(None)` for blank, comment and port-less lines; `Err((column, message))` for bad ones.
fn parse_line(raw: &str) -> Result<Option<ParsedLine>, (usize, String)> {
    let (body, comment) = match raw.find('#') {
        Some(at) => (&raw[..at], raw[at + 1..].trim()),
        None => (raw, ""),
    };
    let words = tokens(body);
    let Some(name) = words.first() else {
        return Ok(None);
    };
    if name.text.contains('/') && name.text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err((
            name.column,
            format!(
                "missing service name before `{}`: expected `name port/protocol`",
                name.text
            ),
        ));
    }
    if !is_name(name.text) {
        return Err((
            name.column,
            format!("service name `{}` must contain a letter", name.text),
        ));
    }
    let Some(port_word) = words.get(1) else {
        let column = name.column + name.text.chars().count();
        return Err((
            column,
            format!("missing `port/protocol` after `{}`", name.text),
        ));
    };
    let Some((port_text, protocol_text)) = port_word.text.split_once('/') else {
        return Err((
            port_word.column,
            format!(
                "expected `port/protocol` (like `8080/tcp`), found `{}`",
                port_word.text
            ),
        ));
    };
    let ports = parse_ports(port_text).map_err(|message| (port_word.column, message))?;
    let column = port_word.column + port_text.chars().count() + 1;
    let Some(protocols) = parse_protocols(protocol_text, column)? else {
        return Ok(None);
    };
    let aliases = parse_aliases(&words[2..])?;
    Ok(Some(ParsedLine {
        name: name.text.to_string(),
        ports,
        protocols,
        aliases,
        description: comment.to_string(),
    }))
}

/// The protocols after a port (`tcp`, `tcp/udp`), each once; `column` is where the first starts.
/// `None` for a line of a protocol without ports (`ddp`), which is skipped.
fn parse_protocols(
    text: &str,
    mut column: usize,
) -> Result<Option<Vec<Protocol>>, (usize, String)> {
    let mut protocols = Vec::new();
    for part in text.split('/') {
        if PORTLESS_PROTOCOLS.contains(&part.to_ascii_lowercase().as_str()) {
            return Ok(None);
        }
        match part.parse::<Protocol>() {
            Ok(protocol) if !protocols.contains(&protocol) => protocols.push(protocol),
            Ok(_) => {}
            Err(()) => {
                let message = if part.is_empty() {
                    "missing protocol after `/`: expected tcp, udp, sctp or dccp".to_string()
                } else {
                    format!("unknown protocol `{part}`: expected tcp, udp, sctp or dccp")
                };
                return Err((column, message));
            }
        }
        column += part.chars().count() + 1;
    }
    Ok(Some(protocols))
}

/// The aliases after the port word, each a name with a letter.
fn parse_aliases(words: &[Token]) -> Result<Vec<String>, (usize, String)> {
    let mut aliases = Vec::new();
    for alias in words {
        if !is_name(alias.text) {
            return Err((
                alias.column,
                format!("alias `{}` must contain a letter", alias.text),
            ));
        }
        aliases.push(alias.text.to_string());
    }
    Ok(aliases)
}

/// `22` or `6000-6063`.
fn parse_ports(text: &str) -> Result<PortRange, String> {
    let port = |part: &str| -> Result<u16, String> {
        match part.parse::<u32>() {
            Ok(0) => Err("port 0 is reserved and cannot carry a service".to_string()),
            Ok(n) if n <= u32::from(u16::MAX) => Ok(n as u16),
            Ok(n) => Err(format!("port {n} is out of range (1-65535)")),
            Err(_) => Err(format!("`{part}` is not a port number")),
        }
    };
    match text.split_once('-') {
        None => port(text).map(PortRange::single),
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo)?, port(hi)?);
            PortRange::new(lo, hi)
                .ok_or_else(|| format!("port range `{text}` ends before it starts"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "\
# Site services
metrics      9100/tcp    node-exporter   # Prometheus node exporter
backup       7000-7010/tcp                # site backup agents
sync         5000/tcp/udp
\r
rtmp         1/ddp                        # AppleTalk: skipped
";

    #[test]
    fn parses_a_site_service() {
        let overlay = Overlay::parse("site.services", SITE).unwrap();
        let metrics = overlay.by_name("METRICS");
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].name, "metrics");
        assert_eq!(metrics[0].protocol, Protocol::Tcp);
        assert_eq!(metrics[0].ports, PortRange::single(9100));
        assert_eq!(metrics[0].description, "Prometheus node exporter");
        assert_eq!(metrics[0].line, 2);
        // Aliases resolve to their name's entries, case-insensitively.
        assert_eq!(overlay.by_name("Node-Exporter"), metrics);
        assert_eq!(overlay.canonical_name("node-exporter"), Some("metrics"));
        let backup = overlay.by_name("backup");
        assert_eq!(backup[0].ports, PortRange { lo: 7000, hi: 7010 });
        let sync = overlay.by_name("sync");
        assert_eq!(
            sync.iter().map(|e| e.protocol).collect::<Vec<_>>(),
            [Protocol::Tcp, Protocol::Udp]
        );
        assert!(overlay.by_name("rtmp").is_empty());
        assert!(overlay.by_name("nothing").is_empty());
        let names: Vec<&str> = overlay.names().collect();
        assert_eq!(names, ["metrics", "backup", "sync", "node-exporter"]);
    }

    #[test]
    fn reports_every_bad_line_with_its_position() {
        let text = "ok 80/tcp\nbad 70000/tcp\n  weird 22/xyz # comment\n22/tcp\nnoport\n";
        let errors = Overlay::parse("site.services", text).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "site.services:2:5: port 70000 is out of range (1-65535)",
                "site.services:3:12: unknown protocol `xyz`: expected tcp, udp, sctp or dccp",
                "site.services:4:1: missing service name before `22/tcp`: expected `name port/protocol`",
                "site.services:5:7: missing `port/protocol` after `noport`",
            ]
        );
    }

    #[test]
    fn rejects_bad_ports() {
        for (text, message) in [
            ("a 0/tcp", "port 0 is reserved and cannot carry a service"),
            ("a 10-5/tcp", "port range `10-5` ends before it starts"),
            ("a x/tcp", "`x` is not a port number"),
            (
                "a 22",
                "expected `port/protocol` (like `8080/tcp`), found `22`",
            ),
            (
                "a 22/",
                "missing protocol after `/`: expected tcp, udp, sctp or dccp",
            ),
        ] {
            let errors = Overlay::parse("f", text).unwrap_err();
            assert_eq!(errors[0].message, message, "for {text:?}");
        }
    }

    #[test]
    fn reads_debian_etc_services() {
        // The real file parses as an overlay (its `ddp` lines are skipped).
        let text = "\
tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer
http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP
zip\t\t6/ddp\t\t\t\t# Zone Information Protocol
";
        let overlay = Overlay::parse("/etc/services", text).unwrap();
        assert_eq!(overlay.by_name("www")[0].ports, PortRange::single(80));
        assert_eq!(overlay.entries().len(), 2);
    }
}
