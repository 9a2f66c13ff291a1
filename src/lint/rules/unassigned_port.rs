//! `unassigned-port`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static UNASSIGNED_PORT = {
        name: "unassigned-port",
        code: "PC107",
        category: Ports,
        default_level: Info,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
