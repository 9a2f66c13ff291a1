//! `portcullis rollback`: restore the table as it was before the last apply. Rollback guards
//! run it too, with `--due N`.

use super::arguments::RollbackArgs;
use super::error::CliError;
use super::output::{Outcome, Output};
use crate::deploy::state::StateDir;
use crate::deploy::{self, RollbackReport};
use crate::nft::Nft;

pub fn run(cmd: &RollbackArgs, out: &mut Output) -> Result<Outcome, CliError> {
    deploy::require_net_admin("rollback")?;
    let path = StateDir::choose(cmd.state.state_dir.as_deref());
    let Some(state) = StateDir::existing(&path) else {
        out.print(&format!(
            "nothing to roll back: nothing was ever applied with `{}`\n",
            path.display()
        ));
        return Ok(Outcome::Clean);
    };
    let nft = Nft::from_env();
    let text = match deploy::rollback(&nft, &state, cmd.due)? {
        RollbackReport::RolledBack {
            generation,
            table,
            existed: true,
        } => {
            format!("rolled back apply #{generation}: table inet {table} is as it was before it\n")
        }
        RollbackReport::RolledBack {
            generation,
            table,
            existed: false,
        } => format!(
            "rolled back apply #{generation}: table inet {table} is removed, as there was none \
             before it\n"
        ),
        RollbackReport::NothingToRollBack => {
            "nothing to roll back: the last apply was rolled back already, or none is recorded\n"
                .to_string()
        }
        RollbackReport::NotDue { generation } => {
            format!("apply #{generation} was confirmed or superseded: nothing to roll back\n")
        }
    };
    out.print(&text);
    Ok(Outcome::Clean)
}
