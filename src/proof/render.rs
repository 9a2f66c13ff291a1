//! `portcullis test`'s reports: for people (human), for programs (JSON), and for CI systems that
//! show each expectation as a test case (JUnit XML).

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::{ExpectationProof, HostProof};

/// At most this many failing probes are spelled out per expectation.
const SHOWN: usize = 10;

/// What a disagreement between kernel and model means, said once per report.
pub const MISMATCH_MEANING: &str = "the kernel and the model disagree: the loaded ruleset does \
     not do what the policy says. If it came unchanged from `portcullis compile`, this is a bug \
     in portcullis; please report it with the policy and the ruleset.";

pub fn human(proofs: &[HostProof]) -> String {
    let mut out = String::new();
    let mut mismatched = false;
    for proof in proofs {
        let _ = writeln!(
            out,
            "host {}: {} expectation{}, {} probe{} through the kernel",
            proof.host,
            proof.expectations.len(),
            plural(proof.expectations.len()),
            proof.probe_count(),
            plural(proof.probe_count()),
        );
        for e in &proof.expectations {
            let status = if !e.passed() {
                "FAIL"
            } else if e.probes.is_empty() {
                "none"
            } else {
                "ok"
            };
            let _ = writeln!(
                out,
                "  {status:<4}  {}  {} ({} chain): {} of {} probe{} held",
                e.location,
                e.statement,
                e.chain,
                e.held(),
                e.probes.len(),
                plural(e.probes.len())
            );
            for p in e.mismatches().take(SHOWN) {
                mismatched = true;
                let _ = writeln!(
                    out,
                    "        KERNEL AND MODEL DISAGREE: {}\n          policy: {}\n          kernel: {}",
                    p.probe, p.model, p.kernel
                );
            }
            for p in e.broken().take(SHOWN) {
                let _ = writeln!(
                    out,
                    "        breaks it: {}\n          policy: {}\n          kernel: {}",
                    p.probe, p.model, p.kernel
                );
            }
            let failing = e.probes.iter().filter(|p| !(p.held && p.agrees)).count();
            let shown = e.mismatches().take(SHOWN).count() + e.broken().take(SHOWN).count();
            if failing > shown {
                let _ = writeln!(out, "        ... and {} more", failing - shown);
            }
            for part in &e.unprobed {
                let _ = writeln!(out, "        not probed (the model proves it): {part}");
            }
        }
    }
    if mismatched {
        let _ = writeln!(out, "\nerror: {MISMATCH_MEANING}");
    }
    let failed: usize = proofs
        .iter()
        .flat_map(|p| &p.expectations)
        .filter(|e| !e.passed())
        .count();
    let total: usize = proofs.iter().map(|p| p.expectations.len()).sum();
    if total == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "\n{} of {total} expectation{} held in the kernel",
        total - failed,
        plural(total)
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Whether every expectation held on every probe.
    passed: bool,
    hosts: &'a [HostProof],
}

pub fn json(proofs: &[HostProof]) -> String {
    let report = JsonReport {
        passed: proofs.iter().all(HostProof::passed),
        hosts: proofs,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("the report serialises");
    text.push('\n');
    text
}

/// One test suite per host, one test case per expectation.
pub fn junit(proofs: &[HostProof]) -> String {
    let mut report = Report::new("portcullis test");
    for proof in proofs {
        let mut suite = TestSuite::new(format!("host {}", proof.host));
        for e in &proof.expectations {
            suite.add_test_case(case(&proof.host, e));
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a report of plain strings serialises")
}

fn case(host: &str, e: &ExpectationProof) -> TestCase {
    let status = if e.passed() {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let mismatches = e.mismatches().count();
        let message = if mismatches > 0 {
            format!("{mismatches} probe(s): {MISMATCH_MEANING}")
        } else {
            format!(
                "{} of {} probes do not do what it expects",
                e.broken().count(),
                e.probes.len()
            )
        };
        status.set_message(message);
        let mut details = String::new();
        for p in e.probes.iter().filter(|p| !(p.held && p.agrees)) {
            let _ = writeln!(
                details,
                "{}\n  policy: {}\n  kernel: {}",
                p.probe, p.model, p.kernel
            );
        }
        status.set_description(details);
        status
    };
    let mut case = TestCase::new(format!("{} {}", e.location, e.statement), status);
    case.set_classname(format!("portcullis.{host}.{}", e.chain));
    let mut out = format!("{} probes, {} held\n", e.probes.len(), e.held());
    for part in &e.unprobed {
        let _ = writeln!(out, "not probed (the model proves it): {part}");
    }
    case.set_system_out(out);
    case
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
