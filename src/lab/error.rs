//! What can go wrong while building a lab network or probing through it.

use std::io;

/// A lab network that could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A program (`ip`, `sysctl`) could not be started.
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    /// A program ran and failed.
    #[error("`{command}` failed: {output}")]
    Failed { command: String, output: String },
    /// A thread could not enter a namespace.
    #[error("cannot enter network namespace {path}: {source}")]
    Enter {
        path: String,
        #[source]
        source: nix::Error,
    },
    /// A socket could not be made, bound or served.
    #[error("{what}: {source}")]
    Socket {
        what: String,
        #[source]
        source: io::Error,
    },
    /// A ruleset nft refused to load, with nft's words.
    #[error("{0}")]
    Load(String),
}
