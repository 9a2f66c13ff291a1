//! What a finding is about: the metadata every rule declares ([`LintRule`], [`Level`],
//! [`Category`], [`declare_lint!`](crate::declare_lint)), the severity of a finding, and the rules
//! the front end reports itself while reading and resolving a policy (syntax, includes, names,
//! values). It sits below the diagnostics and the linter, which both use it; the rules that
//! analyse a resolved policy live with their checks in `lint::rules`.

mod duplicate_definition;
mod empty_policy;
mod host_bits_set;
mod include_error;
mod invalid_address;
mod invalid_port;
mod protocol_mismatch;
mod syntax_error;
mod unknown_net;
mod unknown_service;

pub use duplicate_definition::DUPLICATE_DEFINITION;
pub use empty_policy::EMPTY_POLICY;
pub use host_bits_set::HOST_BITS_SET;
pub use include_error::INCLUDE_ERROR;
pub use invalid_address::INVALID_ADDRESS;
pub use invalid_port::INVALID_PORT;
pub use protocol_mismatch::PROTOCOL_MISMATCH;
pub use syntax_error::SYNTAX_ERROR;
pub use unknown_net::UNKNOWN_NET;
pub use unknown_service::UNKNOWN_SERVICE;

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How loudly a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" | "ignore" => Ok(Level::Off),
            "info" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown level `{other}`: expected error, warning, info or off"
            )),
        }
    }
}

/// What kind of mistake a rule finds, for grouping in `portcullis rules` and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// The file cannot be read as a policy.
    Syntax,
    /// Names, addresses and ports that do not resolve or are not valid.
    Resolution,
    /// Ports, binds and the registry.
    Ports,
    /// Rule order and coverage under first-match evaluation.
    Coverage,
    /// What the policy exposes and whether it can lock its operator out.
    Exposure,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Syntax => "syntax",
            Category::Resolution => "resolution",
            Category::Ports => "ports",
            Category::Coverage => "coverage",
            Category::Exposure => "exposure",
        }
    }
}

/// A lint rule's static record. Built by [`declare_lint!`](crate::declare_lint).
#[derive(Debug)]
pub struct LintRule {
    /// Stable kebab-case name naming the bad pattern, e.g. `shadowed-rule`.
    pub name: &'static str,
    /// Stable short code, e.g. `PC201`. Codes are never reused.
    pub code: &'static str,
    pub category: Category,
    pub default_level: Level,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: what it does, why it matters, an example and the fix.
    pub docs: &'static str,
    /// Former names: a renamed rule keeps answering to them in configurations, on the command
    /// line and in suppressions.
    pub aliases: &'static [&'static str],
}

/// Declares a lint rule as a `pub static` [`LintRule`]. The doc comment becomes its documentation:
/// the first line is the summary, the rest the body printed by `portcullis rule NAME`.
#[macro_export]
macro_rules! declare_lint {
    (
        $(#[doc = $doc:literal])+
        pub static $ident:ident = {
            name: $name:literal,
            code: $code:literal,
            category: $category:ident,
            default_level: $level:ident
            $(, aliases: [$($alias:literal),* $(,)?])? $(,)?
        }
    ) => {
        $(#[doc = $doc])+
        pub static $ident: $crate::rule::LintRule = $crate::rule::LintRule {
            name: $name,
            code: $code,
            category: $crate::rule::Category::$category,
            default_level: $crate::rule::Level::$level,
            summary: $crate::rule::first_line(concat!($($doc, "\n"),+)),
            docs: concat!($($doc, "\n"),+),
            aliases: &[$($($alias),*)?],
        };
    };
}

/// The first non-empty line of a doc comment, trimmed. `const` so summaries are computed at compile
/// time.
pub const fn first_line(docs: &'static str) -> &'static str {
    let bytes = docs.as_bytes();
    let mut start = 0;
    while start < bytes.len() && (bytes[start] == b' ' || bytes[start] == b'\n') {
        start += 1;
    }
    let mut end = start;
    while end < bytes.len() && bytes[end] != b'\n' {
        end += 1;
    }
    let (_, rest) = bytes.split_at(start);
    let (line, _) = rest.split_at(end - start);
    match std::str::from_utf8(line) {
        Ok(s) => s,
        Err(_) => "",
    }
}

/// A rule's documentation as Markdown: a title, then its doc comment without the summary line.
pub fn docs_markdown(rule: &LintRule) -> String {
    let mut out = format!(
        "# {} ({})\n\n{}\n\nDefault level: **{}**. Category: {}.\n",
        rule.name,
        rule.code,
        rule.summary,
        rule.default_level,
        rule.category.as_str()
    );
    let mut lines = rule.docs.lines().map(|l| l.strip_prefix(' ').unwrap_or(l));
    // The first line is the summary, already above.
    lines.next();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
