//! `portcullis confirm`: keep what the last apply loaded.

use super::arguments::StateArgs;
use super::error::CliError;
use super::output::{Outcome, Output};
use crate::deploy::state::StateDir;
use crate::deploy::{self, applies, clock, ConfirmReport};

pub fn run(cmd: &StateArgs, out: &mut Output) -> Result<Outcome, CliError> {
    deploy::require_net_admin("confirm")?;
    let path = StateDir::choose(cmd.state_dir.as_deref());
    let Some(state) = StateDir::existing(&path)? else {
        // Most often the apply used another state directory (`sudo` drops PORTCULLIS_STATE_DIR):
        // a rollback may be pending there, so this is no success.
        out.note(&format!(
            "nothing to confirm: nothing was ever applied with the state directory `{}`; if the \
             apply used `--state-dir` or PORTCULLIS_STATE_DIR (which sudo drops), give the same \
             here",
            path.display()
        ));
        return Ok(Outcome::Findings);
    };
    let text = match deploy::confirm(&state)? {
        ConfirmReport::Confirmed { applied, due } => format!(
            "confirmed apply #{} of {}{}: the rollback due at {} is cancelled, and this is now \
             the boot ruleset\n",
            applied.generation,
            applied.source,
            deploy::host_note(applied.host.as_deref()),
            clock::format(due)
        ),
        ConfirmReport::NothingPending { applied: Some(a) } => format!(
            "nothing to confirm: apply #{} ({}) {}\n",
            a.generation,
            a.source,
            match a.confirmed_at {
                Some(at) => format!("was confirmed at {}", clock::format(at)),
                None => "has no rollback pending".to_string(),
            }
        ),
        ConfirmReport::NothingPending { applied: None } => format!(
            "nothing to confirm: no apply is recorded in `{}`\n",
            state.path().display()
        ),
        ConfirmReport::RolledBack { rolled_back } => format!(
            "nothing to confirm: {} {} rolled back at {} by `portcullis rollback`\n",
            applies(rolled_back.first, rolled_back.generation),
            if rolled_back.first == rolled_back.generation {
                "was"
            } else {
                "were"
            },
            clock::format(rolled_back.at)
        ),
    };
    out.print(&text);
    Ok(Outcome::Clean)
}
