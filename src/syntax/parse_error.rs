//! pest errors -> `syntax-error` diagnostics in words a policy author uses.
//!
//! pest names the grammar rules it tried at the furthest position it reached. Each rule maps to a
//! phrase ("a port spec like `tcp/22`"); the message lists them and says what was found instead,
//! and the help guesses the intended keyword or explains why a keyword is out of place.

use pest::error::{ErrorVariant, InputLocation};

use super::grammar::Rule;
use super::parser::Origin;
use super::scan::Place;
use crate::diagnostic::Diagnostic;
use crate::rule::SYNTAX_ERROR;
use crate::source::{floor_char_boundary, FileId};

/// What the parser wanted, as words.
struct Expected {
    /// Sort key: statements first, then words, values, punctuation, the end of the line.
    order: u8,
    phrase: &'static str,
    /// Keywords the author may have misspelled.
    keywords: &'static [&'static str],
}

const STATEMENT_KEYWORDS: &[&str] = &[
    "include",
    "service",
    "net",
    "host",
    "bind",
    "input",
    "output",
    "forward",
    "forward-port",
    "masquerade",
    "snat",
];
const HOST_KEYWORDS: &[&str] = &[
    "bind",
    "input",
    "output",
    "forward",
    "forward-port",
    "masquerade",
    "snat",
];
const RULE_KEYWORDS: &[&str] = &["allow", "deny", "reject"];
/// What a line in a chain starts with.
const CHAIN_KEYWORDS: &[&str] = &["allow", "deny", "reject", "expect"];
const EXPECT_KINDS: &[&str] = &["open", "closed", "limited"];
const EXPECT_OPTIONS: &[&str] = &["from", "to", "on"];
const OPTION_KEYWORDS: &[&str] = &["from", "to", "on", "limit", "log", "counter"];
const PROTOCOLS: &[&str] = &["tcp", "udp", "sctp", "dccp"];
const CHAIN_KINDS: &[&str] = &["input", "output", "forward"];
const POLICIES: &[&str] = &["accept", "drop", "reject"];
const RATE_UNITS: &[&str] = &["second", "minute", "hour"];
/// Words the grammar keeps out of service and net names.
const RESERVED: &[&str] = &[
    "from", "to", "on", "limit", "log", "counter", "as", "any", "at", "tcp", "udp", "sctp", "dccp",
    "icmp", "icmpv6", "proto", "igmp", "ipip", "gre", "esp", "ah", "ospf", "pim", "vrrp",
];
/// Every word the language spells in lowercase only, for "keywords are lowercase".
const LOWERCASE_WORDS: &[&[&str]] = &[
    STATEMENT_KEYWORDS,
    CHAIN_KEYWORDS,
    EXPECT_KINDS,
    OPTION_KEYWORDS,
    POLICIES,
    RATE_UNITS,
    RESERVED,
    &["burst", "per", "source", "v6only", "dual-stack"],
];

