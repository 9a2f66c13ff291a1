//! What `apply`, `confirm`, `rollback` and `status` do, in the order that keeps every crash
//! recoverable: the restore point is written before anything is loaded, and the guard is started
//! before the new ruleset is, so a process killed at any point leaves either the old table or a
//! guard that will bring it back.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::clock;
use super::drift::{self, Comparison};
use super::guard::{self, Firing, Kind};
use super::state::{Applied, Guard, Pending, PolicyFiles, Previous, RolledBack, StateDir};
use super::DeployError;
use crate::nft::Nft;

/// What `apply` is asked to do.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The compiled ruleset (an `nft -f` script that replaces the table whole).
    pub ruleset: String,
    pub table: String,
    pub host: Option<String>,
    /// The policy file, absolute, and its bytes.
    pub source: String,
    pub source_bytes: Vec<u8>,
    pub policy: PolicyFiles,
    /// Roll back unless confirmed within this long.
    pub confirm_within: Option<Duration>,
    pub guard: Kind,
    /// This program, for the guard to run.
    pub program: PathBuf,
    /// Replace the table even when the state has no record of loading it.
    pub take_over: bool,
}

/// What `apply` did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub applied: Applied,
    /// The rollback now pending, if any.
    pub pending: Option<Pending>,
    /// Whether the table existed before.
    pub replaced: bool,
    /// The table the apply before loaded, when it was another one: it stays in place.
    pub left_behind: Option<String>,
    /// The first apply the pending rollback undoes: earlier than this one when this apply
    /// extends a series of unconfirmed ones.
    pub first: u64,
}

/// What `apply --dry-run` found.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// The live table against the last apply, when there was one.
    pub drift: Option<Comparison>,
    /// The lines of the live table's listing that the apply would remove (`-`) and add (`+`);
    /// `None` when the table does not exist yet.
    pub changes: Option<Vec<String>>,
}

/// What `confirm` did.
#[derive(Debug, Clone)]
pub enum ConfirmReport {
    Confirmed {
        applied: Applied,
        due: u64,
    },
    NothingPending {
        applied: Option<Applied>,
    },
    /// `portcullis rollback` undid the last apply; nothing is pending.
    RolledBack {
        rolled_back: RolledBack,
    },
}

/// What `rollback` did.
#[derive(Debug, Clone)]
pub enum RollbackReport {
    /// The table was restored (`existed`) or removed (there was none before the apply).
    RolledBack {
        /// The applies undone, `first` to `generation`.
        first: u64,
        generation: u64,
        table: String,
        existed: bool,
    },
    /// No restore point: nothing was applied, or the last rollback used it.
    NothingToRollBack {
        applied: Option<Applied>,
        rolled_back: Option<RolledBack>,
    },
    /// A guard's rollback found its apply no longer pending.
    NotDue { generation: u64 },
}

/// What `status` found.
#[derive(Debug, Clone)]
pub struct Status {
    pub state_dir: String,
    pub applied: Option<Applied>,
    pub pending: Option<Pending>,
    /// An apply that started to load but was not recorded (and is not running now).
    pub interrupted: Option<u64>,
    /// The pid of a deploying command running now.
    pub in_progress: Option<String>,
    /// The first apply the pending rollback undoes (the first of an unconfirmed series).
    pub pending_first: Option<u64>,
    pub rolled_back: Option<RolledBack>,
    /// Whether a process guard is still alive (`None` for systemd or no guard).
    pub guard_alive: Option<bool>,
    /// The live table against the last apply; `Err` says why it could not be compared.
    pub live: Option<Result<Comparison, String>>,
    /// The last lines of the state directory's log.
    pub log: Vec<String>,
}

/// Whether a saved listing is one table, `table inet TABLE { ... }`, and nothing else (braces
/// inside quoted strings do not count): a restore point that says more is not one portcullis
/// wrote, and loading it could touch other tables.
fn only_table(listing: &str, table: &str) -> bool {
    let header = format!("table inet {table} {{");
    let (mut depth, mut tables) = (0i64, 0);
    for line in listing.lines() {
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if depth == 0 {
            if text != header {
                return false;
            }
            tables += 1;
        }
        let (mut quoted, mut escaped) = (false, false);
        for c in text.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '{' if !quoted => depth += 1,
                '}' if !quoted => depth -= 1,
                _ => {}
            }
        }
        if depth < 0 {
            return false;
        }
    }
    tables == 1 && depth == 0
}

/// The script that puts `table` back as `listing` shows it, or removes it when `None`: one
/// transaction, which touches no other table.
fn restore_script(table: &str, listing: Option<&str>) -> String {
    let mut script = format!("table inet {table} {{}}\ndelete table inet {table}\n");
    if let Some(listing) = listing {
        script.push_str(listing);
    }
    script
}

