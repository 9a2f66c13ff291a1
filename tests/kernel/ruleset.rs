//! Compiling a host and loading the result into a namespace, as `nft -f` text or as JSON, through
//! the library's [`portcullis::nft`].

use portcullis::config::CompileConfig;
use portcullis::model::{Host, Policy};

use super::netns::Netns;

/// How a ruleset reaches the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `nft -f -` with [`portcullis::compile::Ruleset::to_nft`].
    Nft,
    /// `nft -j -f -` with [`portcullis::compile::Ruleset::to_json`].
    Json,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::Nft => "nft -f",
            Format::Json => "nft -j -f",
        }
    }
}

/// A compiled host in both renderings.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub nft: String,
    pub json: String,
}

impl Compiled {
    pub fn text(&self, format: Format) -> &str {
        match format {
            Format::Nft => &self.nft,
            Format::Json => &self.json,
        }
    }

    /// A ruleset written by hand, for the harness's own tests.
    pub fn by_hand(nft: &str) -> Compiled {
        Compiled {
            nft: nft.to_string(),
            json: String::new(),
        }
    }
}

pub fn compile(policy: &Policy, host: &Host) -> Result<Compiled, String> {
    compile_with(policy, host, &CompileConfig::default())
}

pub fn compile_with(
    policy: &Policy,
    host: &Host,
    config: &CompileConfig,
) -> Result<Compiled, String> {
    let ruleset =
        portcullis::compile::compile_host(policy, host, config).map_err(|e| e.to_string())?;
    Ok(Compiled {
        nft: ruleset.to_nft(),
        json: ruleset.to_json(),
    })
}

/// Loads a ruleset into the namespace: a message with nft's complaint if it refuses.
pub fn load(ns: &Netns, compiled: &Compiled, format: Format) -> Result<(), String> {
    load_text(ns, compiled.text(format), format)
}

/// Loads a ruleset with the library's [`portcullis::nft::Nft`]: nft reads it on standard input.
pub fn load_text(ns: &Netns, text: &str, format: Format) -> Result<(), String> {
    ns.nft()
        .load(text, format == Format::Json)
        .map_err(|e| e.to_string())
}

/// Loads or panics with the ruleset and nft's complaint.
pub fn must_load(ns: &Netns, compiled: &Compiled, format: Format) {
    if let Err(message) = load(ns, compiled, format) {
        panic!(
            "the kernel refused the compiled ruleset ({}):\n{message}\n--- ruleset ---\n{}",
            format.describe(),
            numbered(compiled.text(format))
        );
    }
}

/// Text with line numbers, as nft's error messages refer to them.
pub fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:4} | {l}\n", i + 1))
        .collect()
}