fn expected(rule: Rule) -> Option<Expected> {
    let (order, phrase, keywords): (u8, &'static str, &'static [&'static str]) = match rule {
        Rule::top_stmt => (
            0,
            "a statement (`include`, `service`, `net`, `host`, `bind`, a chain or `forward-port`)",
            STATEMENT_KEYWORDS,
        ),
        Rule::host_item | Rule::orphan_block => (
            1,
            "a host statement (`bind`, a chain or `forward-port`)",
            HOST_KEYWORDS,
        ),
        Rule::chain_item => (
            2,
            "a chain statement (`allow`, `deny`, `reject` or `expect`)",
            CHAIN_KEYWORDS,
        ),
        Rule::rule_stmt | Rule::verdict => {
            (2, "a rule (`allow`, `deny` or `reject`)", RULE_KEYWORDS)
        }
        Rule::expect_kind => (4, "`open`, `closed` or `limited`", EXPECT_KINDS),
        Rule::chain_kind | Rule::chain_block => {
            (3, "a chain (`input`, `output` or `forward`)", CHAIN_KINDS)
        }
        Rule::policy => (
            4,
            "a default verdict (`accept`, `drop` or `reject`)",
            POLICIES,
        ),
        Rule::rule_option => (
            5,
            "an option (`from`, `to`, `on`, `limit`, `log` or `counter`)",
            OPTION_KEYWORDS,
        ),
        Rule::expect_option => (
            5,
            "an option of `expect` (`from`, `to` or `on`)",
            EXPECT_OPTIONS,
        ),
        Rule::expect_stmt | Rule::kw_expect => (6, "`expect`", &["expect"]),
        Rule::include_stmt | Rule::kw_include => (6, "`include`", &["include"]),
        Rule::service_def | Rule::kw_service => (6, "`service`", &["service"]),
        Rule::net_def | Rule::kw_net => (6, "`net`", &["net"]),
        Rule::host_block | Rule::kw_host => (6, "`host`", &["host"]),
        Rule::bind_stmt | Rule::kw_bind => (6, "`bind`", &["bind"]),
        Rule::forward_stmt | Rule::kw_forward_port => (6, "`forward-port`", &["forward-port"]),
        Rule::on_opt | Rule::kw_on => (6, "`on`", &["on"]),
        Rule::bind_user | Rule::kw_as => (6, "`as`", &["as"]),
        Rule::bind_stack => (8, "`v6only` or `dual-stack`", &["v6only", "dual-stack"]),
        Rule::from_opt | Rule::kw_from => (6, "`from`", &["from"]),
        Rule::to_opt | Rule::kw_to => (6, "`to`", &["to"]),
        Rule::limit_opt | Rule::kw_limit => (6, "`limit`", &["limit"]),
        Rule::burst | Rule::kw_burst => (6, "`burst`", &["burst"]),
        Rule::per_source | Rule::kw_per => (6, "`per source`", &["per"]),
        Rule::kw_source => (6, "`source`", &["source"]),
        Rule::log_opt | Rule::kw_log => (6, "`log`", &["log"]),
        Rule::counter_opt | Rule::kw_counter => (6, "`counter`", &["counter"]),
        Rule::kw_any => (6, "`any`", &["any"]),
        Rule::service_list | Rule::service_ref | Rule::service_name => {
            (7, "a service name or a port spec like `tcp/22`", &[])
        }
        Rule::port_spec => (7, "a port spec like `tcp/22`", PROTOCOLS),
        Rule::protocol => (7, "a protocol (`tcp`, `udp`, `sctp` or `dccp`)", PROTOCOLS),
        Rule::port_range | Rule::port | Rule::bare_port => {
            (7, "a port or a port range like `22` or `8000-8100`", &[])
        }
        Rule::net_list | Rule::net_member => (
            7,
            "a net name, an address like `10.0.0.0/8`, or `any`",
            &["any"],
        ),
        Rule::prefix => (7, "an address or prefix like `10.0.0.0/8`", &[]),
        Rule::address => (7, "an IP address like `0.0.0.0` or `::1`", &[]),
        Rule::target | Rule::target_v4 | Rule::target_v6 | Rule::bare_v6_target => (
            7,
            "a target address like `10.0.0.5:443` or `[2001:db8::5]:443`",
            &[],
        ),
        Rule::limit_body | Rule::rate => (7, "a rate like `10/minute`", &[]),
        Rule::number => (7, "a number", &[]),
        Rule::rate_unit => (7, "`second`, `minute` or `hour`", RATE_UNITS),
        Rule::iface | Rule::iface_list | Rule::iface_member => {
            (7, "an interface name like `eth0`", &[])
        }
        Rule::name | Rule::ref_name => (7, "a name", &[]),
        Rule::string | Rule::quote => (7, "a quoted string like `\"common.pcl\"`", &[]),
        Rule::close_quote => (7, "a closing `\"`", &[]),
        Rule::close_bracket => (8, "`]`", &[]),
        Rule::lbrace => (8, "`{`", &[]),
        Rule::equals => (8, "`=`", &[]),
        Rule::comma => (5, "`,`", &[]),
        Rule::rbrace => (8, "`}`", &[]),
        Rule::line_end => (9, "the end of the line", &[]),
        Rule::EOI => (10, "the end of the file", &[]),
        _ => return None,
    };
    Some(Expected {
        order,
        phrase,
        keywords,
    })
}

/// The byte offset a pest error points at.
pub(crate) fn position<R>(error: &pest::error::Error<R>) -> usize {
    match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    }
}

