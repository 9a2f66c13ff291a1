//! Why a command could not do its work (exit 2), as one type: usage mistakes in the command's own
//! words, and the typed errors of the layers below, each kept as what it is.

use crate::compile::CompileError;
use crate::config::ConfigError;
use crate::fsio::WriteError;
use crate::load::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something that cannot be: a host that does not exist, a packet
    /// without an address, a rule name that is no rule.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot compile host `{host}`: {error}")]
    Compile { host: String, error: CompileError },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot create the directory `{path}`: {reason}")]
    CreateDir { path: String, reason: String },
    #[error(transparent)]
    Deploy(#[from] crate::deploy::DeployError),
    #[error(
        "portcullis test builds network namespaces and loads rulesets into them, which needs \
         root; run it with sudo (nothing was probed)"
    )]
    NeedsRoot,
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot set up the test network: {0}")]
    Lab(#[from] crate::lab::LabError),
    #[error(transparent)]
    Sockets(#[from] crate::audit::SocketsError),
    #[error("cannot lay out JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Usage(message)
    }
}
