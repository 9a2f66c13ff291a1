//! Everything from the policy that ends up in the ruleset as text passes through here.
//!
//! The generated script is the security boundary: a name or string the policy controls must never
//! change what nft parses. Identifiers are rebuilt from a fixed alphabet; strings are either
//! checked (and refused) or reduced to a charset nft cannot misread. nft has no escape for `"`,
//! and it expands `$name` inside log prefixes, so neither may appear in any string we write.

use std::collections::{BTreeMap, BTreeSet};

/// Longest policy-derived part of a generated identifier.
const MAX_IDENT_PART: usize = 40;
/// nft refuses comments longer than 128 bytes.
const MAX_COMMENT: usize = 127;

/// `raw` reduced to `[A-Za-z0-9_]`, other characters replaced by `_`, never empty.
pub(super) fn identifier_part(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(MAX_IDENT_PART)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Hands out distinct identifiers for policy names, in order of first request.
#[derive(Debug, Default)]
pub(super) struct Namer {
    assigned: BTreeMap<String, String>,
    used: BTreeSet<String>,
}

impl Namer {
    /// The identifier for `raw` with `prefix`: `net_office-1` -> `net_office_1`; a second name
    /// that sanitises to the same identifier gets `_2`, `_3`, ...
    pub(super) fn name(&mut self, prefix: &str, raw: &str) -> String {
        if let Some(name) = self.assigned.get(raw) {
            return name.clone();
        }
        let base = format!("{prefix}{}", identifier_part(raw));
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.used.insert(name.clone());
        self.assigned.insert(raw.to_string(), name.clone());
        name
    }
}

/// Characters allowed in a quoted nft string we generate or accept.
fn is_safe_string_char(c: char) -> bool {
    (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '$')
}

/// A comment nft cannot misread: unsafe characters become `_`, at most 127 bytes.
pub(super) fn comment(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if is_safe_string_char(c) { c } else { '_' })
        .collect();
    if out.len() > MAX_COMMENT {
        out.truncate(MAX_COMMENT - 3);
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_sanitised_and_unique() {
        let mut namer = Namer::default();
        assert_eq!(namer.name("net_", "office-1"), "net_office_1");
        assert_eq!(namer.name("net_", "office_1"), "net_office_1_2");
        assert_eq!(namer.name("net_", "office.1"), "net_office_1_3");
        assert_eq!(namer.name("net_", "office-1"), "net_office_1");
        assert_eq!(
            namer.name("net_", "x\"; flush ruleset"),
            "net_x___flush_ruleset"
        );
        assert_eq!(namer.name("net_", ""), "net__");
    }

    #[test]
    fn comments_cannot_break_out() {
        assert_eq!(comment("a\"b\\c$d\ne}f;g"), "a_b_c_d_e}f;g");
        assert_eq!(comment(&"x".repeat(300)).len(), 127);
    }
}