/// What the parsed text is: a whole file, or one value of a YAML policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    File,
    Value,
}

impl Context {
    fn end(self) -> &'static str {
        match self {
            Context::File => "the end of the file",
            Context::Value => "the end of the value",
        }
    }
}

/// Turns a pest error on `text` into a diagnostic; `origin` places `text` in the file.
pub(crate) fn diagnostic(
    error: &pest::error::Error<Rule>,
    text: &str,
    file: FileId,
    origin: Origin,
    context: Context,
) -> Diagnostic {
    let pos = floor_char_boundary(text, position(error).min(text.len()));
    let token = token_at(text, pos);
    let span = origin.span(file, pos, pos + token.len());
    let found = if pos >= text.len() {
        context.end().to_string()
    } else if token.is_empty() {
        "the end of the line".to_string()
    } else {
        format!("`{token}`")
    };

    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            let message = if message.contains("limit") {
                "the text nests too deeply to be read".to_string()
            } else {
                format!("the text cannot be read: {message}")
            };
            return Diagnostic::new(&SYNTAX_ERROR, span, message).label("here");
        }
    };
    let mut wanted: Vec<Expected> = positives.into_iter().filter_map(expected).collect();
    wanted.sort_by_key(|e| (e.order, e.phrase));
    wanted.dedup_by_key(|e| e.phrase);
    // Blank lines are allowed anywhere statements are: listing the end of the line or file next to
    // a statement is noise. Where a statement may end, its line ending says enough.
    if wanted.iter().any(|e| e.order <= 2) {
        wanted.retain(|e| e.order < 9);
    }
    if wanted.iter().any(|e| e.order == 9) && wanted.len() > 1 {
        wanted.retain(|e| e.order != 10);
    }

    let phrases: Vec<&str> = wanted
        .iter()
        .map(|e| {
            if e.order == 10 {
                context.end()
            } else {
                e.phrase
            }
        })
        .collect();
    let message = if phrases.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&phrases))
    };
    let label = if token.is_empty() {
        format!("expected {}", phrases.first().copied().unwrap_or("more"))
    } else {
        "unexpected here".to_string()
    };
    let mut diagnostic = Diagnostic::new(&SYNTAX_ERROR, span, message).label(label);
    if let Some(help) = uppercase_help(text, pos).or_else(|| help(&wanted, token)) {
        diagnostic = diagnostic.help(help);
    }
    if pos >= text.len() && phrases.contains(&"`}`") {
        if let Some(open) = unclosed_brace(text) {
            diagnostic = diagnostic.secondary(
                origin.span(file, open, open + 1),
                "this block is never closed",
            );
        }
    }
    diagnostic
}

/// `TCP/80`, `ALLOW`: the word the error is in (or right after), written with capitals where the
/// language has a lowercase keyword or protocol.
fn uppercase_help(text: &str, pos: usize) -> Option<String> {
    let start = text[..pos]
        .rfind(|c: char| c.is_whitespace() || c == ',' || c == '{')
        .map_or(0, |i| i + 1);
    let end = text[pos..]
        .find(|c: char| c.is_whitespace() || c == ',' || c == '}')
        .map_or(text.len(), |i| pos + i);
    let word = text.get(start..end)?;
    let head_len = word
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(word.len());
    let head = &word[..head_len];
    if !head.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    LOWERCASE_WORDS
        .iter()
        .any(|words| words.contains(&lower.as_str()))
        .then(|| {
            format!(
                "keywords and protocols are lowercase: write `{}{}`",
                lower,
                &word[head_len..]
            )
        })
}

