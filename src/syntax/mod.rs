//! Policy text and YAML -> the spanned syntax tree in [`ast`].
//!
//! Both forms report every problem of a file in one run and never panic: a grammar mistake becomes
//! a `syntax-error` diagnostic and the parser recovers after it (`recovery.rs`); a value that cannot
//! be valid (port 0, a malformed address) becomes an `invalid-port` or `invalid-address` diagnostic
//! and an `Error` node in the tree (`parser.rs`). The YAML form parses every scalar with the same
//! grammar rules as the text form, so both accept exactly the same values.

pub mod ast;
mod grammar;
mod lexical;
mod parse_error;
mod parser;
mod recovery;
mod scan;
mod split;
mod yaml;

#[cfg(test)]
mod tests;

use crate::diagnostic::Diagnostic;
use crate::source::FileId;

use ast::PolicyFile;

/// Parses a policy in the text form (`.pcl`).
pub fn parse_text(file: FileId, text: &str) -> (PolicyFile, Vec<Diagnostic>) {
    let (items, mut diagnostics) = recovery::parse_text(file, text);
    crate::diagnostic::sort(&mut diagnostics);
    (PolicyFile { file, items }, diagnostics)
}

/// Parses a policy in the YAML form; it lowers to the same tree as the text form.
pub fn parse_yaml(file: FileId, text: &str) -> (PolicyFile, Vec<Diagnostic>) {
    let (items, mut diagnostics) = yaml::parse(file, text);
    crate::diagnostic::sort(&mut diagnostics);
    (PolicyFile { file, items }, diagnostics)
}

/// The JSON Schema of the YAML form, for editors: its shapes, not the values in policy syntax.
pub fn yaml_schema() -> schemars::Schema {
    yaml::schema::schema()
}

/// Parses a policy file in the form its name says: `.yaml` and `.yml` are YAML, anything else is
/// the text form.
pub fn parse(file: FileId, file_name: &str, text: &str) -> (PolicyFile, Vec<Diagnostic>) {
    if is_yaml_name(file_name) {
        parse_yaml(file, text)
    } else {
        parse_text(file, text)
    }
}

/// Whether a file name selects the YAML form.
pub fn is_yaml_name(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}
