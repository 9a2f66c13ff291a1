//! Running the `portcullis` binary the way users do, and rendering findings the way snapshots
//! want them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use portcullis::diagnostic::{render_human, HumanOptions};
use portcullis::pipeline::Checked;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `portcullis ARGS` in `dir` (the repository root when `None`) with colours off.
pub fn portcullis(dir: Option<&Path>, args: &[&str]) -> Run {
    portcullis_with_input(dir, args, None)
}

/// Like [`portcullis`], with `input` on standard input.
pub fn portcullis_with_input(dir: Option<&Path>, args: &[&str], input: Option<&str>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir.map_or_else(root, Path::to_path_buf))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(input.as_bytes())
            .expect("the input is written");
    }
    let output: Output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Findings rendered for a snapshot: no colour, fixed width.
pub fn render(checked: &Checked) -> String {
    render_human(
        &checked.loaded.sources,
        &checked.diagnostics,
        HumanOptions {
            color: false,
            width: 100,
        },
    )
}
