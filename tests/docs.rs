//! Generated documentation stays in step with the code: `docs/rules/` holds each rule's docs as
//! `portcullis rule NAME` prints them, and `docs/schema/` the JSON Schemas `portcullis schema`
//! prints. Regenerate with `PORTCULLIS_UPDATE_DOCS=1 cargo test docs`.

use std::collections::BTreeMap;

use portcullis::lint;

use crate::support::root;

fn expected() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut index = String::from(
        "# Lint rules\n\n<!-- Generated from the rule sources by `PORTCULLIS_UPDATE_DOCS=1 cargo test docs`; do not edit. -->\n\n\
         Set a rule's level in `portcullis.yaml` (`lint: levels: {RULE: error|warning|info|off}`) or on the\n\
         command line (`--error RULE`, `--warn RULE`, `--ignore RULE`), and suppress one finding with\n\
         `# portcullis: ignore[RULE]` on its line or the line before.\n\n\
         | code | rule | default | summary |\n|---|---|---|---|\n",
    );
    for rule in lint::rules::ALL {
        index.push_str(&format!(
            "| {} | [`{}`]({}.md) | {} | {} |\n",
            rule.code, rule.name, rule.name, rule.default_level, rule.summary
        ));
        files.insert(
            format!("{}.md", rule.name),
            format!(
                "<!-- Generated from src/lint/rules by `PORTCULLIS_UPDATE_DOCS=1 cargo test docs`; do not edit. -->\n\n{}",
                lint::docs_markdown(rule)
            ),
        );
    }
    files.insert("README.md".to_string(), index);
    files
}

#[test]
fn rule_docs_are_current() {
    let dir = root().join("docs/rules");
    let expected = expected();
    if std::env::var_os("PORTCULLIS_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, text) in &expected {
        if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    let extra: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !expected.contains_key(n))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "docs/rules is stale (changed: {stale:?}, extra: {extra:?}); run `PORTCULLIS_UPDATE_DOCS=1 cargo test docs`"
    );
}

/// `docs/schema/` holds what `portcullis schema` prints, for editors to read from a clone or
/// from the repository.
#[test]
fn schema_files_are_current() {
    let dir = root().join("docs/schema");
    let mut stale = Vec::new();
    for (document, name) in [
        ("policy", "policy.schema.json"),
        ("config", "config.schema.json"),
    ] {
        let run = crate::support::portcullis(None, &["schema", document]);
        run.code(0);
        let path = dir.join(name);
        if std::env::var_os("PORTCULLIS_UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &run.stdout).unwrap();
        }
        if std::fs::read_to_string(&path).ok() != Some(run.stdout) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schema is stale ({stale:?}); run `PORTCULLIS_UPDATE_DOCS=1 cargo test docs`"
    );
}
