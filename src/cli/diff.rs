//! `portcullis diff OLD NEW` and `portcullis diff --base REV FILE...`: what changes in exposure
//! between two versions of a policy. The comparison is [`crate::diff`]; this file loads the two
//! versions (from git for `--base`) and renders what it finds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::arguments::{Arguments, DiffArgs, DiffFormat, StdinArgs};
use super::error::CliError;
use super::output::{Outcome, Output};
use super::project;
use crate::diff::{self, Change, Decided, HostStatus, PolicyDiff, Statement, Version};
use crate::model::Policy;
use crate::pipeline::Checked;
use crate::source::Sources;

/// One compared pair of files and what changes.
#[derive(Serialize)]
struct FileDiff {
    /// The old version: a file, `REV:path`, or `null` when the file is new at REV.
    old: Option<String>,
    new: String,
    #[serde(flatten)]
    diff: PolicyDiff,
}

#[derive(Serialize)]
struct Report {
    /// Whether any file's exposure changes.
    changed: bool,
    files: Vec<FileDiff>,
}

pub fn run(cmd: &DiffArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    let mut files = Vec::new();
    match &cmd.base {
        None => {
            let [old, new] = cmd.files.as_slice() else {
                return Err(CliError::Usage(format!(
                    "diff compares two files, OLD and NEW (got {}); or give `--base REV` to \
                     compare files with themselves at a git revision",
                    cmd.files.len()
                )));
            };
            let (was, now) = (load(old, args)?, load(new, args)?);
            files.push(FileDiff {
                old: Some(old.display().to_string()),
                new: new.display().to_string(),
                diff: compare(Some(&was), &now, cmd.host.as_deref())?,
            });
        }
        Some(rev) => {
            for file in &cmd.files {
                let base = Base::export(rev, file)?;
                let now = load(file, args)?;
                let (old, diff) = match &base.file {
                    Some(path) => {
                        let was = load(path, args)?;
                        let mut diff = compare(Some(&was), &now, cmd.host.as_deref())?;
                        base.rename(&mut diff);
                        (Some(base.label()), diff)
                    }
                    None => (None, compare(None, &now, cmd.host.as_deref())?),
                };
                files.push(FileDiff {
                    old,
                    new: file.display().to_string(),
                    diff,
                });
            }
        }
    }
    let report = Report {
        changed: files.iter().any(|f| f.diff.changed()),
        files,
    };
    let text = match cmd.format {
        DiffFormat::Human => human(&report),
        DiffFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
        DiffFormat::Markdown => markdown(&report),
        DiffFormat::Github => github(&report),
    };
    out.print(&text);
    Ok(if report.changed {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// Loads and resolves one version. One that does not parse or resolve cannot be compared; lint
/// findings are `check`'s business, and do not stop a comparison.
fn load(file: &Path, args: &Arguments) -> Result<Checked, CliError> {
    let stdin = StdinArgs {
        stdin_name: StdinArgs::DEFAULT_NAME.to_string(),
    };
    let checked = project::resolve(file, &stdin, args)?;
    let errors = checked.count(crate::diagnostic::Severity::Error);
    if errors > 0 {
        return Err(CliError::Usage(format!(
            "cannot compare: `{}` has {errors} error{}; `portcullis check {}` shows {}",
            file.display(),
            if errors == 1 { "" } else { "s" },
            file.display(),
            if errors == 1 { "it" } else { "them" },
        )));
    }
    Ok(checked)
}

/// The diff of two checked versions (`None`: the file did not exist), for one host or all.
fn compare(
    old: Option<&Checked>,
    new: &Checked,
    host: Option<&str>,
) -> Result<PolicyDiff, CliError> {
    let (nothing, no_files) = (Policy::default(), Sources::default());
    let was = match old {
        Some(c) => Version {
            policy: &c.policy,
            sources: &c.loaded.sources,
        },
        None => Version {
            policy: &nothing,
            sources: &no_files,
        },
    };
    let now = Version {
        policy: &new.policy,
        sources: &new.loaded.sources,
    };
    let mut found = diff::diff(was, now);
    if let Some(name) = host {
        let known = |c: &Checked| {
            c.policy
                .hosts
                .iter()
                .any(|h| h.name.as_deref() == Some(name))
        };
        if !known(new) && !old.is_some_and(known) {
            return Err(CliError::Usage(format!(
                "neither version of the policy has a host `{name}`"
            )));
        }
        found.hosts.retain(|h| h.host.as_deref() == Some(name));
    }
    Ok(found)
}

/// A file's version at a git revision: the revision's tree exported to a temporary directory,
/// so that its includes and configuration are the revision's too.
struct Base {
    rev: String,
    /// The exported tree.
    dir: tempfile::TempDir,
    /// The file within the repository.
    relative: PathBuf,
    /// The file in the exported tree, when it exists at the revision.
    file: Option<PathBuf>,
}

impl Base {
    fn export(rev: &str, file: &Path) -> Result<Base, CliError> {
        let absolute = std::path::absolute(file).map_err(|e| {
            CliError::Usage(format!(
                "cannot find `{}`: {}",
                file.display(),
                crate::fsio::reason(&e)
            ))
        })?;
        let parent = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
        let top = git(&parent, &["rev-parse", "--show-toplevel"])?;
        let top = PathBuf::from(top.trim());
        git(
            &top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| {
            CliError::Usage(format!(
                "`{rev}` is not a revision of the git repository at `{}`",
                top.display()
            ))
        })?;
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let relative = real(&absolute)
            .strip_prefix(real(&top))
            .map(Path::to_path_buf)
            .map_err(|_| {
                CliError::Usage(format!(
                    "`{}` is not inside the git repository at `{}`",
                    file.display(),
                    top.display()
                ))
            })?;
        let dir = tempfile::tempdir().map_err(|e| {
            CliError::Usage(format!(
                "cannot make a temporary directory for `{rev}`: {}",
                crate::fsio::reason(&e)
            ))
        })?;
        extract(&top, rev, dir.path())?;
        let exported = dir.path().join(&relative);
        Ok(Base {
            rev: rev.to_string(),
            file: exported.is_file().then_some(exported),
            dir,
            relative,
        })
    }

    /// `REV:path/in/repo`.
    fn label(&self) -> String {
        format!("{}:{}", self.rev, self.relative.display())
    }

    /// Names the exported files as `REV:path` in what the diff shows.
    fn rename(&self, diff: &mut PolicyDiff) {
        let prefix = format!("{}/", self.dir.path().display());
        let rev = format!("{}:", self.rev);
        diff.map_files(|name| match name.strip_prefix(&prefix) {
            Some(rest) => format!("{rev}{rest}"),
            None => name.to_string(),
        });
    }
}

/// Runs git in `dir`; its standard output, or why it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, CliError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::Usage(format!("cannot run git: {}", crate::fsio::reason(&e))))?;
    if !output.status.success() {
        return Err(CliError::Usage(format!(
            "git {} failed in `{}`: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Writes the tree of `rev` into `dir` (`git archive | tar -x`).
fn extract(top: &Path, rev: &str, dir: &Path) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::Usage(format!(
            "cannot {what} `{rev}`: {}",
            crate::fsio::reason(&e)
        ))
    };
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["archive", "--format=tar", rev])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail("run git archive for", e))?;
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .stdin(archive.stdout.take().expect("piped"))
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| fail("run tar to extract", e))?;
    let archived = archive
        .wait_with_output()
        .map_err(|e| fail("run git archive for", e))?;
    if !archived.status.success() || !tar.status.success() {
        return Err(CliError::Usage(format!(
            "cannot extract `{rev}` from git: {}{}",
            String::from_utf8_lossy(&archived.stderr).trim(),
            String::from_utf8_lossy(&tar.stderr).trim()
        )));
    }
    Ok(())
}

/// `+` for opened, `-` for closed, `~` for the rest.
fn mark(change: Change) -> char {
    match change {
        Change::Opened => '+',
        Change::Closed => '-',
        _ => '~',
    }
}

fn at(d: &Decided) -> String {
    match (&d.file, d.line) {
        (Some(file), Some(line)) => format!(" ({file}:{line})"),
        _ => String::new(),
    }
}

/// Who decides, as a line: the rule and where it is, after a rate-limited rule met first.
fn decided_text(d: &Decided) -> String {
    let own = format!("{}{}", d.text, at(d));
    match &d.limited {
        Some(limited) => format!(
            "{}{} while under its rate, then {own}",
            limited.text,
            at(limited)
        ),
        None => own,
    }
}

fn statement_text(s: &Statement) -> String {
    let place = |p: &diff::Place| format!("{} ({}:{})", p.text, p.file, p.line);
    match (&s.old, &s.new) {
        (Some(old), Some(new)) => format!("~ {}\n      now {}", place(old), place(new)),
        (None, Some(new)) => format!("+ {}", place(new)),
        (Some(old), None) => format!("- {}", place(old)),
        (None, None) => String::new(),
    }
}

/// `tcp/5432 from office to 10.0.0.5 on eth0`. Loopback, which the baseline accepts in both
/// versions, is not mentioned when it is the only interface left out (JSON says it).
fn region_text(r: &diff::RegionDiff) -> String {
    let mut text = r.traffic.clone();
    text.push_str(&format!(" from {}", r.from.text));
    if r.to.text != "any" {
        text.push_str(&format!(" to {}", r.to.text));
    }
    match r.on.as_deref() {
        None => {}
        Some([only]) if only == "not lo" => {}
        Some(on) if on.iter().all(|i| i.starts_with("not ")) => {
            let names: Vec<&str> = on.iter().map(|i| &i[4..]).collect();
            text.push_str(&format!(" not on {}", names.join(", ")));
        }
        Some(on) => text.push_str(&format!(" on {}", on.join(", "))),
    }
    text
}

fn human(report: &Report) -> String {
    let mut text = String::new();
    let several = report.files.len() > 1;
    for file in &report.files {
        if several {
            text.push_str(&format!("== {} ==\n", file.new));
        }
        if file.old.is_none() {
            text.push_str(&format!("{} is new: every host in it is added\n", file.new));
        }
        for host in &file.diff.hosts {
            if !host.changed() {
                continue;
            }
            match host.status {
                HostStatus::Added => {
                    text.push_str(&format!("host {}: added\n", host.display_name()));
                    continue;
                }
                HostStatus::Removed => {
                    text.push_str(&format!("host {}: removed\n", host.display_name()));
                    continue;
                }
                HostStatus::Kept => text.push_str(&format!("host {}:\n", host.display_name())),
            }
            for chain in &host.chains {
                text.push_str(&format!("  {} chain:\n", chain.chain));
                for r in &chain.regions {
                    text.push_str(&format!(
                        "    {} {}: {}\n        before: {}\n        after:  {}\n",
                        mark(r.change),
                        r.change.describe(),
                        region_text(r),
                        decided_text(&r.old),
                        decided_text(&r.new)
                    ));
                }
                if let Some(d) = &chain.default {
                    text.push_str(&format!(
                        "    ~ default {}{} -> {}{}, for every packet no rule decides\n",
                        d.old.verdict.policy_word(),
                        at(&d.old),
                        d.new.verdict.policy_word(),
                        at(&d.new)
                    ));
                }
            }
            for (what, list) in [
                ("listeners", &host.binds),
                ("port forwards", &host.forwards),
            ] {
                if list.is_empty() {
                    continue;
                }
                text.push_str(&format!("  {what}:\n"));
                for s in list.iter() {
                    text.push_str(&format!("    {}\n", statement_text(s)));
                }
            }
        }
        text.push_str(&summary(&file.diff));
    }
    text
}

/// `exposure changed: 3 regions in 2 chains` or `no change in exposure`.
fn summary(diff: &PolicyDiff) -> String {
    if !diff.changed() {
        return "no change in exposure\n".to_string();
    }
    let chains: usize = diff.hosts.iter().map(|h| h.chains.len()).sum();
    let regions = diff.regions();
    let statements: usize = diff
        .hosts
        .iter()
        .map(|h| h.binds.len() + h.forwards.len())
        .sum();
    let hosts = diff
        .hosts
        .iter()
        .filter(|h| h.status != HostStatus::Kept)
        .count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if regions > 0 || chains > 0 {
        parts.push(format!(
            "{} in {}",
            plural(regions, "region", "regions"),
            plural(chains, "chain", "chains")
        ));
    }
    if statements > 0 {
        parts.push(plural(
            statements,
            "listener or port forward",
            "listeners or port forwards",
        ));
    }
    if hosts > 0 {
        parts.push(plural(
            hosts,
            "host added or removed",
            "hosts added or removed",
        ));
    }
    format!("exposure changed: {}\n", parts.join("; "))
}

/// A Markdown table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(report: &Report) -> String {
    let mut text = String::new();
    for file in &report.files {
        let title = match &file.old {
            Some(old) => format!("`{}` → `{}`", cell(old), cell(&file.new)),
            None => format!("`{}` (new file)", cell(&file.new)),
        };
        text.push_str(&format!("### {title}\n\n"));
        if !file.diff.changed() {
            text.push_str("No change in exposure.\n\n");
            continue;
        }
        let rows: Vec<String> = file
            .diff
            .hosts
            .iter()
            .flat_map(|h| {
                h.chains.iter().flat_map(move |c| {
                    c.regions.iter().map(move |r| {
                        format!(
                            "| {} | {} | {} | {} | {} | {} | {} | {} |",
                            cell(r.change.describe()),
                            cell(h.display_name()),
                            c.chain,
                            cell(&r.traffic),
                            cell(&r.from.text),
                            cell(&r.to.text),
                            cell(&decided_text(&r.old)),
                            cell(&decided_text(&r.new))
                        )
                    })
                })
            })
            .collect();
        if !rows.is_empty() {
            text.push_str("| change | host | chain | traffic | from | to | before | after |\n");
            text.push_str("|---|---|---|---|---|---|---|---|\n");
            for row in rows {
                text.push_str(&row);
                text.push('\n');
            }
            text.push('\n');
        }
        let listed = text.len();
        for h in &file.diff.hosts {
            match h.status {
                HostStatus::Added => {
                    text.push_str(&format!("- host `{}` added\n", cell(h.display_name())))
                }
                HostStatus::Removed => {
                    text.push_str(&format!("- host `{}` removed\n", cell(h.display_name())))
                }
                HostStatus::Kept => {}
            }
            for c in &h.chains {
                if let Some(d) = &c.default {
                    text.push_str(&format!(
                        "- host `{}`, {} chain: default `{}` → `{}` for every packet no rule decides\n",
                        cell(h.display_name()),
                        c.chain,
                        d.old.verdict.policy_word(),
                        d.new.verdict.policy_word()
                    ));
                }
            }
            for s in h.binds.iter().chain(&h.forwards) {
                let line = statement_text(s).replace("\n      now", "; now");
                text.push_str(&format!(
                    "- host `{}`: `{}`\n",
                    cell(h.display_name()),
                    cell(&line)
                ));
            }
        }
        if text.len() > listed {
            text.push('\n');
        }
        text.push_str(&summary(&file.diff));
        text.push('\n');
    }
    text
}

/// GitHub's workflow-command escaping of a message, and of a property.
fn escape(text: &str, property: bool) -> String {
    let text = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        text.replace(':', "%3A").replace(',', "%2C")
    } else {
        text
    }
}