fn user() -> String {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let login = var("USER")
        .or_else(|| var("LOGNAME"))
        // SAFETY: geteuid cannot fail.
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::geteuid() }));
    match var("SUDO_USER") {
        Some(by) if by != login => format!("{login} (sudo by {by})"),
        _ => login,
    }
}

/// Applies a ruleset: validates it, records the restore point, starts the guard when a
/// confirmation is asked for, loads it, and records what was applied.
pub fn apply(
    nft: &Nft,
    state: &StateDir,
    request: &ApplyRequest,
) -> Result<ApplyReport, DeployError> {
    let _lock = state.lock()?;
    nft.check(&request.ruleset, false)?;
    let before = state.applied()?;
    let pending_before = state.pending()?;
    let previous_before = state.previous()?;
    let interrupted = super::state::unrecorded(before.as_ref(), previous_before.as_ref());
    let unfinished = pending_before.is_some() || interrupted.is_some();
    if let (true, Some(previous)) = (unfinished, &previous_before) {
        if previous.table != request.table {
            return Err(DeployError::OtherTablePending {
                generation: previous.generation,
                pending: previous.table.clone(),
                table: request.table.clone(),
            });
        }
    }
    let live = nft.table(&request.table, false, false)?;
    let replaced = live.is_some();
    let recorded = |table: &str| {
        before.as_ref().is_some_and(|a| a.table == table)
            || previous_before.as_ref().is_some_and(|p| p.table == table)
    };
    if replaced && !request.take_over && !recorded(&request.table) {
        return Err(DeployError::NotOurs {
            table: request.table.clone(),
            state: state.path().display().to_string(),
        });
    }
    let generation = state.next_generation()?;
    // A series of unconfirmed (or interrupted) applies rolls back to the state before the
    // first of them.
    let previous = match (unfinished, &previous_before) {
        (true, Some(previous)) => Previous {
            generation,
            ..previous.clone()
        },
        _ => Previous {
            generation,
            first: generation,
            table: request.table.clone(),
            listing: live,
            applied: before.clone(),
            applied_ruleset: state.applied_ruleset()?,
            boot: state.boot_ruleset()?,
        },
    };
    state.write_previous(&previous)?;

    let pending = match request.confirm_within {
        Some(within) => match arm(state, request, generation, within) {
            Ok(pending) => Some(pending),
            Err(e) => {
                state.restore_previous(previous_before.as_ref())?;
                return Err(e);
            }
        },
        None => None,
    };
    if let Err(e) = nft.load(&request.ruleset, false) {
        // Nothing was loaded: the records go back to what they were before this apply.
        if let Some(pending) = &pending {
            guard::cancel(&pending.guard);
        }
        match &pending_before {
            Some(p) => state.write_pending(p)?,
            None => state.clear_pending()?,
        }
        state.restore_previous(previous_before.as_ref())?;
        state.log(&format!("apply #{generation}: nft refused the ruleset"));
        return Err(match e {
            crate::nft::NftError::Refused { message } => DeployError::LoadRefused(message),
            other => other.into(),
        });
    }
    let now = clock::now();
    let applied = Applied {
        generation,
        source: request.source.clone(),
        sha256: hex(&Sha256::digest(&request.source_bytes)),
        host: request.host.clone(),
        table: request.table.clone(),
        applied_at: now,
        user: user(),
        confirmed_at: pending.is_none().then_some(now),
    };
    state.write_applied(&applied, &request.ruleset, &request.policy)?;
    // An earlier unconfirmed apply's guard has nothing left to do.
    if let Some(p) = &pending_before {
        guard::cancel(&p.guard);
        if pending.is_none() {
            state.clear_pending()?;
        }
    }
    state.log(&format!(
        "apply #{generation}: {}{} by {}{}",
        applied.source,
        host_note(applied.host.as_deref()),
        applied.user,
        match &pending {
            Some(p) => format!(", rollback due {}", clock::format(p.deadline)),
            None => String::new(),
        }
    ));
    Ok(ApplyReport {
        applied,
        pending,
        replaced,
        left_behind: before
            .map(|b| b.table)
            .filter(|table| *table != request.table),
        first: previous.first,
    })
}

/// Records the pending rollback of apply `generation` and starts its guard.
fn arm(
    state: &StateDir,
    request: &ApplyRequest,
    generation: u64,
    within: Duration,
) -> Result<Pending, DeployError> {
    let mut pending = Pending {
        generation,
        deadline: clock::now() + within.as_secs().max(1),
        guard: Guard::None,
    };
    // Recorded before the guard starts, so the guard always finds it.
    state.write_pending(&pending)?;
    let firing = Firing {
        program: request.program.clone(),
        state_dir: state.path().to_path_buf(),
        generation,
        delay: within,
    };
    pending.guard = match guard::start(request.guard, &firing) {
        Ok(guard) => guard,
        Err(e) => {
            state.clear_pending()?;
            return Err(e);
        }
    };
    state.write_pending(&pending)?;
    Ok(pending)
}

