//! The one place that runs `nft`: finding the binary, checking its version, validating (`-c`),
//! loading (`-f`) and listing a table as JSON, on this host or inside a named network namespace.
//!
//! Scripts go to nft on standard input, never through a temporary file. Errors are typed and say
//! what nft said; nothing here parses a live ruleset into the compiler's types.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The oldest nft whose scripts portcullis writes: Debian 12's.
pub const MINIMUM_VERSION: Version = Version(1, 0, 6);

/// The environment variable that names the nft binary (default: `nft` on the `PATH`).
pub const NFT_VAR: &str = "PORTCULLIS_NFT";

/// An nft version, `1.0.6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// The version in `nft --version` output: `nftables v1.0.6 (Lester Gooch #5)`.
    pub fn parse(text: &str) -> Option<Version> {
        let word = text.split_whitespace().find(|w| w.starts_with('v'))?;
        let mut parts = word[1..].split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Version(major, minor, patch))
    }
}

/// Why nft could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run `{program}`: {reason}")]
    Spawn { program: String, reason: String },
    #[error("`{program} --version` printed no version: {output:?}")]
    NoVersion { program: String, output: String },
    #[error("nft {found} is too old: portcullis needs nft {MINIMUM_VERSION} or newer")]
    TooOld { found: Version },
    #[error("nft refused the ruleset: {message}")]
    Refused { message: String },
}

/// How to run nft: which binary, and in which network namespace.
#[derive(Debug, Clone)]
pub struct Nft {
    program: PathBuf,
    netns: Option<String>,
}

impl Nft {
    /// `$PORTCULLIS_NFT`, or `nft` on the `PATH`.
    pub fn from_env() -> Nft {
        let program = std::env::var_os(NFT_VAR)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("nft"), PathBuf::from);
        Nft::at(program)
    }

    /// The nft binary at `program`.
    pub fn at(program: impl Into<PathBuf>) -> Nft {
        Nft {
            program: program.into(),
            netns: None,
        }
    }

    /// The same nft, run inside the named network namespace (`ip netns exec`).
    pub fn in_netns(mut self, name: &str) -> Nft {
        self.netns = Some(name.to_string());
        self
    }

    fn command(&self) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        }
    }

    fn program(&self) -> String {
        self.program.display().to_string()
    }

    /// Runs nft with `args`, `input` on its standard input; its standard output.
    fn run(&self, args: &[&str], input: Option<&str>) -> Result<String, NftError> {
        let spawn = |e: std::io::Error| NftError::Spawn {
            program: self.program(),
            reason: crate::fsio::reason(&e),
        };
        let mut child = self
            .command()
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn)?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // nft reads all of its input before it answers; a refusal closes the pipe early.
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(NftError::Refused {
                message: if message.is_empty() {
                    format!("nft exited with {}", out.status)
                } else {
                    message
                },
            })
        }
    }

    /// The version of this nft.
    pub fn version(&self) -> Result<Version, NftError> {
        let out = self.run(&["--version"], None)?;
        Version::parse(&out).ok_or_else(|| NftError::NoVersion {
            program: self.program(),
            output: out.trim().to_string(),
        })
    }

    /// The version, refused when older than [`MINIMUM_VERSION`].
    pub fn supported_version(&self) -> Result<Version, NftError> {
        let found = self.version()?;
        if found < MINIMUM_VERSION {
            return Err(NftError::TooOld { found });
        }
        Ok(found)
    }

    /// Validates a script (`nft -c -f -`); nothing changes. `json` for libnftables JSON.
    pub fn check(&self, script: &str, json: bool) -> Result<(), NftError> {
        let args: &[&str] = if json {
            &["-j", "-c", "-f", "-"]
        } else {
            &["-c", "-f", "-"]
        };
        self.run(args, Some(script)).map(|_| ())
    }

    /// Loads a script in one transaction (`nft -f -`): all of it, or nothing.
    pub fn load(&self, script: &str, json: bool) -> Result<(), NftError> {
        let args: &[&str] = if json {
            &["-j", "-f", "-"]
        } else {
            &["-f", "-"]
        };
        self.run(args, Some(script)).map(|_| ())
    }

    /// `nft -j list ruleset`, as nft prints it.
    pub fn list_ruleset_json(&self) -> Result<String, NftError> {
        self.run(&["-j", "list", "ruleset"], None)
    }

    /// `nft -j list table inet TABLE`, as nft prints it.
    pub fn list_table_json(&self, table: &str) -> Result<String, NftError> {
        self.run(&["-j", "list", "table", "inet", table], None)
    }

    /// `nft list table inet TABLE` as text (`json`: as JSON; `stateless`: without counter values
    /// and other state), or `None` when there is no such table.
    pub fn table(
        &self,
        table: &str,
        json: bool,
        stateless: bool,
    ) -> Result<Option<String>, NftError> {
        let mut args = Vec::with_capacity(6);
        if json {
            args.push("-j");
        }
        if stateless {
            args.push("-s");
        }
        args.extend(["list", "table", "inet", table]);
        match self.run(&args, None) {
            Ok(listing) => Ok(Some(listing)),
            // nft's answer for a table that does not exist.
            Err(NftError::Refused { message }) if message.contains("No such file or directory") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_nft_output() {
        assert_eq!(
            Version::parse("nftables v1.0.6 (Lester Gooch #5)"),
            Some(Version(1, 0, 6))
        );
        assert_eq!(Version::parse("nftables v1.1\n"), Some(Version(1, 1, 0)));
        assert_eq!(Version::parse("no version here"), None);
        assert!(Version(1, 0, 6) < Version(1, 0, 7));
        assert!(Version(0, 9, 8) < MINIMUM_VERSION);
    }

    #[test]
    fn a_missing_binary_is_a_clear_error() {
        let err = Nft::at("/nonexistent/nft").version().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot run `/nonexistent/nft`: no such file"
        );
    }
}
