//! Whether this machine can run kernel tests: root, `ip` and `nft`, and network namespaces.
//!
//! Without them a kernel test is skipped with a loud message, except on CI (`CI=true`), where a
//! skipped proof is a failed proof.

use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

/// Returns whether the calling test can go on. Call it first in every kernel test:
///
/// ```ignore
/// if !env::ready("kernel::constructs::reject_is_not_drop") { return; }
/// ```
pub fn ready(test: &str) -> bool {
    match availability() {
        Ok(()) => true,
        Err(reason) if on_ci() => {
            panic!("kernel test `{test}` cannot run on CI: {reason}; the kernel tests need root and nftables")
        }
        Err(reason) => {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED kernel test `{test}`: {reason} (needs root and nftables)"
            );
            false
        }
    }
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn availability() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE.get_or_init(probe_machine).clone()
}

fn probe_machine() -> Result<(), String> {
    if !is_root() {
        return Err("not running as root".to_string());
    }
    for (tool, arg) in [("ip", "-V"), ("nft", "--version")] {
        match Command::new(tool).arg(arg).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "`{tool} {arg}` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
            Err(e) => return Err(format!("`{tool}` is not installed ({e})")),
        }
    }
    remove_stale_namespaces();
    // Namespaces can be forbidden even to root (containers without CAP_SYS_ADMIN).
    let name = format!("pc-envcheck-{}", std::process::id());
    let added = Command::new("ip")
        .args(["netns", "add", &name])
        .output()
        .map_err(|e| e.to_string())?;
    if !added.status.success() {
        return Err(format!(
            "cannot create a network namespace: {}",
            String::from_utf8_lossy(&added.stderr).trim()
        ));
    }
    let nft = Command::new("ip")
        .args(["netns", "exec", &name, "nft", "list", "ruleset"])
        .output();
    let _ = Command::new("ip").args(["netns", "del", &name]).status();
    match nft {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "nftables does not work in a network namespace: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The effective user id from /proc, so that no extra nix feature is needed.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Deletes the namespaces of earlier runs that were killed before they could clean up (a test
/// binary stopped by a signal runs no destructors): `pc-ROLE-PID-N` whose process is gone.
fn remove_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let parts: Vec<&str> = name.split('-').collect();
        let ours = parts.len() == 4
            && parts[0] == "pc"
            && ["srv", "cli", "tgt"].contains(&parts[1])
            && parts[3].parse::<u64>().is_ok();
        let Some(pid) = parts.get(2).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        if ours && !alive {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}
