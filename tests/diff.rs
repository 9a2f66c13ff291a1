//! `portcullis diff`: each example against a hand-edited copy (`tests/fixtures/diff/<name>/
//! new.pcl`), in every format, against a git revision, and its refusals.

use std::path::Path;
use std::process::Command;

use crate::support::{portcullis, root};

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/diff"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The example a fixture edits.
fn example(case: &str) -> String {
    let name = if case == "refactor" { "database" } else { case };
    format!("examples/{name}.pcl")
}

fn edited(case: &str) -> String {
    format!("tests/fixtures/diff/{case}/new.pcl")
}

#[test]
fn each_edited_example_shows_exactly_its_changes() {
    for case in ["web", "database", "router", "mail"] {
        let run = portcullis(None, &["diff", &example(case), &edited(case)]);
        run.code(1);
        assert_eq!(run.stderr, "", "{case}");
        snapshot(case, &run.stdout);
    }
}

#[test]
fn a_refactoring_is_no_change_in_exposure() {
    let run = portcullis(None, &["diff", &example("refactor"), &edited("refactor")]);
    run.code(0);
    assert_eq!(run.stdout, "no change in exposure\n");
    let same = portcullis(None, &["diff", "examples/web.pcl", "examples/web.pcl"]);
    same.code(0);
}

#[test]
fn the_formats_say_the_same() {
    let args = |format: &str| {
        portcullis(
            None,
            &["diff", &example("web"), &edited("web"), "--format", format],
        )
    };
    let markdown = args("markdown");
    markdown.code(1);
    snapshot("web.markdown", &markdown.stdout);
    let github = args("github");
    github.code(1);
    snapshot("web.github", &github.stdout);
    let json = args("json");
    json.code(1);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["changed"], true);
    let regions = &value["files"][0]["hosts"][0]["chains"][0]["regions"];
    let changes: Vec<&str> = regions
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r["change"].as_str().expect("a change"))
        .collect();
    assert_eq!(changes, ["opened", "closed", "limit-removed"]);
    assert_eq!(regions[0]["from"]["text"], "office");
    assert_eq!(
        regions[0]["from"]["prefixes"],
        serde_json::json!(["10.10.0.0/16", "2001:db8:10::/48"])
    );
    assert_eq!(regions[0]["new"]["line"], 21);
    assert_eq!(regions[0]["old"]["by"], "default");
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// `--base REV`: the file, its include and its configuration as they were at the revision.
#[test]
fn a_file_is_compared_with_itself_at_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir(repo.join("policies")).unwrap();
    let write = |name: &str, text: &str| std::fs::write(repo.join(name), text).unwrap();
    write("policies/nets.pcl", "net office = 10.10.0.0/16\n");
    write(
        "policies/web.pcl",
        "include \"nets.pcl\"\ninput drop {\n  allow ssh from office\n  allow https\n}\n",
    );
    git(repo, &["init", "-q"]);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "first"]);
    // The include changes: the policy file itself does not.
    write("policies/nets.pcl", "net office = 10.10.0.0/15\n");
    write("policies/new.pcl", "input drop {\n  allow ssh\n}\n");
    let run = portcullis(
        Some(repo),
        &[
            "diff",
            "--base",
            "HEAD",
            "policies/web.pcl",
            "policies/new.pcl",
        ],
    );
    run.code(1);
    assert!(
        run.stdout
            .contains("+ newly accepted: tcp/22 from 10.11.0.0/16")
            && run
                .stdout
                .contains("before: the input chain's default drop (HEAD:policies/web.pcl:2)")
            && run.stdout.contains("policies/new.pcl is new"),
        "{}",
        run.stdout
    );
    let unchanged = portcullis(Some(repo), &["diff", "--base", "HEAD", "policies/web.pcl"]);
    assert_eq!(unchanged.code, 1, "the include changed");
    git(repo, &["commit", "-q", "-am", "second"]);
    let now = portcullis(Some(repo), &["diff", "--base", "HEAD", "policies/web.pcl"]);
    now.code(0);
    let missing = portcullis(
        Some(repo),
        &["diff", "--base", "no-such-rev", "policies/web.pcl"],
    );
    missing.code(2);
    assert!(
        missing.stderr.contains("`no-such-rev` is not a revision"),
        "{}",
        missing.stderr
    );
}

#[test]
fn what_cannot_be_compared_is_refused() {
    let one = portcullis(None, &["diff", "examples/web.pcl"]);
    one.code(2);
    assert!(
        one.stderr.contains("diff compares two files"),
        "{}",
        one.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.pcl");
    std::fs::write(&broken, "input drop {\n  allow nosuchservice\n}\n").unwrap();
    let run = portcullis(
        None,
        &["diff", "examples/web.pcl", broken.to_str().unwrap()],
    );
    run.code(2);
    assert!(
        run.stderr.contains("cannot compare") && run.stderr.contains("1 error"),
        "{}",
        run.stderr
    );
    let host = portcullis(
        None,
        &[
            "diff",
            "examples/web.pcl",
            &edited("web"),
            "--host",
            "web-9",
        ],
    );
    host.code(2);
    assert!(
        host.stderr.contains("has a host `web-9`"),
        "{}",
        host.stderr
    );
}
