//! Reading a policy from disk: the file, its includes, and their syntax trees.
//!
//! Failures to read a file named on the command line are fatal ([`LoadError`], exit 2); problems
//! inside the policy (a bad include, bytes that are not UTF-8, syntax) are findings, reported with
//! the rest.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::rule::{INCLUDE_ERROR, SYNTAX_ERROR};
use crate::source::{FileId, SourceFile, Sources, Span};
use crate::syntax::{self, ast};

/// Files larger than this are refused: a policy of 100k rules is a few MiB, and reading an
/// arbitrarily large file into memory would let a wrong path stall a CI job.
pub const MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// How many files deep includes may nest: far more than a policy needs, and little enough that
/// following them can never exhaust the stack.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// A policy as loaded: every file it consists of, parsed, in include order (the root first).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub files: Vec<ast::PolicyFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// The canonical path of every file read, to read a file included twice only once.
    canonical_paths: Vec<PathBuf>,
}

impl Loaded {
    /// The root file.
    pub fn root(&self) -> FileId {
        FileId(0)
    }

    /// Drops the syntax trees, keeping the sources and the diagnostics: for a policy that has
    /// been resolved, whose trees nothing reads again.
    pub fn forget_syntax(&mut self) {
        self.files = Vec::new();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
}

/// The bytes of a policy file, or why it cannot be read (a phrase).
fn read_policy(path: &Path) -> Result<Vec<u8>, String> {
    crate::fsio::read_regular(path, MAX_FILE_SIZE)
}

/// Loads `path` and everything it includes.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let bytes = read_policy(path).map_err(|reason| LoadError::Read {
        path: path.display().to_string(),
        reason,
    })?;
    let mut loaded = Loaded::default();
    let name = path.display().to_string();
    let mut stack = Vec::new();
    add_file(&mut loaded, name, path.to_path_buf(), bytes, &mut stack);
    Ok(loaded)
}

/// Loads a policy from standard input, as the file `name` (which names it in messages, decides
/// between the text and YAML forms by its extension, and anchors its includes).
pub fn load_stdin(name: &str) -> Result<Loaded, LoadError> {
    let bytes =
        crate::fsio::read_bounded(std::io::stdin().lock(), MAX_FILE_SIZE).map_err(|reason| {
            LoadError::Read {
                path: "standard input".to_string(),
                reason,
            }
        })?;
    let mut loaded = Loaded::default();
    add_file(
        &mut loaded,
        name.to_string(),
        PathBuf::from(name),
        bytes,
        &mut Vec::new(),
    );
    Ok(loaded)
}

/// Loads `path`, or standard input for `-` (named `stdin_name` in messages).
pub fn load_argument(path: &Path, stdin_name: &str) -> Result<Loaded, LoadError> {
    if path == Path::new("-") {
        load_stdin(stdin_name)
    } else {
        load(path)
    }
}

/// Loads policy text that did not come from disk (tests, standard input).
pub fn load_text(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    add_file(
        &mut loaded,
        name.to_string(),
        PathBuf::from(name),
        text.as_bytes().to_vec(),
        &mut Vec::new(),
    );
    loaded
}

/// Adds one file and, recursively, its includes. `stack` holds the files being included, to find
/// cycles.
fn add_file(
    loaded: &mut Loaded,
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
    stack: &mut Vec<PathBuf>,
) -> FileId {
    let (text, utf8_error) = decode(bytes);
    let id = loaded
        .sources
        .add(SourceFile::new(name.clone(), path.clone(), text));
    let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    loaded.canonical_paths.push(canonical.clone());
    let text = loaded.sources.get(id).text.clone();
    if let Some((offset, message)) = unreadable(&text, utf8_error) {
        loaded
            .diagnostics
            .push(unreadable_finding(id, &text, offset, message));
        loaded.files.push(ast::PolicyFile {
            file: id,
            items: Vec::new(),
        });
        return id;
    }
    let (file, diagnostics) = syntax::parse(id, &name, &text);
    push_syntax_findings(loaded, &name, &file, diagnostics);
    stack.push(canonical);
    let includes: Vec<ast::Include> = file
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Include(include) => Some(include.clone()),
            _ => None,
        })
        .collect();
    loaded.files.push(file);
    for include in includes {
        follow_include(loaded, &path, &include, stack);
    }
    stack.pop();
    id
}

