//! Deploying a compiled ruleset on this host: `apply` with a rollback that fires unless
//! `confirm` runs first, `rollback`, `status` and drift.
//!
//! Only the table portcullis owns is ever changed, always in one `nft` transaction that
//! replaces it whole. Before an apply the table's `nft list` text is kept in the state directory
//! ([`state`]); a rollback loads it back, which restores the table exactly (counters included)
//! or removes it when there was none. A pending rollback is fired by a guard ([`guard`]) that
//! lives outside the applying process: a transient systemd timer where systemd runs this network
//! namespace, otherwise a process in a session of its own. Drift is found by loading the
//! recorded ruleset into a scratch network namespace and comparing both listings as JSON
//! ([`drift`]); the live ruleset is never parsed into the compiler's types.

pub mod clock;
pub mod drift;
pub mod guard;
mod operations;
mod privilege;
pub mod state;

pub use operations::{
    applies, apply, confirm, dry_run, host_note, rollback, status, ApplyReport, ApplyRequest,
    ConfirmReport, DryRun, RollbackReport, Status,
};
pub use privilege::require_net_admin;

use crate::nft::NftError;

/// Why a deploying command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{command} needs root or CAP_NET_ADMIN to change the firewall; run it with sudo")]
    NotPermitted { command: &'static str },
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error("cannot use the deploy state `{path}`: {reason}")]
    State { path: String, reason: String },
    #[error(
        "another portcullis command is deploying with `{path}` (pid {holder}); nothing was changed"
    )]
    Locked { path: String, holder: String },
    #[error("nft refused the ruleset, so nothing was changed: {0}")]
    LoadRefused(String),
    #[error(
        "cannot start the rollback guard, so nothing was changed: {0} (`--guard process` starts \
         one without systemd)"
    )]
    Guard(String),
    #[error("cannot use a scratch network namespace to compare rulesets: {0}")]
    Scratch(String),
    #[error(
        "too late to confirm: the rollback was due at {due}; it restores the table as it was \
         before apply #{generation} (run `portcullis rollback` to do it now, or apply again)"
    )]
    TooLate { due: String, generation: u64 },
    #[error(
        "too late to confirm: the deadline of apply #{generation} passed at {at}, and the table \
         was restored as it was before apply #{first}; apply again to load the policy (and confirm \
         in time)"
    )]
    RolledBackAtDeadline {
        generation: u64,
        first: u64,
        at: String,
    },
    #[error(
        "apply #{generation} was interrupted before it was recorded, so what the table holds is \
         unknown and there is nothing to confirm; run `portcullis rollback` to restore the table \
         as it was before it, or apply again"
    )]
    Interrupted { generation: u64 },
    #[error(
        "table inet {table} exists, and `{state}` has no record of portcullis loading it: apply \
         would replace it whole, so nothing was changed. Name another table (`compile.table` in \
         portcullis.yaml), or pass `--take-over` to replace it (what it holds now becomes the \
         restore point, and `portcullis rollback` brings it back)"
    )]
    NotOurs { table: String, state: String },
    #[error(
        "apply #{generation} to table inet {pending} is not confirmed yet; confirm it or roll it \
         back before applying to table inet {table}"
    )]
    OtherTablePending {
        generation: u64,
        pending: String,
        table: String,
    },
}
