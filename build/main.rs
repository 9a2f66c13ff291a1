//! The build script: tables and lists generated from the sources into `$OUT_DIR`.
//!
//! - [`registry`]: `data/registry.tsv` as static, sorted tables (`registry_table.rs`).
//! - [`rules`]: the module declarations and the registry of the lint rules, found by reading
//!   `src/rule/` and `src/lint/rules/` (`front_rules.rs`, `lint_rules.rs`), so that a new rule is
//!   its own file and nothing else (an audit rule's check is the one thing outside it, in
//!   `src/audit/`).

mod registry;
mod rules;

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out_dir = Path::new(&out_dir);
    registry::write(out_dir);
    rules::write(out_dir);
}
