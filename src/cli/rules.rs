//! `portcullis rules` and `portcullis rule NAME`.

use super::arguments::{RuleArgs, RulesArgs};
use super::error::CliError;
use super::output::{DataFormat, Outcome, Output};
use crate::lint;

pub fn list(cmd: &RulesArgs, out: &mut Output) -> Result<Outcome, CliError> {
    match cmd.format {
        DataFormat::Json => {
            let rules: Vec<_> = lint::rules::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name,
                        "code": r.code,
                        "category": r.category,
                        "default_level": r.default_level,
                        "summary": r.summary,
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&rules)?;
            out.print(&text);
            out.print("\n");
        }
        _ => {
            let width = lint::rules::ALL
                .iter()
                .map(|r| r.name.len())
                .max()
                .unwrap_or(0);
            for r in lint::rules::ALL {
                out.print(&format!(
                    "{}  {:<width$}  {:<7}  {}\n",
                    r.code,
                    r.name,
                    r.default_level.as_str(),
                    r.summary
                ));
            }
        }
    }
    Ok(Outcome::Clean)
}

pub fn show(cmd: &RuleArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let rule = lint::find(&cmd.name).ok_or_else(|| super::project::unknown_rule(&cmd.name))?;
    out.print(&lint::docs_markdown(rule));
    Ok(Outcome::Clean)
}
