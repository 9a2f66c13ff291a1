//! The command line: clap arguments -> a subcommand -> an exit code.
//!
//! Exit codes follow linters' convention: 0 clean, 1 findings at error level, 2 usage, I/O or
//! internal errors (clap's own usage errors exit 2 as well).

mod apply;
mod arguments;
mod audit;
mod build;
mod check;
mod compile;
mod completions;
mod confirm;
mod diff;
mod error;
mod explain;
mod lookup;
mod man;
mod output;
mod project;
mod rollback;
mod rules;
mod schema;
mod status;
mod test;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use arguments::{Arguments, Command};
pub use output::{DataFormat, Format, Outcome};

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let matches = Arguments::command().get_matches();
    let args = match Arguments::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let outcome = run(&args);
    outcome.exit_code()
}

/// Runs one command. Output goes to stdout, fatal errors to stderr.
pub fn run(args: &Arguments) -> Outcome {
    #[cfg(debug_assertions)]
    if let Some(id) = crate::lint::duplicate_identifier() {
        panic!("two lint rules are both called `{id}`");
    }
    let mut out = output::Output::new(args.color);
    let result = match &args.command {
        Command::Check(cmd) => check::run(cmd, args, &mut out),
        Command::Lookup(cmd) => lookup::run(cmd, &mut out),
        Command::Rules(cmd) => rules::list(cmd, &mut out),
        Command::Rule(cmd) => rules::show(cmd, &mut out),
        Command::Compile(cmd) => compile::run(cmd, args, &mut out),
        Command::Explain(cmd) => explain::run(cmd, args, &mut out),
        Command::Diff(cmd) => diff::run(cmd, args, &mut out),
        Command::Test(cmd) => test::run(cmd, args, &mut out),
        Command::Apply(cmd) => apply::run(cmd, args, &mut out),
        Command::Confirm(cmd) => confirm::run(cmd, &mut out),
        Command::Rollback(cmd) => rollback::run(cmd, &mut out),
        Command::Status(cmd) => status::run(cmd, &mut out),
        Command::Audit(cmd) => audit::run(cmd, args, &mut out),
        Command::Completions(cmd) => completions::run(cmd, &mut out),
        Command::Man(cmd) => man::run(cmd, &mut out),
        Command::Schema(cmd) => schema::run(cmd, &mut out),
    };
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            out.fatal(&error.to_string());
            Outcome::Fatal
        }
    };
    let outcome = match out.finish() {
        Ok(()) | Err(output::WriteFailure::ClosedPipe) => outcome,
        Err(output::WriteFailure::Failed(reason)) => {
            out.fatal(&format!("cannot write to standard output: {reason}"));
            Outcome::Fatal
        }
    };
    let _ = std::io::stderr().flush();
    outcome
}
