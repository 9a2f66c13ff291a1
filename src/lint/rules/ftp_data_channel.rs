//! `ftp-data-channel`: TODO(helper) one line.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// TODO(helper): summary.
    ///
    /// ## What it does
    /// ## Why it matters
    /// ## Example
    /// ## Fix
    pub static FTP_DATA_CHANNEL = {
        name: "ftp-data-channel",
        code: "PC306",
        category: Exposure,
        default_level: Warning,
    }
}

pub fn check(_ctx: &LintContext, _out: &mut Vec<Diagnostic>) {}
