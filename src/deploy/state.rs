//! The state directory: what was applied, what a pending rollback restores, and the lock that
//! keeps two deploying commands apart.
//!
//! Every record is a whole file written atomically (a synced temporary file renamed over the
//! old one), so a crash leaves each record old or new, never torn. The records:
//!
//! - `applied.json` and `applied.nft`: the last apply (source, hash, time, user, generation) and
//!   the ruleset it loaded; `policy.json`: the policy's files as they were read, enough to
//!   resolve the policy again.
//! - `previous.json`: the table as it was before the apply that a rollback undoes (its `nft list`
//!   text, or that there was none), with the record of what was applied before.
//! - `pending.json`: a rollback that fires at a deadline unless `confirm` runs first, and the
//!   guard that fires it.
//! - `boot.nft`: the last confirmed ruleset, which the boot unit loads.
//! - `rolled-back.json`: the last rollback (which applies it undid, when, and whether a deadline
//!   fired it), so that a late `confirm` can say what happened.
//! - `generation`: the number of the last apply started, so that numbers never repeat.
//! - `lock`: held (`flock`) by the command that changes anything; its text is the holder's pid.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::DeployError;
use crate::fsio;

/// The default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/portcullis";

/// The environment variable that overrides the default state directory.
pub const DIR_VAR: &str = "PORTCULLIS_STATE_DIR";

/// The last confirmed ruleset, which the boot unit (`examples/systemd/`) loads.
pub const BOOT_RULESET: &str = "boot.nft";

/// Records larger than this are not state files portcullis wrote.
const MAX_RECORD: u64 = 64 * 1024 * 1024;

/// What an apply recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Counts applies: a guard acts only for the apply that started it.
    pub generation: u64,
    /// The policy file as given on the command line, made absolute.
    pub source: String,
    /// SHA-256 of the policy file's bytes, in hex.
    pub sha256: String,
    /// The host of the policy that was compiled, when it has a name.
    pub host: Option<String>,
    /// The table the ruleset replaces.
    pub table: String,
    /// Seconds since the Unix epoch.
    pub applied_at: u64,
    /// Who applied it: the login name, and the user sudo was run by.
    pub user: String,
    /// When it was confirmed; `None` while a rollback is pending.
    pub confirmed_at: Option<u64>,
}

/// The table as it was before an apply, or before a series of unconfirmed applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// The last apply this undoes.
    pub generation: u64,
    /// The first apply this undoes: the first of a series of unconfirmed applies, else
    /// `generation`.
    pub first: u64,
    pub table: String,
    /// `nft list table` of the table, or `None` when there was no table.
    pub listing: Option<String>,
    /// What `applied.json` said before the apply, if anything.
    pub applied: Option<Applied>,
    /// The ruleset `applied.nft` held before the apply.
    pub applied_ruleset: Option<String>,
    /// What `boot.nft` held before the apply (`None`: there was none); a rollback of a confirmed
    /// apply puts it back.
    #[serde(default)]
    pub boot: Option<String>,
}

/// A rollback waiting for its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub generation: u64,
    /// Seconds since the Unix epoch.
    pub deadline: u64,
    pub guard: Guard,
}

/// The last rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The applies it undid, `first` to `generation`.
    pub first: u64,
    pub generation: u64,
    pub table: String,
    /// Seconds since the Unix epoch.
    pub at: u64,
    /// Whether a guard fired it at a deadline (else `portcullis rollback` was run).
    pub by_deadline: bool,
}

/// What fires a pending rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Guard {
    /// A transient systemd timer and service, outside the applying user's session.
    Systemd { unit: String },
    /// A detached process in a session of its own.
    Process { pid: u32 },
    /// Not started yet (the apply was interrupted before it started one).
    None,
}

/// The policy's files as they were read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyFiles {
    pub files: Vec<PolicyFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyFile {
    pub name: String,
    pub text: String,
}

/// An open state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

