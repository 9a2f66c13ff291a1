//! Where output goes, whether it is coloured, and what a run amounts to.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

/// When to colour output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The result of a command, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Nothing at error level (exit 0).
    Clean,
    /// Findings at error level, or warnings with `--deny-warnings` (exit 1).
    Findings,
    /// Usage, I/O or internal error (exit 2).
    Fatal,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Fatal => 2,
        })
    }
}

/// The stream a report goes to, whose terminal decides how wide it is.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How wide to render human output: `$COLUMNS` when set (to override), else the width of the
/// terminal the stream is, else 100; never narrower than 40 or wider than 200 columns.
pub fn terminal_width(stream: Stream) -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let from_terminal = || {
        let size = match stream {
            Stream::Stdout => terminal_size::terminal_size_of(io::stdout()),
            Stream::Stderr => terminal_size::terminal_size_of(io::stderr()),
        };
        size.map(|(terminal_size::Width(w), _)| usize::from(w))
    };
    from_env
        .or_else(from_terminal)
        .unwrap_or(100)
        .clamp(40, 200)
}

/// Output formats of `lookup`, `rules` and `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// Readable text.
    Human,
    /// JSON with a stable, documented schema.
    Json,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable reports with the source under each finding.
    Human,
    /// JSON with a stable, documented schema.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

/// Buffered stdout plus stderr for fatal errors. A closed pipe (`portcullis check ... | head`)
/// ends output quietly; any other failure to write (a full disk, `/dev/full`) is remembered and
/// makes the run fatal, so that a truncated report or ruleset is never taken for a whole one.
pub struct Output {
    stdout: io::BufWriter<io::Stdout>,
    pub color: bool,
    failed: Option<io::Error>,
}

/// Why standard output could not be written.
#[derive(Debug)]
pub enum WriteFailure {
    /// The reader went away: not worth a message.
    ClosedPipe,
    /// Anything else, as a phrase for "cannot write to standard output: ...".
    Failed(String),
}

impl Output {
    pub fn new(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        };
        Output {
            stdout: io::BufWriter::new(io::stdout()),
            color,
            failed: None,
        }
    }

    pub fn print(&mut self, text: &str) {
        // A failure is remembered in `failed`; `finish` reports it.
        let _ = self.write_all(text.as_bytes());
    }

    /// A message to stderr (progress, summaries), after what was printed so far.
    pub fn note(&mut self, text: &str) {
        self.flush_pending();
        // A message that cannot be written has nowhere else to go; the exit code still tells.
        let _ = writeln!(io::stderr(), "{text}");
    }

    /// A fatal error, once, to stderr.
    pub fn fatal(&mut self, message: &str) {
        self.flush_pending();
        let prefix = if self.color && io::stderr().is_terminal() {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        let _ = writeln!(io::stderr(), "{prefix}: {message}");
    }

    /// Writes out what stdout holds before a message goes to stderr, keeping the first failure.
    fn flush_pending(&mut self) {
        if self.failed.is_none() {
            if let Err(e) = self.stdout.flush() {
                self.failed = Some(e);
            }
        }
    }

    /// Writes out what is buffered; the first failure of the whole run, if any.
    pub fn finish(&mut self) -> Result<(), WriteFailure> {
        let result = match self.failed.take() {
            Some(e) => Err(e),
            None => self.stdout.flush(),
        };
        result.map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => WriteFailure::ClosedPipe,
            _ => WriteFailure::Failed(crate::fsio::reason(&e)),
        })
    }
}

/// Output as a writer, for renderers that stream (`write_json`). The first failure is remembered
/// as by [`Output::print`], and every write after it fails at once, so that a writer stops early.
impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(e.kind().into());
        }
        match self.stdout.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                let kind = e.kind();
                self.failed = Some(e);
                Err(kind.into())
            }
        }
    }

    /// Flushing is [`Output::finish`]'s, which reports the first failure of the run.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
