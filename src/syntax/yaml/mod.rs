//! The YAML form of a policy, for generated policies; docs/yaml.md describes the mapping.

mod lower;
mod node;

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
    (items, lowering.diagnostics)
}
