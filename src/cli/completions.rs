//! `portcullis completions bash|zsh|fish`

use clap::CommandFactory;

use super::arguments::{Arguments, CompletionsArgs, Shell};
use super::error::CliError;
use super::output::{Outcome, Output};

pub fn run(cmd: &CompletionsArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let shell = match cmd.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // clap_complete panics when its writer fails; it writes to memory, and `out` reports a
    // closed pipe or a full disk as every command does.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Arguments::command(), "portcullis", &mut script);
    out.print(&String::from_utf8_lossy(&script));
    Ok(Outcome::Clean)
}