/// A file's bytes as text, with the offset where they stop being UTF-8 if they do (the text is
/// then decoded lossily).
fn decode(bytes: Vec<u8>) -> (String, Option<usize>) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (text, Some(valid))
        }
    }
}

/// Where a file stops being policy text, and why: at its first byte that is not UTF-8, or else at
/// its first control character other than line ends, tabs and form feeds.
fn unreadable(text: &str, utf8_error: Option<usize>) -> Option<(usize, &'static str)> {
    match utf8_error {
        Some(offset) => Some((offset, "the file is not valid UTF-8")),
        None => text
            .char_indices()
            .find(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
            .map(|(offset, _)| (offset, "the file holds a control character")),
    }
}

/// The finding for a file that is not text, at the character where it stops being text.
fn unreadable_finding(id: FileId, text: &str, offset: usize, message: &str) -> Diagnostic {
    // A file that is not text is not quoted: it may be anything (a key, a binary).
    let end = text[offset..]
        .char_indices()
        .nth(1)
        .map_or(text.len(), |(i, _)| offset + i);
    Diagnostic::new(&SYNTAX_ERROR, Span::new(id, offset, end), message)
        .label("here")
        .help("policy files are UTF-8 text without control characters; is this the file you meant?")
        .without_quote()
}

/// The syntax findings of a parsed file; for a policy-language file of which nothing parses, one
/// finding that it is not a policy instead.
fn push_syntax_findings(
    loaded: &mut Loaded,
    name: &str,
    file: &ast::PolicyFile,
    diagnostics: Vec<Diagnostic>,
) {
    // (A YAML file that does not parse is one finding already, at the YAML error.)
    let text_form = !syntax::is_yaml_name(name);
    if text_form && file.items.is_empty() && diagnostics.iter().any(|d| d.rule == SYNTAX_ERROR.name)
    {
        // Nothing of it reads as a policy: it is some other file (`include "/etc/shadow"`), and
        // its lines are not echoed one syntax error at a time.
        let first = &diagnostics[0];
        loaded.diagnostics.push(
            Diagnostic::new(
                &SYNTAX_ERROR,
                first.primary.span,
                format!(
                    "`{name}` does not read as a policy: nothing in it parses (first: {})",
                    first.primary.message
                ),
            )
            .help("policy files hold `host`, chain, `service`, `net` and `include` statements; is this the file you meant?")
            .without_quote(),
        );
    } else {
        loaded.diagnostics.extend(diagnostics);
    }
}

fn follow_include(
    loaded: &mut Loaded,
    from: &Path,
    include: &ast::Include,
    stack: &mut Vec<PathBuf>,
) {
    let base = from.parent().unwrap_or(Path::new(""));
    let target = base.join(&include.path.node);
    let shown = target.display().to_string();
    let canonical = std::fs::canonicalize(&target).unwrap_or_else(|_| target.clone());
    if stack.len() >= MAX_INCLUDE_DEPTH {
        loaded.diagnostics.push(
            Diagnostic::new(
                &INCLUDE_ERROR,
                include.path.span,
                format!("includes are nested more than {MAX_INCLUDE_DEPTH} files deep"),
            )
            .label("not followed")
            .help("include the shared files from one top-level file instead of in a chain"),
        );
        return;
    }
    if let Some(position) = stack.iter().position(|p| *p == canonical) {
        let cycle: Vec<String> = stack[position..]
            .iter()
            .chain(std::iter::once(&canonical))
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        loaded.diagnostics.push(
            Diagnostic::new(
                &INCLUDE_ERROR,
                include.path.span,
                format!("include cycle: {}", cycle.join(" -> ")),
            )
            .label("this include leads back to a file that is being included")
            .help("move the shared definitions into a file that includes nothing of these"),
        );
        return;
    }
    // A file included twice along different paths is read once: definitions are not duplicated.
    if loaded.canonical_paths.contains(&canonical) {
        return;
    }
    match read_policy(&target) {
        Ok(bytes) => {
            add_file(loaded, shown, target, bytes, stack);
        }
        Err(reason) => loaded.diagnostics.push(
            Diagnostic::new(
                &INCLUDE_ERROR,
                include.path.span,
                format!("cannot include `{shown}`: {reason}"),
            )
            .label("included here")
            .help("include paths are relative to the file that includes them"),
        ),
    }
}
