//! Loading one policy file with its settings, for the commands that act on a single policy.

use super::arguments::Arguments;
use crate::config::Settings;
use crate::lint::Levels;
use crate::model::Host;
use crate::pipeline::{self, Checked};
use std::path::Path;

/// Loads, resolves and lints `file` with `--config` or the configuration next to it.
pub fn load(file: &Path, args: &Arguments) -> Result<(Checked, Settings), String> {
    let settings =
        Settings::discover(args.config.as_deref(), Some(file)).map_err(|e| e.to_string())?;
    let levels = Levels::from_config(&settings.config.lint);
    let loaded = crate::load::load(file).map_err(|e| e.to_string())?;
    Ok((pipeline::check(loaded, &settings, &levels), settings))
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