/// What applying would change: the live table against the last apply (when it was to the same
/// table), and against the ruleset.
pub fn dry_run(
    nft: &Nft,
    state: Option<&StateDir>,
    table: &str,
    ruleset: &str,
) -> Result<DryRun, DeployError> {
    nft.check(ruleset, false)?;
    let last = match state {
        Some(state) if state.applied()?.is_some_and(|a| a.table == table) => {
            state.applied_ruleset()?
        }
        _ => None,
    };
    let drift = match last {
        Some(last) => Some(drift::compare(nft, table, &last)?),
        None => None,
    };
    let changes = match nft.table(table, false, true)? {
        Some(live) => Some(drift::changed_lines(
            &live,
            &drift::listing_of(nft, table, ruleset)?,
        )),
        None => None,
    };
    Ok(DryRun { drift, changes })
}

/// Cancels the pending rollback and makes the applied ruleset the boot ruleset. Changes nothing
/// unless it can do all of that.
pub fn confirm(state: &StateDir) -> Result<ConfirmReport, DeployError> {
    let _lock = state.lock()?;
    if let Some(generation) = state.interrupted()? {
        return Err(DeployError::Interrupted { generation });
    }
    let applied = state.applied()?;
    let Some(pending) = state.pending()? else {
        let recorded = applied.as_ref().map_or(0, |a| a.generation);
        return match state.rolled_back()? {
            Some(rolled_back) if rolled_back.generation > recorded => {
                if rolled_back.by_deadline {
                    Err(DeployError::RolledBackAtDeadline {
                        generation: rolled_back.generation,
                        first: rolled_back.first,
                        at: clock::format(rolled_back.at),
                    })
                } else {
                    Ok(ConfirmReport::RolledBack { rolled_back })
                }
            }
            _ => Ok(ConfirmReport::NothingPending { applied }),
        };
    };
    if clock::now() >= pending.deadline {
        return Err(DeployError::TooLate {
            due: clock::format(pending.deadline),
            generation: pending.generation,
        });
    }
    let mut applied = applied
        .filter(|a| a.generation == pending.generation)
        .ok_or(DeployError::Interrupted {
            generation: pending.generation,
        })?;
    let ruleset = state.applied_ruleset()?.ok_or_else(|| DeployError::State {
        path: state.path().display().to_string(),
        reason: "applied.nft, the ruleset of the last apply, is missing".to_string(),
    })?;
    applied.confirmed_at = Some(clock::now());
    state.write_confirmed(&applied, &ruleset)?;
    state.clear_pending()?;
    guard::cancel(&pending.guard);
    state.log(&format!("confirm #{}", applied.generation));
    Ok(ConfirmReport::Confirmed {
        applied,
        due: pending.deadline,
    })
}