/// The lock of a state directory, released when dropped (and when the process ends, however).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl StateDir {
    /// `--state-dir`, else `$PORTCULLIS_STATE_DIR`, else [`DEFAULT_DIR`]; made absolute (a
    /// guard runs from `/`, and messages name the directory whole).
    pub fn choose(given: Option<&Path>) -> PathBuf {
        let path = given.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::var_os(DIR_VAR)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from)
        });
        std::path::absolute(&path).unwrap_or(path)
    }

    /// Opens the directory, creating it (mode 0700) when it does not exist. An existing one must
    /// be a directory that belongs to this user and that no one else can write to: it holds the
    /// rulesets a rollback and the boot unit load as root. The directory is then known by its
    /// resolved path, so that a symbolic link changed later cannot redirect a guard.
    pub fn create(path: &Path) -> Result<StateDir, DeployError> {
        let refuse = |reason: String| DeployError::State {
            path: path.display().to_string(),
            reason,
        };
        match fs::metadata(path) {
            Ok(meta) => check_owned(&meta).map_err(refuse)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(|e| refuse(fsio::reason(&e)))?;
                // The umask may have taken bits away, never added them; 0700 exactly.
                fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                    .map_err(|e| refuse(fsio::reason(&e)))?;
            }
            Err(e) => return Err(refuse(fsio::reason(&e))),
        }
        Self::resolved(path)
    }

    /// Opens an existing directory; `None` when nothing is at `path` (nothing was ever applied
    /// with it). It must pass the checks of [`StateDir::create`].
    pub fn existing(path: &Path) -> Result<Option<StateDir>, DeployError> {
        match fs::metadata(path) {
            Ok(meta) => {
                check_owned(&meta).map_err(|reason| DeployError::State {
                    path: path.display().to_string(),
                    reason,
                })?;
                Self::resolved(path).map(Some)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DeployError::State {
                path: path.display().to_string(),
                reason: fsio::reason(&e),
            }),
        }
    }

    fn resolved(path: &Path) -> Result<StateDir, DeployError> {
        let path = fs::canonicalize(path).map_err(|e| DeployError::State {
            path: path.display().to_string(),
            reason: fsio::reason(&e),
        })?;
        Ok(StateDir { path })
    }

    /// The pid of the command that holds the lock now, if one does. Probes with a shared lock
    /// released at once, so a deployer starting at that instant may be refused (and changes
    /// nothing).
    pub fn lock_holder(&self) -> Option<String> {
        let file = File::open(self.file("lock")).ok()?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
        if free {
            return None;
        }
        let holder = fs::read_to_string(self.file("lock")).unwrap_or_default();
        Some(holder.trim().to_string())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Takes the lock, or says who holds it.
    pub fn lock(&self) -> Result<Lock, DeployError> {
        self.lock_with(libc::LOCK_EX | libc::LOCK_NB)
    }

    /// Takes the lock, waiting for it.
    pub fn lock_waiting(&self) -> Result<Lock, DeployError> {
        self.lock_with(libc::LOCK_EX)
    }

    fn lock_with(&self, operation: libc::c_int) -> Result<Lock, DeployError> {
        let path = self.file("lock");
        let fail = |e: io::Error| DeployError::State {
            path: path.display().to_string(),
            reason: fsio::reason(&e),
        };
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } != 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(DeployError::Locked {
                    path: self.path.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            return Err(fail(e));
        }
        file.set_len(0).map_err(fail)?;
        write!(file, "{}", std::process::id()).map_err(fail)?;
        Ok(Lock { _file: file })
    }

    fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, DeployError> {
        let path = self.file(name);
        let bytes = match fsio::read_regular(&path, MAX_RECORD) {
            Ok(bytes) => bytes,
            Err(_) if missing(&path) => return Ok(None),
            Err(reason) => {
                return Err(DeployError::State {
                    path: path.display().to_string(),
                    reason,
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DeployError::State {
                path: path.display().to_string(),
                reason: format!("not a record portcullis wrote ({e})"),
            })
    }

    fn read_text(&self, name: &str) -> Result<Option<String>, DeployError> {
        let path = self.file(name);
        match fsio::read_regular(&path, MAX_RECORD) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(_) if missing(&path) => Ok(None),
            Err(reason) => Err(DeployError::State {
                path: path.display().to_string(),
                reason,
            }),
        }
    }

    fn json<T: Serialize>(value: &T) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(value).expect("records serialise");
        text.push(b'\n');
        text
    }

    /// Writes files (name, contents) all or none.
    fn write(&self, files: &[(&str, &[u8])]) -> Result<(), DeployError> {
        let paths: Vec<PathBuf> = files.iter().map(|(name, _)| self.file(name)).collect();
        let staged: Vec<(&Path, &[u8])> = paths
            .iter()
            .zip(files)
            .map(|(path, (_, contents))| (path.as_path(), *contents))
            .collect();
        fsio::write_all_atomically(&staged).map_err(|e| DeployError::State {
            path: e.path,
            reason: e.reason,
        })
    }

    fn remove(&self, name: &str) -> Result<(), DeployError> {
        let path = self.file(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(DeployError::State {
                path: path.display().to_string(),
                reason: fsio::reason(&e),
            }),
            _ => Ok(()),
        }
    }

    pub fn applied(&self) -> Result<Option<Applied>, DeployError> {
        self.read("applied.json")
    }

    pub fn applied_ruleset(&self) -> Result<Option<String>, DeployError> {
        self.read_text("applied.nft")
    }

    pub fn previous(&self) -> Result<Option<Previous>, DeployError> {
        self.read("previous.json")
    }

    pub fn pending(&self) -> Result<Option<Pending>, DeployError> {
        self.read("pending.json")
    }

    pub fn boot_ruleset(&self) -> Result<Option<String>, DeployError> {
        self.read_text(BOOT_RULESET)
    }

    pub fn rolled_back(&self) -> Result<Option<RolledBack>, DeployError> {
        self.read("rolled-back.json")
    }

    /// The number of an apply that wrote its restore point but not its record: it was
    /// interrupted after it started to load (or while it loaded). What the table holds is then
    /// unknown to the state; a rollback restores it as it was before that apply.
    pub fn interrupted(&self) -> Result<Option<u64>, DeployError> {
        Ok(unrecorded(
            self.applied()?.as_ref(),
            self.previous()?.as_ref(),
        ))
    }

    /// Takes the number of the next apply: one more than any number used before, rolled back
    /// or not.
    pub fn next_generation(&self) -> Result<u64, DeployError> {
        let counted = match self.read_text("generation")? {
            Some(text) => text.trim().parse::<u64>().map_err(|_| DeployError::State {
                path: self.file("generation").display().to_string(),
                reason: "not a record portcullis wrote (a number)".to_string(),
            })?,
            None => 0,
        };
        let used = [
            self.applied()?.map(|a| a.generation),
            self.pending()?.map(|p| p.generation),
            self.previous()?.map(|p| p.generation),
            self.rolled_back()?.map(|r| r.generation),
        ];
        let next = used.into_iter().flatten().fold(counted, u64::max) + 1;
        self.write(&[("generation", format!("{next}\n").as_bytes())])?;
        Ok(next)
    }

    pub fn write_previous(&self, previous: &Previous) -> Result<(), DeployError> {
        self.write(&[("previous.json", &Self::json(previous))])
    }

    pub fn write_pending(&self, pending: &Pending) -> Result<(), DeployError> {
        self.write(&[("pending.json", &Self::json(pending))])
    }

    pub fn clear_pending(&self) -> Result<(), DeployError> {
        self.remove("pending.json")
    }

    /// Puts `previous.json` back as it was (`None`: there was none).
    pub fn restore_previous(&self, previous: Option<&Previous>) -> Result<(), DeployError> {
        match previous {
            Some(previous) => self.write_previous(previous),
            None => self.remove("previous.json"),
        }
    }

    /// Records an apply: its record, ruleset and policy, and, when it needs no confirmation,
    /// the boot ruleset.
    pub fn write_applied(
        &self,
        applied: &Applied,
        ruleset: &str,
        policy: &PolicyFiles,
    ) -> Result<(), DeployError> {
        let record = Self::json(applied);
        let policy = Self::json(policy);
        let mut files: Vec<(&str, &[u8])> = vec![
            ("applied.nft", ruleset.as_bytes()),
            ("policy.json", &policy),
            ("applied.json", &record),
        ];
        if applied.confirmed_at.is_some() {
            files.push((BOOT_RULESET, ruleset.as_bytes()));
        }
        self.write(&files)
    }

    /// Marks the applied record confirmed and makes its ruleset the boot ruleset.
    pub fn write_confirmed(&self, applied: &Applied, ruleset: &str) -> Result<(), DeployError> {
        self.write(&[
            (BOOT_RULESET, ruleset.as_bytes()),
            ("applied.json", &Self::json(applied)),
        ])
    }

    /// After a rollback: the records as they were before the applies it undid, and the record
    /// of the rollback itself; the restore point is used up.
    /// `boot`: `Some` to put the boot ruleset back as the restore point had it (`Some(None)`:
    /// there was none), `None` to leave it.
    pub fn write_restored(
        &self,
        previous: &Previous,
        rolled_back: &RolledBack,
        boot: Option<Option<&str>>,
    ) -> Result<(), DeployError> {
        let mut files: Vec<(&str, Vec<u8>)> = vec![("rolled-back.json", Self::json(rolled_back))];
        if let Some(applied) = &previous.applied {
            files.push(("applied.json", Self::json(applied)));
        }
        if let Some(ruleset) = &previous.applied_ruleset {
            files.push(("applied.nft", ruleset.clone().into_bytes()));
        }
        if let Some(Some(boot)) = boot {
            files.push((BOOT_RULESET, boot.as_bytes().to_vec()));
        }
        let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_slice())).collect();
        self.write(&borrowed)?;
        if let Some(None) = boot {
            self.remove(BOOT_RULESET)?;
        }
        if previous.applied.is_none() {
            self.remove("applied.json")?;
            self.remove("applied.nft")?;
            self.remove("policy.json")?;
        }
        self.remove("pending.json")?;
        self.remove("previous.json")
    }

    /// Appends a line to `log`: what guards did, for `status` and for whoever looks later.
    pub fn log(&self, line: &str) {
        let path = self.file("log");
        if let Ok(mut file) = File::options().create(true).append(true).open(path) {
            let _ = writeln!(file, "{} {line}", super::clock::format(super::clock::now()));
        }
    }

    /// The last lines of `log`.
    pub fn log_tail(&self, lines: usize) -> Vec<String> {
        let text = self.read_text("log").ok().flatten().unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
}

