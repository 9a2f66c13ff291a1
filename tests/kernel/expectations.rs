//! `portcullis test` as an operator and a CI job run it: every example's expectations hold in the
//! kernel, a ruleset edited after compiling is caught, every path (input with interfaces, output,
//! forward) is probed, JUnit shows each expectation, and without root it says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::trials::say;

const PORTCULLIS: &str = env!("CARGO_BIN_EXE_portcullis");
const EVERY_PATH: &str = "tests/fixtures/proof/every_path.pcl";

fn portcullis(args: &[&str]) -> Output {
    Command::new(PORTCULLIS)
        .args(args)
        .output()
        .expect("portcullis runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn expectations(report: &Value) -> Vec<&Value> {
    report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .flat_map(|h| h["expectations"].as_array().expect("expectations"))
        .collect()
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("examples")
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcl" | "yaml")))
        .collect();
    files.sort();
    files
}

fn every_example_keeps_its_expectations_in_the_kernel() {
    let mut proven = 0;
    for file in examples() {
        let file = file.to_str().expect("a UTF-8 path");
        let out = portcullis(&["test", file, "--format", "json"]);
        if String::from_utf8_lossy(&out.stderr).contains("defines no host") {
            say!("{file}: no host (a file for including), not tested");
            continue;
        }
        let report = json_of(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {report:#}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(report["passed"], true, "{file}");
        for e in expectations(&report) {
            let probes = e["probes"].as_array().expect("probes");
            assert!(!probes.is_empty(), "{file}: no probe for {e:#}");
            assert!(probes
                .iter()
                .all(|p| p["held"] == true && p["agrees"] == true));
            proven += 1;
        }
    }
    assert!(proven >= 10, "only {proven} expectations in the examples");
}

/// The fixture's expectations cover input (with `on`, ranges, negated nets, a rate limit),
/// output and forward; each is probed and holds, in both renderings of the ruleset.
fn expectations_on_every_path_hold() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("lab.json");
    let out = portcullis(&[
        "compile",
        EVERY_PATH,
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    for extra in [vec![], vec!["--ruleset", json.to_str().unwrap()]] {
        let mut args = vec!["test", EVERY_PATH, "--format", "json"];
        args.extend(&extra);
        let out = portcullis(&args);
        let report = json_of(&out);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {report:#}");
        let all = expectations(&report);
        assert_eq!(all.len(), 11);
        for chain in ["input", "output", "forward"] {
            assert!(
                all.iter().any(|e| e["chain"] == chain),
                "no {chain} expectation"
            );
        }
        for e in &all {
            assert!(!e["probes"].as_array().unwrap().is_empty(), "{e:#}");
        }
        // `on eth1` is probed over a link of that name, `on !eth1, !lo` over another.
        let probes_of = |line: &str| -> Vec<String> {
            all.iter()
                .find(|e| e["location"].as_str().unwrap().ends_with(line))
                .unwrap_or_else(|| panic!("no expectation at {line}"))["probes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["probe"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(probes_of(":16").iter().all(|p| p.ends_with(" on eth1")));
        assert!(probes_of(":17").iter().all(|p| !p.ends_with(" on eth1")));
        // The range's edges are probed, from inside the net and from just outside it.
        let range = probes_of(":19").join("\n");
        for needle in [
            "tcp/8000 ",
            "tcp/8049 ",
            "from 192.0.2.0 ",
            "from 192.0.2.15 ",
        ] {
            assert!(range.contains(needle), "{needle} not probed:\n{range}");
        }
        let outside = probes_of(":20").join("\n");
        assert!(outside.contains("from 192.0.2.16 "), "{outside}");
    }
}

/// A ruleset edited after compiling (a reject turned into an accept, a port dropped from a set)
/// is caught: loudly, as a disagreement of kernel and model, with exit 1 and JUnit failures.
fn an_edited_ruleset_is_caught() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let nft = dir.path().join("lab.nft");
    let out = portcullis(&["compile", EVERY_PATH, "-o", nft.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&nft).unwrap();
    let edited = text.replace("8050 : goto reject_packet", "8050 : accept");
    assert_ne!(edited, text, "the ruleset has the reject to edit:\n{text}");
    let broken = dir.path().join("broken.nft");
    std::fs::write(&broken, edited).unwrap();

    let args = ["test", EVERY_PATH, "--ruleset", broken.to_str().unwrap()];
    let out = portcullis(&[&args[..], &["--format", "json"]].concat());
    let report = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["passed"], false);
    let failed: Vec<&Value> = expectations(&report)
        .into_iter()
        .filter(|e| {
            e["probes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["agrees"] == false)
        })
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(
        failed[0]["statement"],
        "expect closed tcp/8050 from !admins"
    );

    let human = portcullis(&args);
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        stdout.contains("KERNEL AND MODEL DISAGREE: tcp/8050"),
        "{stdout}"
    );
    assert!(stdout.contains("bug in portcullis"), "{stdout}");

    let junit = portcullis(&[&args[..], &["--format", "junit"]].concat());
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert_eq!(junit.status.code(), Some(1));
    assert_eq!(xml.matches("<testcase ").count(), 11, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("tests=\"11\" failures=\"1\""), "{xml}");
}

/// With failed-expectation silenced, the policy compiles although it breaks an expectation:
/// the kernel agrees with the model, and the probes that break it are shown as such.
fn a_policy_that_breaks_its_expectation_fails_in_the_kernel_too() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("p.pcl");
    std::fs::write(
        &file,
        "host h {\n  input drop {\n    allow ssh\n    expect closed ssh\n  }\n}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let refused = portcullis(&["test", file]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not tested"));

    let out = portcullis(&["test", file, "--ignore", "failed-expectation"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("breaks it: tcp/22"), "{stdout}");
    assert!(!stdout.contains("DISAGREE"), "{stdout}");
}

fn without_root_it_says_so() {
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            PORTCULLIS,
        ])
        .args(["test", Path::new(EVERY_PATH).to_str().unwrap()])
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(out.stdout.is_empty());
}

super::trials::tests! {
    Kernel: every_example_keeps_its_expectations_in_the_kernel,
        expectations_on_every_path_hold,
        an_edited_ruleset_is_caught,
        a_policy_that_breaks_its_expectation_fails_in_the_kernel_too,
        without_root_it_says_so;
}
