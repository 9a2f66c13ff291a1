//! The fuzz targets' bodies, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the
//! stable runner (`tests/fuzz.rs`). Each takes arbitrary bytes and panics only on a bug: a panic
//! of the library, or an output that breaks one of the invariants checked here.
//!
//! Only the `portcullis` crate, serde_json and std: the stable runner includes this file into the
//! integration test binary, whose dependencies it cannot add to.

use portcullis::compile::compile_host_with_sources;
use portcullis::config::{CompileConfig, Settings};
use portcullis::diagnostic::{self, Diagnostic, HumanOptions};
use portcullis::lint::Levels;
use portcullis::load::Loaded;
use portcullis::model::{icmp, Family, Protocol};
use portcullis::pipeline::{self, Checked};
use portcullis::source::FileId;
use portcullis::syntax;

/// The names an input is loaded under by `check` and `compile`: the extension picks the form, and
/// every input is tried as both (a text policy fails fast as YAML and the reverse). The directory
/// does not exist, so that relative includes are files that do not exist rather than whatever is
/// in the fuzzer's working directory.
pub const NAMES: [&str; 2] = ["/portcullis-fuzz/fuzz.pcl", "/portcullis-fuzz/fuzz.yaml"];

/// The text parser alone.
pub fn parse_text(data: &[u8]) {
    // The loader never parses bytes that are not UTF-8 (see `check_all`); decoding them lossily
    // here keeps the mutations that break UTF-8 useful to the parser instead of wasted.
    let text = String::from_utf8_lossy(data);
    let (_, diagnostics) = syntax::parse_text(FileId(0), &text);
    assert_spans(&text, FileId(0), &diagnostics);
}

/// The YAML front end alone.
pub fn parse_yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (_, diagnostics) = syntax::parse_yaml(FileId(0), &text);
    assert_spans(&text, FileId(0), &diagnostics);
}

/// Parse, resolve and every lint, then every renderer of findings.
pub fn check(data: &[u8]) {
    for checked in check_all(data) {
        render_all(&checked);
    }
}

/// Parse, resolve and lint; when there are no errors, every host to nft text and JSON.
pub fn compile(data: &[u8]) {
    let config = CompileConfig::default();
    for checked in check_all(data) {
        if checked.has_errors() {
            continue;
        }
        for host in &checked.policy.hosts {
            // `check` catches most of what the compiler refuses, not all; a refusal is an answer.
            let ruleset = match compile_host_with_sources(
                &checked.policy,
                host,
                &config,
                &checked.loaded.sources,
            ) {
                Ok(ruleset) => ruleset,
                Err(e) => {
                    let _ = e.to_string();
                    continue;
                }
            };
            assert_nft(&ruleset.to_nft());
            let json = ruleset.to_json();
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
                panic!("the compiled JSON does not parse: {e}\n{json}");
            }
        }
    }
}

/// The front half as `portcullis check` runs it with the default settings, on the input as a
/// policy of each form. Text goes through `load_text`, the loader's entry point for text held in
/// memory; its includes are followed as the tool follows them (relative ones into the directory
/// of [`NAMES`], which does not exist; absolute ones to whatever regular file is there).
pub fn check_all(data: &[u8]) -> Vec<Checked> {
    let settings = Settings::default();
    let levels = Levels::from_config(&settings.config.lint);
    let loads = match std::str::from_utf8(data) {
        Ok(text) => NAMES
            .iter()
            .map(|name| portcullis::load::load_text(name, text))
            .collect(),
        // The loader reports bytes that are not UTF-8 as one finding and parses nothing, in
        // either form. It takes bytes only from a file or standard input, so these go through a
        // file: slower, but the loader's own behaviour rather than a copy of it.
        Err(_) => vec![load_bytes(data)],
    };
    loads
        .into_iter()
        .map(|loaded| pipeline::check(loaded, &settings, &levels))
        .collect()
}

/// Loads bytes that are not UTF-8 the way the tool does: from a file of this process's own.
fn load_bytes(data: &[u8]) -> Loaded {
    let dir = std::env::temp_dir().join(format!("portcullis-fuzz-{}", std::process::id()));
    let path = dir.join("fuzz.pcl");
    std::fs::create_dir_all(&dir).expect("a temporary directory for the input");
    std::fs::write(&path, data).expect("the input can be written to a temporary file");
    let loaded = portcullis::load::load(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    match loaded {
        Ok(loaded) => loaded,
        Err(e) => panic!("the temporary file of the input cannot be loaded: {e}"),
    }
}

/// Every renderer of findings, each output checked for its format's basic promise.
pub fn render_all(checked: &Checked) {
    let sources = &checked.loaded.sources;
    let diagnostics = checked.diagnostics.as_slice();
    for (id, file) in sources.iter() {
        let own: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.primary.span.file == id)
            .cloned()
            .collect();
        assert_spans(&file.text, id, &own);
    }

    let _ = diagnostic::render_human(sources, diagnostics, HumanOptions::default());
    // Colour and a narrow terminal take other paths through the layout.
    let _ = diagnostic::render_human(
        sources,
        diagnostics,
        HumanOptions {
            color: true,
            width: 24,
        },
    );
    let _ = diagnostic::summary(diagnostics.iter());

    for (format, text) in [
        ("json", diagnostic::render_json(&[(sources, diagnostics)])),
        (
            "sarif",
            diagnostic::render_sarif(&[(sources, diagnostics)], portcullis::lint::rules::ALL),
        ),
    ] {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
            panic!("the {format} findings do not parse: {e}\n{text}");
        }
    }

    // One workflow command per line: a newline in a message must not start a second one.
    let github = diagnostic::render_github(sources, diagnostics);
    assert_eq!(
        github.lines().count(),
        diagnostics.len(),
        "one GitHub annotation per finding\n{github}"
    );
    for line in github.lines() {
        assert!(
            ["::error ", "::warning ", "::notice "]
                .iter()
                .any(|p| line.starts_with(p)),
            "not a workflow command: {line:?}"
        );
    }
}

