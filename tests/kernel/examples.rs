//! Every example policy, every host in it: compiled, loaded (as `nft -f` text and as JSON), and
//! probed on every port it mentions from inside and outside every net it names.

use std::path::PathBuf;

use super::ruleset::{self, Format};
use super::scenario::{try_verify_host, PolicyCase};
use super::trials::say;

fn example_files() -> Vec<PathBuf> {
    // Relative to the package root, where cargo runs tests: messages show `examples/web.pcl`.
    let dir = PathBuf::from("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcl"))
        .collect();
    files.sort();
    files
}

fn every_example_host_does_what_its_policy_says() {
    let files = example_files();
    assert!(!files.is_empty(), "no examples/*.pcl found");
    let mut failures = Vec::new();
    let mut verified = 0;
    for file in &files {
        let case = PolicyCase::from_file(file);
        for host in &case.checked.policy.hosts {
            // Hosts the compiler refuses are not this test's concern (the compile tests say
            // why); everything it accepts must behave.
            if let Err(e) = ruleset::compile(&case.checked.policy, host) {
                say!(
                    "note: {}: host `{}` does not compile, not probed: {e}",
                    case.label,
                    host.display_name()
                );
                continue;
            }
            for format in [Format::Nft, Format::Json] {
                match try_verify_host(&case, host, format) {
                    Ok(v) => {
                        verified += 1;
                        say!("{}", v.summary);
                    }
                    Err(message) => failures.push(message),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} example host(s) misbehave:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(verified > 0, "no example host compiled");
}

super::trials::tests! {
    Kernel: every_example_host_does_what_its_policy_says;
}
