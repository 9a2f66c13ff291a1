//! `broad-protocol`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static BROAD_PROTOCOL = {
        name: "broad-protocol",
        code: "PC106",
        category: Ports,
        default_level: Info,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
