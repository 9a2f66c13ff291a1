//! `portcullis man [--out-dir DIR]`: manual pages in roff, generated from the command line
//! itself, so they list every subcommand and option the binary has.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::arguments::{Arguments, ManArgs};
use super::error::CliError;
use super::output::{Outcome, Output};

pub fn run(cmd: &ManArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let pages = pages();
    let Some(dir) = &cmd.out_dir else {
        let (_, main) = &pages[0];
        out.print(&String::from_utf8_lossy(main));
        return Ok(Outcome::Clean);
    };
    let files: Vec<(PathBuf, &[u8])> = pages
        .iter()
        .map(|(name, text)| (dir.join(name), text.as_slice()))
        .collect();
    crate::fsio::create_dir_all(dir).map_err(|reason| CliError::CreateDir {
        path: dir.display().to_string(),
        reason,
    })?;
    let files: Vec<(&Path, &[u8])> = files
        .iter()
        .map(|(path, text)| (path.as_path(), *text))
        .collect();
    crate::fsio::write_all_atomically(&files)?;
    out.note(&format!(
        "wrote {} manual pages to {}",
        files.len(),
        dir.display()
    ));
    Ok(Outcome::Clean)
}

/// Each page's file name and text: `portcullis.1` first, then `portcullis-SUBCOMMAND.1` for every
/// subcommand that is not hidden.
fn pages() -> Vec<(String, Vec<u8>)> {
    // `help` is clap's, not a page of its own.
    let mut command = Arguments::command().disable_help_subcommand(true);
    command.build();
    let mut pages = vec![render(command.clone())];
    pages.extend(
        command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .map(|sub| render(sub.clone())),
    );
    pages
}

fn render(command: clap::Command) -> (String, Vec<u8>) {
    // Every page names the release it documents (clap_mangen would give a subcommand's page its
    // own name and no version).
    let man =
        clap_mangen::Man::new(command).source(concat!("portcullis ", env!("CARGO_PKG_VERSION")));
    let mut text = Vec::new();
    man.render(&mut text)
        .expect("rendering into memory cannot fail");
    (man.get_filename(), text)
}
