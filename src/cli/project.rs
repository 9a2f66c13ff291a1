//! Loading one policy file with its settings, for the commands that act on a single policy.

use super::arguments::{Arguments, LevelArgs, StdinArgs};
use super::error::CliError;
use crate::config::Settings;
use crate::lint::{self, Level, Levels, LintRule};
use crate::model::Host;
use crate::pipeline::{self, Checked};
use std::path::Path;

/// The rules `--error`, `--warn` and `--ignore` name, in order, with their levels.
pub fn level_flags(flags: &LevelArgs) -> Result<Vec<(&'static LintRule, Level)>, String> {
    flags
        .ordered
        .iter()
        .map(|(name, level)| Ok((lint::find(name).ok_or_else(|| unknown_rule(name))?, *level)))
        .collect()
}

/// The error for a rule name or code that does not exist, with the closest name.
pub fn unknown_rule(name: &str) -> String {
    let names = lint::rules::ALL.iter().map(|r| r.name);
    match crate::registry::suggest(name, names) {
        Some(s) => format!("no lint rule is called `{name}`; did you mean `{s}`?"),
        None => format!("no lint rule is called `{name}`; `portcullis rules` lists them"),
    }
}

/// The levels of a run: the configuration's, then the command line's in order.
pub fn levels(settings: &Settings, flags: &[(&'static LintRule, Level)]) -> Levels {
    let mut levels = Levels::from_config(&settings.config.lint);
    for &(rule, level) in flags {
        levels.set(rule, level);
    }
    levels
}

/// Where the configuration of a policy argument is found from: the file, or for `-` its name.
pub fn anchor<'a>(file: &'a Path, stdin: &'a StdinArgs) -> &'a Path {
    if file == Path::new("-") {
        Path::new(&stdin.stdin_name)
    } else {
        file
    }
}

/// Loads, resolves and lints `file` (or standard input for `-`) with `--config` or the
/// configuration next to it, and the command line's levels.
pub fn load(
    file: &Path,
    stdin: &StdinArgs,
    flags: &LevelArgs,
    args: &Arguments,
) -> Result<(Checked, Settings), CliError> {
    let flags = level_flags(flags)?;
    let settings = Settings::discover(args.config.as_deref(), Some(anchor(file, stdin)))?;
    settings.check_rule_names(|name| lint::find(name).is_some())?;
    let levels = levels(&settings, &flags);
    let loaded = crate::load::load_argument(file, &stdin.stdin_name)?;
    Ok((pipeline::check(loaded, &settings, &levels), settings))
}

/// Loads and resolves `file` without linting it (see [`pipeline::resolve`]).
pub fn resolve(file: &Path, stdin: &StdinArgs, args: &Arguments) -> Result<Checked, CliError> {
    let settings = Settings::discover(args.config.as_deref(), Some(anchor(file, stdin)))?;
    let levels = levels(&settings, &[]);
    let loaded = crate::load::load_argument(file, &stdin.stdin_name)?;
    Ok(pipeline::resolve(loaded, &settings, &levels))
}

/// The host `--host` names, or the only host.
pub fn pick_host<'a>(checked: &'a Checked, name: Option<&str>) -> Result<&'a Host, String> {
    let hosts = &checked.policy.hosts;
    match name {
        Some(name) => hosts
            .iter()
            .find(|h| h.name.as_deref() == Some(name))
            .ok_or_else(|| {
                let names: Vec<&str> = hosts.iter().filter_map(|h| h.name.as_deref()).collect();
                match crate::registry::suggest(name, names.iter().copied()) {
                    Some(s) => format!("the policy has no host `{name}`; did you mean `{s}`?"),
                    None if names.is_empty() => format!(
                        "the policy has no host `{name}`: it describes a single unnamed host"
                    ),
                    None => format!(
                        "the policy has no host `{name}`; its hosts are {}",
                        names.join(", ")
                    ),
                }
            }),
        None => match hosts.as_slice() {
            [only] => Ok(only),
            [] => Err(
                "the policy defines no host: it has no chains, binds or port forwards".to_string(),
            ),
            many => Err(format!(
                "the policy has {} hosts; pick one with `--host` ({})",
                many.len(),
                many.iter()
                    .filter_map(|h| h.name.as_deref())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    }
}
