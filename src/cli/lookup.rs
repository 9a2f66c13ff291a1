//! `portcullis lookup QUERY`

use super::arguments::LookupArgs;
use super::error::CliError;
use super::output::{DataFormat, Outcome, Output};
use crate::registry;

pub fn run(cmd: &LookupArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let result = registry::lookup(&cmd.query)?;
    match cmd.format {
        DataFormat::Json => {
            let text = serde_json::to_string_pretty(&result)?;
            out.print(&text);
            out.print("\n");
        }
        _ => out.print(&result.to_string()),
    }
    Ok(Outcome::Clean)
}
