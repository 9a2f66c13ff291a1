//! `portcullis check FILE...`

use std::path::Path;

use super::arguments::{Arguments, CheckArgs};
use super::error::CliError;
use super::output::{Format, Outcome, Output, Stream};
use super::project;
use crate::config::Settings;
use crate::diagnostic::{self, HumanOptions, Severity};
use crate::pipeline::{self, Checked};

pub fn run(cmd: &CheckArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    let flags = project::level_flags(&cmd.levels)?;
    if cmd.files.iter().filter(|f| *f == Path::new("-")).count() > 1 {
        return Err(CliError::Usage(
            "standard input (`-`) can be read only once".to_string(),
        ));
    }
    let mut outcome = Outcome::Clean;
    let mut all: Vec<Checked> = Vec::new();
    let mut unread = 0;
    let mut settings_cache: Vec<(Option<std::path::PathBuf>, Settings)> = Vec::new();
    for file in &cmd.files {
        let anchor = project::anchor(file, &cmd.stdin);
        let settings = match settings_for(args.config.as_deref(), anchor, &mut settings_cache) {
            Ok(s) => s,
            Err(e) => {
                out.fatal(&e.to_string());
                outcome = Outcome::Fatal;
                unread += 1;
                continue;
            }
        };
        let levels = project::levels(&settings, &flags);
        let loaded = match crate::load::load_argument(file, &cmd.stdin.stdin_name) {
            Ok(loaded) => loaded,
            Err(e) => {
                out.fatal(&e.to_string());
                outcome = Outcome::Fatal;
                unread += 1;
                continue;
            }
        };
        all.push(pipeline::check(loaded, &settings, &levels));
    }

    let failing =
        |c: &Checked| c.has_errors() || (cmd.deny_warnings && c.count(Severity::Warning) > 0);
    if all.iter().any(failing) && outcome == Outcome::Clean {
        outcome = Outcome::Findings;
    }
    render(cmd.format, &all, out);
    if cmd.format == Format::Human && !all.is_empty() {
        let files = all.len();
        let noun = if files == 1 { "file" } else { "files" };
        let summary = diagnostic::summary(all.iter().flat_map(|c| &c.diagnostics));
        let unread = match unread {
            0 => String::new(),
            1 => " (1 more could not be read)".to_string(),
            n => format!(" ({n} more could not be read)"),
        };
        if summary.is_empty() {
            out.note(&format!(
                "checked {files} {noun}{unread}: no problems found"
            ));
        } else {
            out.note(&format!("checked {files} {noun}{unread}: {summary}"));
        }
    }
    // The process ends right after: returning the memory of every file's rules and findings to
    // the allocator one by one would take longer than printing them.
    std::mem::forget(all);
    Ok(outcome)
}

/// The settings for a policy file: `--config`, or `portcullis.yaml` in its directory.
fn settings_for(
    explicit: Option<&Path>,
    file: &Path,
    cache: &mut Vec<(Option<std::path::PathBuf>, Settings)>,
) -> Result<Settings, CliError> {
    let dir = if explicit.is_some() {
        None
    } else {
        file.parent().map(Path::to_path_buf)
    };
    if let Some((_, s)) = cache.iter().find(|(d, _)| *d == dir) {
        return Ok(s.clone());
    }
    let settings = Settings::discover(explicit, Some(file))?;
    settings.check_rule_names(|name| crate::lint::find(name).is_some())?;
    cache.push((dir, settings.clone()));
    Ok(settings)
}

/// Renders the findings of checked policies in `format` (`audit` renders its own this way too).
pub(super) fn render(format: Format, all: &[Checked], out: &mut Output) {
    match format {
        Format::Human => {
            let options = HumanOptions {
                color: out.color,
                width: super::output::terminal_width(Stream::Stdout),
            };
            for c in all {
                out.print(&diagnostic::render_human(
                    &c.loaded.sources,
                    &c.diagnostics,
                    options,
                ));
            }
        }
        // One document for all files: diagnostics carry their file names.
        Format::Json => {
            // A failure to write is remembered by `out` and reported when it finishes.
            let _ = diagnostic::write_json(&runs(all), out);
        }
        Format::Sarif => out.print(&diagnostic::render_sarif(
            &runs(all),
            crate::lint::rules::ALL,
        )),
        Format::Github => {
            for c in all {
                out.print(&diagnostic::render_github(
                    &c.loaded.sources,
                    &c.diagnostics,
                ));
            }
        }
    }
}

fn runs(all: &[Checked]) -> Vec<(&crate::source::Sources, &[crate::diagnostic::Diagnostic])> {
    all.iter()
        .map(|c| (&c.loaded.sources, c.diagnostics.as_slice()))
        .collect()
}
