//! The YAML form of a policy, for generated policies; docs/yaml.md describes the mapping.

mod lower;
mod node;
pub(crate) mod schema;

use super::ast::Item;
use crate::diagnostic::Diagnostic;
use crate::source::FileId;

pub(crate) fn parse(file: FileId, text: &str) -> (Vec<Item>, Vec<Diagnostic>) {
    let root = match node::read(file, text) {
        Ok(root) => root,
        Err(diagnostic) => return (Vec::new(), vec![*diagnostic]),
    };
    let mut lowering = lower::Lowering::new(file);
    let items = lowering.policy(&root);
    let mut diagnostics = lowering.diagnostics;
    for d in &mut diagnostics {
        if d.help.is_none() && after_tag(text, d.primary.span.start) {
            d.help = Some(
                "to YAML, a value starting with `!` is a tag, not text: quote a negation, `from: \"!office\"`"
                    .into(),
            );
        }
    }
    (items, diagnostics)
}

/// Whether the text just before `offset`, on its line, is a YAML tag (`!office`): the value a
/// user meant as a negated name, which YAML read as a tag on an empty value.
fn after_tag(text: &str, offset: usize) -> bool {
    let before = &text[..offset.min(text.len())];
    let line = before.rsplit('\n').next().unwrap_or("");
    let word = line
        .trim_end()
        .rsplit(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '[')
        .next()
        .unwrap_or("");
    word.starts_with('!') && word.len() > 1
}