fn help(wanted: &[Expected], token: &str) -> Option<String> {
    let wants = |phrase_start: &str| wanted.iter().any(|e| e.phrase.starts_with(phrase_start));
    let word = token
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .next()
        .unwrap_or("");

    if token == "}" && !wants("`}`") {
        return Some("this `}` closes no block: is it one too many?".into());
    }
    if token.starts_with('\\') {
        return Some("a `\\` continues a statement only as the last character of its line".into());
    }
    if wants("a closing `\"`") {
        return Some("a string ends on the line it starts on; write a newline as `\\n`".into());
    }
    if wants("a name") && RESERVED.contains(&word) {
        return Some(format!(
            "`{word}` is a keyword and cannot be used as a name"
        ));
    }
    let in_host = wants("a host statement") && !wants("a statement");
    let in_chain = wants("a chain statement") || wants("a rule");
    match word {
        "include" | "service" | "net" | "host" if in_host || in_chain => {
            return Some(format!(
                "`{word}` belongs at the top level of a file, outside host and chain blocks"
            ));
        }
        "allow" | "deny" if !in_chain && (wants("a statement") || in_host) => {
            return Some("rules go inside a chain block: `input drop { allow ssh }`".into());
        }
        "expect" if !in_chain && (wants("a statement") || in_host) => {
            return Some(
                "an `expect` goes inside a chain block, among its rules: `input drop { expect open ssh }`"
                    .into(),
            );
        }
        "bind" | "input" | "output" | "forward" | "forward-port" if in_chain => {
            return Some(format!(
                "`{word}` belongs in a host block or at the top level, not inside a chain; \
                 is a `}}` missing above?"
            ));
        }
        _ => {}
    }
    if word.len() >= 2 {
        let best = wanted
            .iter()
            .flat_map(|e| e.keywords.iter().copied())
            .filter(|k| *k != word)
            .map(|k| (strsim::levenshtein(word, k), k))
            .min();
        if let Some((distance, keyword)) = best {
            if distance <= 2 && distance < word.len() {
                return Some(format!("did you mean `{keyword}`?"));
            }
        }
    }
    let number = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    if wants("a protocol") && number {
        return Some("a port spec starts with its protocol: `tcp/22`".into());
    }
    if wants("a rate") && number {
        return Some("write a rate as one word: `10/minute`".into());
    }
    None
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(phrases: &[&str]) -> String {
    match phrases {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The token at `pos`: a string literal, a single punctuation character, or a run of other
/// characters up to whitespace or punctuation; empty at the end of a line or of the text.
fn token_at(text: &str, pos: usize) -> &str {
    const PUNCTUATION: &[char] = &['{', '}', ',', '=', '#', '"', '(', ')', '[', ']', ';'];
    const MAX_CHARS: usize = 40;
    let rest = text.get(pos..).unwrap_or("");
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return "";
    };
    let end = if first == '\n' || first == '\r' {
        0
    } else if first == '"' {
        rest[1..].find(['"', '\n', '\r']).map_or(rest.len(), |i| {
            if rest.as_bytes()[1 + i] == b'"' {
                i + 2
            } else {
                i + 1
            }
        })
    } else if PUNCTUATION.contains(&first) {
        first.len_utf8()
    } else {
        rest.find(|c: char| c.is_whitespace() || PUNCTUATION.contains(&c))
            .unwrap_or(rest.len())
    };
    let token = &rest[..end];
    match token.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => &token[..cut],
        None => token,
    }
}

/// The innermost `{` never closed, outside comments and strings.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open = Vec::new();
    for (i, b, place) in super::scan::places(text) {
        match (b, place) {
            (b'{', Place::Code) => open.push(i),
            (b'}', Place::Code) => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_stop_at_whitespace_and_punctuation() {
        assert_eq!(token_at("8o80, x", 0), "8o80");
        assert_eq!(token_at("{ x", 0), "{");
        assert_eq!(token_at("\"abc\" x", 0), "\"abc\"");
        assert_eq!(token_at("\"abc\n", 0), "\"abc");
        assert_eq!(token_at("\n", 0), "");
        assert_eq!(token_at("", 0), "");
        assert_eq!(token_at("ab", 5), "");
        assert_eq!(token_at(&"x".repeat(100), 0).len(), 40);
    }

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(join_or(&["a"]), "a");
        assert_eq!(join_or(&["a", "b"]), "a or b");
        assert_eq!(join_or(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn finds_the_innermost_open_brace() {
        assert_eq!(unclosed_brace("a {\n b {\n }\n"), Some(2));
        assert_eq!(unclosed_brace("a { \"{\" # {\n"), Some(2));
        assert_eq!(unclosed_brace("a { }"), None);
    }
}