/// Restores the table as it was before the last apply. `due`: run by a guard for apply `due`,
/// which first waits for its deadline and then acts only if that apply is still pending.
pub fn rollback(
    nft: &Nft,
    state: &StateDir,
    due: Option<u64>,
) -> Result<RollbackReport, DeployError> {
    let _lock = match due {
        Some(generation) => {
            if !wait_for_deadline(state, generation)? {
                return Ok(RollbackReport::NotDue { generation });
            }
            let lock = state.lock_waiting()?;
            // Confirmed while this waited for the lock.
            if state.pending()?.is_none_or(|p| p.generation != generation) {
                return Ok(RollbackReport::NotDue { generation });
            }
            lock
        }
        None => state.lock()?,
    };
    let Some(previous) = state.previous()? else {
        return Ok(RollbackReport::NothingToRollBack {
            applied: state.applied()?,
            rolled_back: state.rolled_back()?,
        });
    };
    if let Some(listing) = &previous.listing {
        if !only_table(listing, &previous.table) {
            return Err(DeployError::State {
                path: state.path().join("previous.json").display().to_string(),
                reason: format!(
                    "the restore point holds more than table inet {}; portcullis did not write \
                     it, and does not load it",
                    previous.table
                ),
            });
        }
    }
    let script = restore_script(&previous.table, previous.listing.as_deref());
    let mut attempt = 0;
    loop {
        match nft.load(&script, false) {
            Ok(()) => break,
            // A guard has no one to tell: it tries again, then leaves its record for `status`.
            Err(e) if due.is_some() && attempt < 4 => {
                state.log(&format!("rollback: nft refused ({e}); trying again"));
                attempt += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => {
                state.log(&format!("rollback failed: {e}"));
                return Err(e.into());
            }
        }
    }
    let pending = state.pending()?;
    // Undoing a confirmed apply changes what boots too: back to what booted before it.
    let undone_confirmed = state.applied()?.is_some_and(|a| a.confirmed_at.is_some());
    let boot = undone_confirmed.then_some(previous.boot.as_deref());
    let rolled_back = RolledBack {
        first: previous.first,
        generation: previous.generation,
        table: previous.table.clone(),
        at: clock::now(),
        by_deadline: due.is_some(),
    };
    state.write_restored(&previous, &rolled_back, boot)?;
    if due.is_none() {
        if let Some(p) = &pending {
            guard::cancel(&p.guard);
        }
    }
    state.log(&format!(
        "rollback of {}{}",
        applies(previous.first, previous.generation),
        if due.is_some() {
            " (deadline passed)"
        } else {
            ""
        }
    ));
    Ok(RollbackReport::RolledBack {
        first: previous.first,
        generation: previous.generation,
        table: previous.table,
        existed: previous.listing.is_some(),
    })
}

/// `apply #3`, or `applies #2 to #4` for a series.
pub fn applies(first: u64, last: u64) -> String {
    if first == last {
        format!("apply #{last}")
    } else {
        format!("applies #{first} to #{last}")
    }
}

/// Waits until apply `generation`'s deadline; `false` when it stops being pending first.
fn wait_for_deadline(state: &StateDir, generation: u64) -> Result<bool, DeployError> {
    loop {
        let Some(pending) = state.pending()?.filter(|p| p.generation == generation) else {
            return Ok(false);
        };
        let now = clock::now();
        if now >= pending.deadline {
            return Ok(true);
        }
        let left = Duration::from_secs(pending.deadline - now);
        std::thread::sleep(left.min(Duration::from_millis(500)));
    }
}

/// What is applied, what is pending, and whether the live table still matches. `compare`:
/// whether to compare the live table (it needs root and a scratch network namespace).
pub fn status(
    nft: &Nft,
    state: Option<&StateDir>,
    path: &str,
    compare: bool,
) -> Result<Status, DeployError> {
    let mut status = Status {
        state_dir: path.to_string(),
        applied: None,
        pending: None,
        interrupted: None,
        in_progress: None,
        pending_first: None,
        rolled_back: None,
        guard_alive: None,
        live: None,
        log: Vec::new(),
    };
    let Some(state) = state else {
        return Ok(status);
    };
    status.applied = state.applied()?;
    status.pending = state.pending()?;
    status.in_progress = state.lock_holder();
    // A running apply has not recorded its load yet: that is no interruption.
    if status.in_progress.is_none() {
        status.interrupted = state.interrupted()?;
    }
    status.pending_first = status
        .pending
        .as_ref()
        .and(state.previous()?)
        .map(|p| p.first);
    status.rolled_back = state.rolled_back()?;
    status.guard_alive = status.pending.as_ref().and_then(|p| guard::alive(&p.guard));
    status.log = state.log_tail(5);
    if let (true, Some(applied)) = (compare, &status.applied) {
        status.live = Some(match state.applied_ruleset() {
            Ok(Some(ruleset)) => {
                drift::compare(nft, &applied.table, &ruleset).map_err(|e| e.to_string())
            }
            Ok(None) => Err("the applied ruleset is missing from the state directory".into()),
            Err(e) => Err(e.to_string()),
        });
    }
    Ok(status)
}

/// ` (host NAME)`, or nothing for a policy's one unnamed host.
pub fn host_note(host: Option<&str>) -> String {
    host.map(|name| format!(" (host {name})"))
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_replaces_only_its_table() {
        assert_eq!(
            restore_script("portcullis", None),
            "table inet portcullis {}\ndelete table inet portcullis\n"
        );
        let listing = "table inet portcullis {\n\tchain input {\n\t}\n}\n";
        assert_eq!(
            restore_script("portcullis", Some(listing)),
            format!("table inet portcullis {{}}\ndelete table inet portcullis\n{listing}")
        );
    }

    #[test]
    fn a_restore_point_is_one_table_only() {
        let own = "table inet portcullis {\n\tchain input {\n\t\tlog prefix \"a}\" drop\n\t}\n}\n";
        assert!(only_table(own, "portcullis"));
        for foreign in [
            "table inet portcullis {\n}\ndelete table ip foreign\n",
            "table inet portcullis {\n}\ntable inet portcullis {\n}\n",
            "table ip foreign {\n}\n",
            "table inet portcullis {\n}\n}\nflush ruleset\n",
            "table inet portcullis {\n",
        ] {
            assert!(!only_table(foreign, "portcullis"), "{foreign}");
        }
    }

    #[test]
    fn hashes_are_hex() {
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
