//! Whether this machine can run kernel tests: root, `ip` and `nft`, and network namespaces. The
//! one rule for what happens when it cannot is [`machine`]: the kernel tests are reported as
//! ignored, with one line that says why, except on CI (`CI=true` or `CI=1`), where a skipped
//! proof is a failed proof and the run fails with the reason. The fleet tests need more (sshd,
//! ssh and ansible-core, [`fleet`]) under the same rule.

use std::process::Command;
use std::sync::OnceLock;

use portcullis::nft::Nft;

/// What this machine does with the kernel tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Machine {
    /// They run.
    Ready,
    /// They cannot run here and this is not CI: they are ignored, and this line says why.
    Ignore(String),
    /// They cannot run here and this is CI: the run fails with this message.
    Fail(String),
}

/// Looks at the machine (once per process) and applies the rule.
pub fn machine() -> Machine {
    match availability() {
        Ok(()) => Machine::Ready,
        Err(reason) if on_ci() => Machine::Fail(format!(
            "the kernel tests cannot run on CI: {reason} (they need root, ip and nft); \
             on CI a skipped kernel test is a failed one"
        )),
        Err(reason) => Machine::Ignore(format!(
            "kernel tests ignored: {reason} (needs root, ip and nft)"
        )),
    }
}

/// Whether a kernel test can run here, for one run anyway (`--ignored`, `--include-ignored`): the
/// test's failure if it cannot.
pub fn require() -> Result<(), String> {
    availability().map_err(|reason| {
        format!("cannot run a kernel test here: {reason} (needs root, ip and nft)")
    })
}

/// The rule applied to the fleet tests, which need the kernel tests' machine and also sshd,
/// ssh and ansible-core (installed into a virtualenv by the first run, [`super::ansible`]).
/// Called only on a machine that can run kernel tests.
pub fn fleet() -> Machine {
    match fleet_availability() {
        Ok(()) => Machine::Ready,
        Err(reason) if on_ci() => Machine::Fail(format!(
            "the fleet tests cannot run on CI: {reason} (tools/test installs openssh-server and \
             python3-venv; ansible-core comes from PyPI); on CI a skipped test is a failed one"
        )),
        Err(reason) => Machine::Ignore(format!(
            "fleet tests ignored: {reason} (they need sshd, ssh and ansible-core from PyPI)"
        )),
    }
}

/// Whether a fleet test can run here, for one run anyway: the test's failure if it cannot.
pub fn require_fleet() -> Result<(), String> {
    require()?;
    fleet_availability().map_err(|reason| format!("cannot run a fleet test here: {reason}"))
}

fn fleet_availability() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE.get_or_init(probe_fleet).clone()
}

fn probe_fleet() -> Result<(), String> {
    if !std::path::Path::new(SSHD).exists() {
        return Err(format!("{SSHD} is not installed (Debian's openssh-server)"));
    }
    for program in ["ssh", "ssh-keygen"] {
        Command::new(program)
            .arg("-?")
            .output()
            .map_err(|e| format!("`{program}` cannot run ({e})"))?;
    }
    super::ansible::ansible_playbook().map(drop)
}

/// The OpenSSH server the fleet tests start in each host's namespace.
pub const SSHD: &str = "/usr/sbin/sshd";

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
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "`ip -V` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
        Err(e) => return Err(format!("`ip` is not installed ({e})")),
    }
    Nft::from_env().version().map_err(|e| e.to_string())?;
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
    let listed = Nft::from_env().in_netns(&name).list_ruleset_json();
    let _ = Command::new("ip").args(["netns", "del", &name]).status();
    listed
        .map(drop)
        .map_err(|e| format!("nftables does not work in a network namespace: {e}"))
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
