//! Starting and stopping what fires a pending rollback.
//!
//! Both kinds of guard run the same command when they fire, `portcullis rollback --due N
//! --state-dir DIR`, which waits for the deadline recorded for apply `N` and rolls back only if
//! that apply is still the pending one: a guard that is late, or whose apply was confirmed or
//! superseded, does nothing.
//!
//! - **systemd** (where PID 1 is systemd and this process is in its network namespace): a
//!   transient timer and service started with `systemd-run`. They belong to PID 1, not to the
//!   user's login session, so neither a killed process, a closed terminal nor logind's
//!   `KillUserProcesses=yes` stops them.
//! - **process** (elsewhere: containers, network namespaces, hosts without systemd): the same
//!   command started in a new session, with no controlling terminal and standard streams on
//!   `/dev/null`. A hang-up, or a signal to the applying process group or session, does not
//!   reach it; only the login session's cgroup being killed as a whole does, which is why
//!   systemd is preferred where it can be used.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::state::Guard;
use super::DeployError;

/// The environment variables that name `systemd-run` and `systemctl` (default: on the `PATH`).
pub const SYSTEMD_RUN_VAR: &str = "PORTCULLIS_SYSTEMD_RUN";
pub const SYSTEMCTL_VAR: &str = "PORTCULLIS_SYSTEMCTL";

/// Which guard to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// systemd where it can be used, a detached process elsewhere.
    Auto,
    Systemd,
    Process,
}

/// What a guard fires: the rollback of apply `generation`, `delay` from now.
#[derive(Debug, Clone)]
pub struct Firing {
    /// This program.
    pub program: PathBuf,
    /// Absolute.
    pub state_dir: PathBuf,
    pub generation: u64,
    pub delay: Duration,
}

impl Firing {
    /// The arguments of the rollback command.
    fn rollback_args(&self) -> Vec<String> {
        vec![
            "rollback".to_string(),
            "--due".to_string(),
            self.generation.to_string(),
            "--state-dir".to_string(),
            self.state_dir.display().to_string(),
        ]
    }

    /// The unit's name: unique per state directory and apply.
    fn unit(&self) -> String {
        format!(
            "portcullis-rollback-{}-{}",
            self.generation,
            super::clock::now()
        )
    }
}

/// Starts a guard of `kind`; `Auto` picks systemd where it can be used.
pub fn start(kind: Kind, firing: &Firing) -> Result<Guard, DeployError> {
    let systemd = match kind {
        Kind::Auto => systemd_usable(),
        Kind::Systemd => true,
        Kind::Process => false,
    };
    if systemd {
        start_systemd(firing)
    } else {
        start_process(firing)
    }
}

/// Stops a guard: best effort, because a guard that fires anyway finds nothing pending for it.
pub fn cancel(guard: &Guard) {
    match guard {
        Guard::Systemd { unit } => {
            let _ = Command::new(program(SYSTEMCTL_VAR, "systemctl"))
                .args(["stop", &format!("{unit}.timer"), &format!("{unit}.service")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        Guard::Process { pid } => {
            // Only a guard of ours: a pid reused since is left alone.
            if let (Ok(target), true) = (libc::pid_t::try_from(*pid), is_our_guard(*pid)) {
                // SAFETY: kill has no memory preconditions.
                unsafe { libc::kill(target, libc::SIGTERM) };
            }
        }
        Guard::None => {}
    }
}

/// Whether a process guard is still alive.
pub fn alive(guard: &Guard) -> Option<bool> {
    match guard {
        Guard::Process { pid } => Some(is_our_guard(*pid)),
        Guard::Systemd { .. } | Guard::None => None,
    }
}

/// Whether `pid` runs this program's rollback command.
fn is_our_guard(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        args.windows(2)
            .any(|w| w[0] == b"rollback" && w[1] == b"--due")
    })
}

fn program(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// systemd is PID 1 and this process shares its network namespace (a timer run by PID 1 acts
/// in PID 1's namespace).
fn systemd_usable() -> bool {
    let inode = |path: &str| std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Path::new("/run/systemd/system").is_dir()
        && inode("/proc/1/ns/net").is_some()
        && inode("/proc/1/ns/net") == inode("/proc/self/ns/net")
}

/// The `systemd-run` command that starts the timer.
pub fn systemd_run_command(firing: &Firing, unit: &str) -> Command {
    let mut command = Command::new(program(SYSTEMD_RUN_VAR, "systemd-run"));
    command
        .arg(format!("--unit={unit}"))
        .arg(format!(
            "--description=portcullis: roll back apply #{} unless confirmed",
            firing.generation
        ))
        .arg(format!("--on-active={}s", firing.delay.as_secs().max(1)))
        .arg("--timer-property=AccuracySec=1s")
        .arg("--collect")
        .arg("--quiet");
    // The guard runs the same nft this command does.
    if let Some(nft) = std::env::var_os(crate::nft::NFT_VAR).filter(|v| !v.is_empty()) {
        command.arg(format!(
            "--setenv={}={}",
            crate::nft::NFT_VAR,
            nft.to_string_lossy()
        ));
    }
    command
        .arg("--")
        .arg(&firing.program)
        .args(firing.rollback_args());
    command
}

fn start_systemd(firing: &Firing) -> Result<Guard, DeployError> {
    let unit = firing.unit();
    let out = systemd_run_command(firing, &unit)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            DeployError::Guard(format!(
                "cannot run systemd-run: {}",
                crate::fsio::reason(&e)
            ))
        })?;
    if !out.status.success() {
        return Err(DeployError::Guard(format!(
            "systemd-run failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(Guard::Systemd { unit })
}

fn start_process(firing: &Firing) -> Result<Guard, DeployError> {
    let mut command = Command::new(&firing.program);
    command
        .args(firing.rollback_args())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        DeployError::Guard(format!(
            "cannot start `{}`: {}",
            firing.program.display(),
            crate::fsio::reason(&e)
        ))
    })?;
    // The guard outlives this process; it is never waited for here, and init reaps it.
    let pid = child.id();
    drop(child);
    Ok(Guard::Process { pid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_runs_the_rollback_of_its_apply() {
        let firing = Firing {
            program: PathBuf::from("/usr/bin/portcullis"),
            state_dir: PathBuf::from("/var/lib/portcullis"),
            generation: 7,
            delay: Duration::from_secs(90),
        };
        let command = systemd_run_command(&firing, "portcullis-rollback-7-1");
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|a| !a.starts_with("--setenv="))
            .collect();
        assert_eq!(
            args,
            [
                "--unit=portcullis-rollback-7-1",
                "--description=portcullis: roll back apply #7 unless confirmed",
                "--on-active=90s",
                "--timer-property=AccuracySec=1s",
                "--collect",
                "--quiet",
                "--",
                "/usr/bin/portcullis",
                "rollback",
                "--due",
                "7",
                "--state-dir",
                "/var/lib/portcullis",
            ]
        );
    }
}