/// The apply whose restore point was written and whose record was not (see
/// [`StateDir::interrupted`]), from the two records.
pub fn unrecorded(applied: Option<&Applied>, previous: Option<&Previous>) -> Option<u64> {
    let recorded = applied.map_or(0, |a| a.generation);
    previous
        .map(|p| p.generation)
        .filter(|&generation| generation > recorded)
}

/// Why an existing state directory cannot be used, if it cannot.
fn check_owned(meta: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if !meta.is_dir() {
        return Err("it is not a directory".to_string());
    }
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(format!(
            "it belongs to uid {}, not to the user running portcullis (uid {euid}); \
             the rulesets in it are loaded as root, so it must be this user's own",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} can write to it (mode {mode:04o}); the rulesets in it are loaded as root, \
             so make it 0700 (`chmod 0700`)",
            match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "its group and others",
                (true, false) => "its group",
                _ => "others",
            }
        ));
    }
    Ok(())
}

/// Whether nothing is at `path` (and not merely unreadable).
fn missing(path: &Path) -> bool {
    fs::symlink_metadata(path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(generation: u64, confirmed: bool) -> Applied {
        Applied {
            generation,
            source: "/etc/portcullis/web.pcl".to_string(),
            sha256: "ab".repeat(32),
            host: Some("web-1".to_string()),
            table: "portcullis".to_string(),
            applied_at: 1_700_000_000,
            user: "root".to_string(),
            confirmed_at: confirmed.then_some(1_700_000_060),
        }
    }

    #[test]
    fn records_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(&dir.path().join("state")).unwrap();
        let mode = fs::metadata(state.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(state.applied().unwrap(), None);
        let policy = PolicyFiles { files: Vec::new() };
        state
            .write_applied(&applied(1, true), "table inet portcullis {}\n", &policy)
            .unwrap();
        assert_eq!(state.applied().unwrap(), Some(applied(1, true)));
        assert_eq!(
            state.boot_ruleset().unwrap().as_deref(),
            Some("table inet portcullis {}\n")
        );
        let pending = Pending {
            generation: 2,
            deadline: 1_700_000_090,
            guard: Guard::Process { pid: 42 },
        };
        state.write_pending(&pending).unwrap();
        assert_eq!(state.pending().unwrap(), Some(pending));
        state.clear_pending().unwrap();
        state.clear_pending().unwrap();
        assert_eq!(state.pending().unwrap(), None);
    }

    #[test]
    fn only_a_directory_of_ones_own_that_others_cannot_write_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let refusals = [
            StateDir::create(&file).unwrap_err(),
            StateDir::existing(&file).unwrap_err(),
        ];
        for err in refusals.map(|e| e.to_string()) {
            assert!(err.contains("is not a directory"), "{err}");
        }
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o775)).unwrap();
        let err = StateDir::create(&shared).unwrap_err().to_string();
        assert!(
            err.contains("its group can write to it (mode 0775)"),
            "{err}"
        );
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        StateDir::create(&shared).unwrap();
        let mode = fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "an existing directory keeps its mode");
        assert!(StateDir::existing(&dir.path().join("none"))
            .unwrap()
            .is_none());
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&shared, Some(65534), None).unwrap();
            let err = StateDir::create(&shared).unwrap_err().to_string();
            assert!(err.contains("belongs to uid 65534"), "{err}");
        }
    }

    #[test]
    fn numbers_are_never_reused_and_an_unrecorded_apply_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(&dir.path().join("state")).unwrap();
        assert_eq!(state.next_generation().unwrap(), 1);
        assert_eq!(state.next_generation().unwrap(), 2);
        let previous = Previous {
            generation: 3,
            first: 3,
            table: "portcullis".to_string(),
            listing: None,
            applied: None,
            applied_ruleset: None,
            boot: None,
        };
        state.write_previous(&previous).unwrap();
        assert_eq!(state.interrupted().unwrap(), Some(3));
        let policy = PolicyFiles { files: Vec::new() };
        state.write_applied(&applied(3, true), "", &policy).unwrap();
        assert_eq!(state.interrupted().unwrap(), None);
        let rolled_back = RolledBack {
            first: 3,
            generation: 3,
            table: "portcullis".to_string(),
            at: 1_700_000_100,
            by_deadline: false,
        };
        state.write_restored(&previous, &rolled_back, None).unwrap();
        assert_eq!(state.applied().unwrap(), None);
        assert_eq!(state.previous().unwrap(), None);
        assert_eq!(state.rolled_back().unwrap(), Some(rolled_back));
        fs::remove_file(dir.path().join("state/generation")).unwrap();
        assert_eq!(state.next_generation().unwrap(), 4);
    }

    #[test]
    fn the_boot_unit_loads_the_boot_ruleset() {
        let unit = include_str!("../../examples/systemd/portcullis-restore.service");
        let path = format!("{DEFAULT_DIR}/{BOOT_RULESET}");
        assert!(
            unit.contains(&format!("ExecStart=/usr/sbin/nft -f {path}\n")),
            "{unit}"
        );
        assert!(
            unit.contains(&format!("ConditionPathExists={path}\n")),
            "{unit}"
        );
        assert!(unit.contains("After=nftables.service\n"), "{unit}");
    }

    #[test]
    fn a_second_lock_is_refused_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(dir.path()).unwrap();
        let held = state.lock().unwrap();
        match state.lock() {
            Err(DeployError::Locked { holder, .. }) => {
                assert_eq!(holder, std::process::id().to_string())
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        state.lock().unwrap();
    }

    #[test]
    fn a_record_that_is_not_ours_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(dir.path()).unwrap();
        fs::write(dir.path().join("pending.json"), "{not json").unwrap();
        let err = state.pending().unwrap_err().to_string();
        assert!(
            err.contains("pending.json") && err.contains("not a record"),
            "{err}"
        );
    }
}
