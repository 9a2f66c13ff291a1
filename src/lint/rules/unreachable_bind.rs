//! `unreachable-bind`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static UNREACHABLE_BIND = {
        name: "unreachable-bind",
        code: "PC307",
        category: Exposure,
        default_level: Info,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