fn github(report: &Report) -> String {
    let mut text = String::new();
    for file in &report.files {
        for h in &file.diff.hosts {
            for c in &h.chains {
                for r in &c.regions {
                    // At the rule that decides now, else at the one that decided before.
                    let place = [&r.new, &r.old]
                        .into_iter()
                        .find_map(|d| d.file.as_ref().zip(d.line))
                        .filter(|(f, _)| !f.contains(':'));
                    let level = if r.change == Change::Opened {
                        "warning"
                    } else {
                        "notice"
                    };
                    let location = place
                        .map(|(f, l)| format!(" file={},line={l},", escape(f, true)))
                        .unwrap_or_else(|| " ".to_string());
                    let message = format!(
                        "{}, {} chain: {}: {} (before: {}; after: {})",
                        h.display_name(),
                        c.chain,
                        r.change.describe(),
                        region_text(r),
                        decided_text(&r.old),
                        decided_text(&r.new)
                    );
                    text.push_str(&format!(
                        "::{level}{location}title={}::{}\n",
                        escape("exposure changed", true),
                        escape(&message, false)
                    ));
                }
            }
        }
        for h in &file.diff.hosts {
            for s in h.binds.iter().chain(&h.forwards) {
                let Some(place) = s.new.as_ref().or(s.old.as_ref()) else {
                    continue;
                };
                let location = if place.file.contains(':') {
                    " ".to_string()
                } else {
                    format!(" file={},line={},", escape(&place.file, true), place.line)
                };
                let line = statement_text(s).replace("\n      now", "; now");
                text.push_str(&format!(
                    "::notice{location}title={}::{}: {}\n",
                    escape("exposure changed", true),
                    escape(h.display_name(), false),
                    escape(&line, false)
                ));
            }
        }
        text.push_str(&summary(&file.diff));
    }
    text
}
