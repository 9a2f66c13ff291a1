//! ansible-core from PyPI, in a virtualenv under the target directory: made by the first run
//! that needs it and reused by the next, so only a first run (or a `cargo clean`) downloads it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What is installed: a release series that runs on Python 3.11 (Debian 12's) and later.
pub const REQUIREMENT: &str = "ansible-core>=2.16,<2.20";

/// The virtualenv, in cargo's temporary directory for integration tests (`target/tmp`).
fn venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("ansible-core")
}

/// Written last, with the requirement, once the virtualenv is whole: a run interrupted while
/// installing leaves no marker, and the next one starts over.
fn marker() -> PathBuf {
    venv().join("portcullis-installed")
}

/// `ansible-playbook` of the virtualenv, installing it first if needed (once per process); `Err`
/// says why it cannot be had.
pub fn ansible_playbook() -> Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(install).clone()
}

/// The virtualenv's Python, which the "hosts" of the fleet test run Ansible's modules with.
pub fn python() -> PathBuf {
    venv().join("bin/python3")
}

fn install() -> Result<PathBuf, String> {
    let playbook = venv().join("bin/ansible-playbook");
    let ready = std::fs::read_to_string(marker()).is_ok_and(|m| m.trim() == REQUIREMENT);
    if ready && works(&playbook).is_ok() {
        return Ok(playbook);
    }
    let _ = std::fs::remove_dir_all(venv());
    let dir = venv().display().to_string();
    run("python3", &["-m", "venv", &dir], "python3 -m venv")?;
    let pip = venv().join("bin/pip").display().to_string();
    run(
        &pip,
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            REQUIREMENT,
        ],
        &format!("pip install '{REQUIREMENT}'"),
    )?;
    works(&playbook)?;
    std::fs::write(marker(), REQUIREMENT).map_err(|e| format!("{}: {e}", marker().display()))?;
    Ok(playbook)
}

fn works(playbook: &Path) -> Result<(), String> {
    run(
        &playbook.display().to_string(),
        &["--version"],
        "ansible-playbook --version",
    )
}

fn run(program: &str, args: &[&str], what: &str) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = stderr.lines().rev().take(3).collect();
    Err(format!(
        "`{what}` failed ({}): {}",
        out.status,
        last.into_iter().rev().collect::<Vec<_>>().join(" | ")
    ))
}