/// Every finding points into its file, on character boundaries (renderers slice the text there).
fn assert_spans(text: &str, file: FileId, diagnostics: &[Diagnostic]) {
    let labels = diagnostics
        .iter()
        .flat_map(|d| std::iter::once(&d.primary).chain(&d.secondary));
    for label in labels {
        let span = label.span;
        if span.file != file {
            continue;
        }
        assert!(
            span.start <= span.end
                && span.end <= text.len()
                && text.is_char_boundary(span.start)
                && text.is_char_boundary(span.end),
            "span {}..{} is not a character range of the {}-byte file ({:?})",
            span.start,
            span.end,
            text.len(),
            label.message
        );
    }
}

/// The first word of each line of a generated `nft -f` script, by the depth of tabs it is
/// indented to (src/compile/text.rs writes the script).
mod nft_words {
    /// The header, the table and its closing brace.
    pub const TOP: &[&str] = &["#!/usr/sbin/nft", "#", "table", "delete", "}"];
    /// Inside the table: helpers, counters, sets (after their comment) and chains.
    pub const TABLE: &[&str] = &["ct", "counter", "#", "set", "chain", "}"];
    /// Inside a helper, set or chain: their properties, the end of a block or of a long set...
    pub const PROPERTIES: &[&str] = &["type", "l3proto", "flags", "elements", "}"];
    /// ... and rules, which start with a match...
    pub const MATCHES: &[&str] = &[
        "ct", "fib", "iif", "oif", "iifname", "oifname", "meta", "ip", "ip6", "icmp", "icmpv6",
        "tcp", "udp", "sctp", "dccp",
    ];
    /// ... or a statement.
    pub const STATEMENTS: &[&str] = &[
        "accept",
        "drop",
        "jump",
        "goto",
        "limit",
        "meter",
        "counter",
        "log",
        "reject",
        "masquerade",
        "snat",
        "dnat",
        "comment",
    ];
}

/// Whether `word` can begin an element line of a long set or map (one element per line).
fn is_element_word(word: &str) -> bool {
    let word = word.strip_suffix(',').unwrap_or(word);
    let numbers = |s: &str| {
        let mut parts = s.splitn(2, '-');
        parts.all(|p| p.parse::<u16>().is_ok())
    };
    let address = |s: &str| s.parse::<std::net::IpAddr>().is_ok();
    let prefix_or_range = || match word.split_once('/') {
        Some((addr, len)) => address(addr) && len.parse::<u8>().is_ok_and(|l| l <= 128),
        None => match word.split_once('-') {
            Some((lo, hi)) => address(lo) && address(hi),
            None => address(word),
        },
    };
    numbers(word)
        || prefix_or_range()
        || Protocol::ALL.iter().any(|p| p.as_str() == word)
        || ["icmp", "icmpv6"].contains(&word)
        || [Family::V4, Family::V6]
            .iter()
            .any(|&f| icmp::types(f).iter().any(|&(name, _)| name == word))
}

/// The compiled script is printable ASCII, quotes pair up on each line, braces outside strings
/// and comments balance, and every line starts with a word the compiler writes at its depth.
pub fn assert_nft(script: &str) {
    if let Some(c) = script
        .chars()
        .find(|&c| !(c == '\n' || c == '\t' || (' '..='~').contains(&c)))
    {
        panic!("the script holds {c:?}\n{script}");
    }
    let mut depth: i64 = 0;
    for (index, line) in script.lines().enumerate() {
        let context = || format!("line {}: {line:?}\n{script}", index + 1);
        assert!(
            line.matches('"').count() % 2 == 0,
            "unbalanced quotes on {}",
            context()
        );
        let body = line.trim_start_matches('\t');
        let indent = line.len() - body.len();
        assert!(
            !body.starts_with(' '),
            "indented with spaces on {}",
            context()
        );
        let Some(word) = body.split(' ').next().filter(|w| !w.is_empty()) else {
            assert!(line.is_empty(), "a blank line with tabs on {}", context());
            continue;
        };
        let allowed = match indent {
            0 => nft_words::TOP.contains(&word),
            1 => nft_words::TABLE.contains(&word),
            2 => [
                nft_words::PROPERTIES,
                nft_words::MATCHES,
                nft_words::STATEMENTS,
            ]
            .iter()
            .any(|words| words.contains(&word)),
            3 => is_element_word(word),
            _ => false,
        };
        assert!(
            allowed,
            "`{word}` does not begin a line at depth {indent} on {}",
            context()
        );
        if word.starts_with('#') {
            continue;
        }
        let mut quoted = false;
        for c in body.chars() {
            match c {
                '"' => quoted = !quoted,
                '{' if !quoted => depth += 1,
                '}' if !quoted => {
                    depth -= 1;
                    assert!(depth >= 0, "a `}}` closes nothing on {}", context());
                }
                _ => {}
            }
        }
    }
    assert_eq!(depth, 0, "unbalanced braces\n{script}");
}
