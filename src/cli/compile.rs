//! `portcullis compile` (being written).

use super::arguments::{Arguments, CompileArgs};
use super::output::{Outcome, Output};

pub fn run(_cmd: &CompileArgs, _args: &Arguments, _out: &mut Output) -> Result<Outcome, String> {
    Err("`compile` is not available yet".to_string())
}
