//! `icmpv6-blocked`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static ICMPV6_BLOCKED = {
        name: "icmpv6-blocked",
        code: "PC305",
        category: Exposure,
        default_level: Warning,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
