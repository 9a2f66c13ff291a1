//! `portcullis rollback`: restore the table as it was before the last apply (before the first of
//! a series of unconfirmed ones). Rollback guards run it too, with `--due N`.

use super::arguments::RollbackArgs;
use super::error::CliError;
use super::output::{Outcome, Output};
use crate::deploy::state::StateDir;
use crate::deploy::{self, applies, clock, RollbackReport};
use crate::nft::Nft;

pub fn run(cmd: &RollbackArgs, out: &mut Output) -> Result<Outcome, CliError> {
    deploy::require_net_admin("rollback")?;
    let path = StateDir::choose(cmd.state.state_dir.as_deref());
    let Some(state) = StateDir::existing(&path)? else {
        out.print(&format!(
            "nothing to roll back: nothing was ever applied with `{}`\n",
            path.display()
        ));
        return Ok(Outcome::Clean);
    };
    let nft = Nft::from_env();
    let text = match deploy::rollback(&nft, &state, cmd.due)? {
        RollbackReport::RolledBack {
            first,
            generation,
            table,
            existed,
        } => format!(
            "rolled back {}: table inet {table} {}\n",
            applies(first, generation),
            match (existed, first == generation) {
                (true, true) => format!("is as it was before apply #{first}"),
                (true, false) =>
                    format!("is as it was before apply #{first}, the first that was not confirmed"),
                (false, _) => format!("is removed, as there was none before apply #{first}"),
            }
        ),
        RollbackReport::NothingToRollBack {
            applied,
            rolled_back,
        } => match (applied, rolled_back) {
            (applied, Some(rb))
                if applied
                    .as_ref()
                    .is_none_or(|a| a.generation < rb.generation) =>
            {
                format!(
                    "nothing to roll back: {} {} rolled back at {}{}; portcullis keeps one \
                     restore point\n",
                    applies(rb.first, rb.generation),
                    if rb.first == rb.generation {
                        "was"
                    } else {
                        "were"
                    },
                    clock::format(rb.at),
                    match applied {
                        Some(a) => format!(", and apply #{} is in place", a.generation),
                        None => String::new(),
                    }
                )
            }
            (Some(a), _) => format!(
                "nothing to roll back: apply #{} has no restore point\n",
                a.generation
            ),
            (None, _) => "nothing to roll back: no apply is recorded\n".to_string(),
        },
        RollbackReport::NotDue { generation } => {
            format!("apply #{generation} was confirmed or superseded: nothing to roll back\n")
        }
    };
    out.print(&text);
    Ok(Outcome::Clean)
}
