//! `portcullis audit FILE [--host NAME]`: the sockets listening on this machine against its
//! host's policy.

use super::arguments::{Arguments, AuditArgs};
use super::check;
use super::error::CliError;
use super::output::{Format, Outcome, Output};
use super::project;
use crate::config::Settings;
use crate::diagnostic::{self, Severity};
use crate::lint::{self, engine::Run};
use crate::model::Host;
use crate::pipeline::{self, Checked};

pub fn run(cmd: &AuditArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    let flags = project::level_flags(&cmd.levels)?;
    let file = project::anchor(&cmd.file, &cmd.stdin);
    let settings = Settings::discover(args.config.as_deref(), Some(file))?;
    settings.check_rule_names(|name| lint::find(name).is_some())?;
    let levels = project::levels(&settings, &flags);
    let loaded = crate::load::load_argument(&cmd.file, &cmd.stdin.stdin_name)?;
    // Only the front end: the lint rules are `check`'s. A policy that does not parse or resolve
    // has rules left out of its model, and would be audited as more open than it is.
    let mut checked = pipeline::resolve(loaded, &settings, &levels);
    if checked.has_errors() {
        return Err(CliError::Usage(format!(
            "`{}` does not parse or resolve; run `portcullis check {}` first",
            file.display(),
            file.display()
        )));
    }
    let this_machine = nix::unistd::gethostname()
        .ok()
        .map(|name| name.to_string_lossy().into_owned());
    let host = pick_host(&checked, cmd.host.as_deref(), this_machine.as_deref())?;
    let listeners = crate::audit::listening()?;
    let found = crate::audit::audit(host, &listeners);
    let host_name = host.display_name().to_string();
    checked.diagnostics = lint::engine::finish(found, &checked.loaded.sources, &levels, Run::Audit);

    let failing =
        checked.has_errors() || (cmd.deny_warnings && checked.count(Severity::Warning) > 0);
    check::render(cmd.format, std::slice::from_ref(&checked), out);
    if cmd.format == Format::Human {
        let summary = diagnostic::summary(checked.diagnostics.iter());
        let count = listeners.len();
        let noun = if count == 1 { "listener" } else { "listeners" };
        let summary = if summary.is_empty() {
            "no problems found".to_string()
        } else {
            summary
        };
        out.note(&format!(
            "audited host `{host_name}` ({count} {noun}) against {}: {summary}",
            file.display()
        ));
    }
    Ok(if failing {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The host `--host` names, else the only host, else the one named as this machine is: its
/// host name, or the part of it before the first dot.
fn pick_host<'a>(
    checked: &'a Checked,
    name: Option<&str>,
    this_machine: Option<&str>,
) -> Result<&'a Host, String> {
    let hosts = &checked.policy.hosts;
    if name.is_some() || hosts.len() < 2 {
        return project::pick_host(checked, name);
    }
    let named = |wanted: &str| hosts.iter().find(|h| h.name.as_deref() == Some(wanted));
    if let Some(this) = this_machine {
        let short = this.split('.').next().unwrap_or(this);
        if let Some(host) = named(this).or_else(|| named(short)) {
            return Ok(host);
        }
    }
    let names: Vec<&str> = hosts.iter().filter_map(|h| h.name.as_deref()).collect();
    let machine = match this_machine {
        Some(this) => format!("none is named as this machine (`{this}`)"),
        None => "this machine's name cannot be read".to_string(),
    };
    Err(format!(
        "the policy has {} hosts and {machine}; pick one with `--host` ({})",
        hosts.len(),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "host web-1 {\n  input drop {\n    allow ssh\n  }\n}\nhost db-1 {\n  input drop {\n    allow ssh\n  }\n}\n";

    fn picked(text: &str, name: Option<&str>, this: Option<&str>) -> Result<String, String> {
        let checked = pipeline::check_text("t.pcl", text);
        pick_host(&checked, name, this).map(|h| h.display_name().to_string())
    }

    #[test]
    fn the_host_is_the_named_one_the_only_one_or_this_machine() {
        assert_eq!(picked(HOSTS, Some("db-1"), Some("web-1")).unwrap(), "db-1");
        assert_eq!(picked(HOSTS, None, Some("web-1")).unwrap(), "web-1");
        assert_eq!(
            picked(HOSTS, None, Some("db-1.example.net")).unwrap(),
            "db-1"
        );
        let only = "input drop {\n  allow ssh\n}\n";
        assert_eq!(
            picked(only, None, Some("elsewhere")).unwrap(),
            "(unnamed host)"
        );
    }

    #[test]
    fn a_machine_the_policy_does_not_name_is_a_usage_error_listing_the_hosts() {
        let error = picked(HOSTS, None, Some("mail-1")).unwrap_err();
        assert_eq!(
            error,
            "the policy has 2 hosts and none is named as this machine (`mail-1`); pick one with `--host` (web-1, db-1)"
        );
        assert!(picked(HOSTS, Some("mail-1"), Some("web-1"))
            .unwrap_err()
            .contains("no host `mail-1`"));
    }
}
