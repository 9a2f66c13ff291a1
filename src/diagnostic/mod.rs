//! Findings and how they reach the user.
//!
//! Every stage reports into a `Vec<Diagnostic>` and goes on: a run shows every problem at once.
//! A diagnostic names the lint rule that produced it; the lint engine sets its final severity from
//! the rule's level and the user's configuration, and drops those the user turned off or suppressed.

mod github;
pub mod human;
mod json;
mod sarif;
mod text;

pub use github::render_github;
pub use human::{render_human, summary, HumanOptions};
pub use json::{render_json, write_json};
pub use sarif::render_sarif;
pub use text::Text;

use crate::rule::LintRule;
pub use crate::rule::Severity;
use crate::source::Span;

/// A span with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub span: Span,
    pub message: Text,
}

impl Label {
    pub fn new(span: Span, message: impl Into<Text>) -> Self {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The lint rule, which names it (`unknown-service`) and gives its code (`PC101`).
    pub rule: &'static LintRule,
    pub severity: Severity,
    /// One lowercase sentence; names in backticks.
    /// Boxed: kept to the end of the command without room to grow (a million rules can give
    /// a million findings).
    pub message: Box<str>,
    /// Where it is; the label says what is wrong there.
    pub primary: Label,
    /// Other places that explain it ("first defined here", "shadowed by this rule").
    pub secondary: Box<[Label]>,
    /// How to fix it.
    pub help: Option<Text>,
    /// Whether human output may show the source under the finding. Off for files that are not
    /// policies at all (an include of `/etc/shadow`, binary junk): their lines are not echoed.
    pub quote: bool,
}

impl Diagnostic {
    /// A finding of `rule` at its registered default level.
    pub fn new(rule: &'static LintRule, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity: rule.default_level.severity().unwrap_or(Severity::Info),
            message: message.into().into_boxed_str(),
            primary: Label::new(span, ""),
            secondary: Box::default(),
            help: None,
            quote: true,
        }
    }

    pub fn label(mut self, message: impl Into<Text>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<Text>) -> Self {
        // Most findings have one other place, a few have several: each is added without room
        // for more.
        let mut labels = std::mem::take(&mut self.secondary).into_vec();
        labels.reserve_exact(1);
        labels.push(Label::new(span, message));
        self.secondary = labels.into_boxed_slice();
        self
    }

    pub fn help(mut self, help: impl Into<Text>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A finding whose source must not be shown: only its position is.
    pub fn without_quote(mut self) -> Self {
        self.quote = false;
        self
    }

    pub fn span(&self) -> Span {
        self.primary.span
    }
}

/// Sort findings by file, position and rule so output never depends on analysis order.
///
/// In place: a stable sort would take a buffer of half the findings, at the moment the command
/// holds the most of them. Equal findings end up side by side, for `dedup`.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_unstable_by(|a, b| {
        (a.primary.span, a.rule, &a.message)
            .cmp(&(b.primary.span, b.rule, &b.message))
            .then_with(|| rest(a).cmp(&rest(b)))
    });
}

/// What [`sort`] compares after position, rule and message.
type Rest<'a> = (
    &'a str,
    Severity,
    &'a Text,
    &'a [Label],
    Option<&'a Text>,
    bool,
);

fn rest(d: &Diagnostic) -> Rest<'_> {
    (
        d.rule.code,
        d.severity,
        &d.primary.message,
        &d.secondary,
        d.help.as_ref(),
        d.quote,
    )
}
