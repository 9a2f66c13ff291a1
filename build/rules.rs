//! Generates the module declarations and the registry of the lint rules from their files.
//!
//! Every `.rs` file but `mod.rs` in `src/rule/` (the rules the front end and `audit` report) and in
//! `src/lint/rules/` (the rules that analyse a resolved policy) declares one rule with
//! `declare_lint!`. This reads each file for the rule's static, its code and whether it defines
//! `pub fn check`, and writes:
//!
//! - `front_rules.rs`, included by `src/rule/mod.rs`: a `mod` for each file and a `pub use` of
//!   its rule;
//! - `lint_rules.rs`, included by `src/lint/rules/mod.rs`: a `pub mod` for each file and one
//!   `registry!` list of every rule in code order, each with its check when it has one.
//!
//! A file without exactly one rule, or two rules with one code, fails the build with the file's
//! name. The files are reached through `#[path]`, so `cargo fmt` does not see them: `tools/test`
//! checks their formatting by name.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// One rule file as the generator sees it.
struct RuleFile {
    /// The module name: the file name without `.rs`.
    module: String,
    path: PathBuf,
    /// The rule's static, e.g. `PRIVILEGED_PORT`.
    ident: String,
    /// The rule's code, e.g. `PC101`.
    code: String,
    /// Whether the file defines `pub fn check`.
    has_check: bool,
}

/// Writes `front_rules.rs` and `lint_rules.rs` into `out_dir`.
pub fn write(out_dir: &Path) {
    let front = read_dir("src/rule");
    let lint = read_dir("src/lint/rules");

    let mut code = String::new();
    for rule in &front {
        declare(&mut code, rule, "");
        writeln!(code, "pub use {}::{};", rule.module, rule.ident).unwrap();
    }
    fs::write(out_dir.join("front_rules.rs"), code).expect("writing front_rules.rs");

    let mut code = String::new();
    for rule in &lint {
        declare(&mut code, rule, "pub ");
    }
    let mut all: Vec<(&RuleFile, String)> = front
        .iter()
        .map(|r| (r, format!("crate::rule::{}", r.ident)))
        .chain(
            lint.iter()
                .map(|r| (r, format!("{}::{}", r.module, r.ident))),
        )
        .collect();
    all.sort_by(|(a, _), (b, _)| a.code.cmp(&b.code));
    if let Some(pair) = all.windows(2).find(|p| p[0].0.code == p[1].0.code) {
        panic!(
            "{} and {} both declare the code {}",
            pair[0].0.path.display(),
            pair[1].0.path.display(),
            pair[0].0.code
        );
    }
    code.push_str("registry! {\n");
    for (rule, path) in &all {
        if rule.has_check {
            writeln!(code, "    {path} => {}::check,", rule.module).unwrap();
        } else {
            writeln!(code, "    {path},").unwrap();
        }
    }
    code.push_str("}\n");
    fs::write(out_dir.join("lint_rules.rs"), code).expect("writing lint_rules.rs");
}

/// A `mod` declaration of the rule's file by its absolute path.
fn declare(code: &mut String, rule: &RuleFile, visibility: &str) {
    let path = rule.path.canonicalize().expect("rule files exist");
    writeln!(code, "#[path = {:?}]", path.display().to_string()).unwrap();
    writeln!(code, "{visibility}mod {};", rule.module).unwrap();
}

/// The rule files of `dir`, by file name.
fn read_dir(dir: &str) -> Vec<RuleFile> {
    println!("cargo:rerun-if-changed={dir}");
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|entry| entry.expect("listing a rule directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs"))
        .collect();
    paths.sort();
    paths.into_iter().map(read_rule).collect()
}

/// Reads one rule file for its rule's static, code and check.
fn read_rule(path: PathBuf) -> RuleFile {
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fail = |what: &str| -> ! { panic!("{}: {what}", path.display()) };
    let module = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a UTF-8 file name");
    if !module
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        fail("a rule file's name is lowercase letters, digits and `_`");
    }
    let [declaration] = text
        .split("crate::declare_lint! {")
        .skip(1)
        .collect::<Vec<_>>()[..]
    else {
        fail("a rule file declares exactly one rule with `crate::declare_lint! {`");
    };
    let ident = declaration
        .split_once("pub static ")
        .and_then(|(_, rest)| rest.split_once(" = {"))
        .map(|(ident, _)| ident.trim().to_string())
        .unwrap_or_else(|| fail("the rule is declared as `pub static NAME = {`"));
    let code = declaration
        .split_once("code: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(code, _)| code.to_string())
        .unwrap_or_else(|| fail("the rule has a `code: \"PC...\"`"));
    let has_check = text.lines().any(|line| line.starts_with("pub fn check("));
    RuleFile {
        module: module.to_string(),
        path,
        ident,
        code,
        has_check,
    }
}
