//! `unused-definition`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static UNUSED_DEFINITION = {
        name: "unused-definition",
        code: "PC016",
        category: Resolution,
        default_level: Warning,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
