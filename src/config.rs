//! The project configuration, `portcullis.yaml`: registry overlays, lint levels and compiler
//! options.
//!
//! It is found next to the first policy file, or given with `--config`. Every key is optional;
//! unknown keys are errors so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::values::TableName;
use crate::model::PortRange;
use crate::registry::Overlay;
use crate::rule::Level;

/// The file name looked up next to a policy.
pub const FILE_NAME: &str = "portcullis.yaml";

/// The project configuration (docs/configuration.md). Every key is optional.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "portcullis.yaml")]
pub struct Config {
    /// Where service names come from besides the policy and the IANA registry.
    #[serde(default)]
    pub registry: RegistryConfig,
    /// The lint rules' levels and what they assume about the hosts.
    #[serde(default)]
    pub lint: LintConfig,
    /// The generated nftables table.
    #[serde(default)]
    pub compile: CompileConfig,
    /// How `portcullis apply` deploys.
    #[serde(default)]
    pub deploy: DeployConfig,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// services(5) files layered over the IANA registry, first listed wins; paths are relative to
    /// the configuration file.
    #[serde(default)]
    pub overlays: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Level per rule name or code: `error`, `warning`, `info` or `off`.
    #[serde(default)]
    pub levels: BTreeMap<String, Level>,
    /// The ephemeral port range of the hosts (Linux `net.ipv4.ip_local_port_range`).
    #[serde(default = "default_ephemeral_range")]
    pub ephemeral_range: String,
    /// Services the operator manages the hosts through; an input chain must let at least one of
    /// them in from somewhere. Unset, each host's management service is what its `sshd` binds
    /// (or `ssh`, for a host that declares no binds).
    #[serde(default)]
    pub management_services: Option<Vec<String>>,
    /// Where each key of `levels` is written (line, column), for [`Settings::check_rule_names`].
    #[serde(skip)]
    pub level_positions: BTreeMap<String, (usize, usize)>,
}

fn default_ephemeral_range() -> String {
    "32768-60999".to_string()
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            levels: BTreeMap::new(),
            ephemeral_range: default_ephemeral_range(),
            management_services: None,
            level_positions: BTreeMap::new(),
        }
    }
}

impl LintConfig {
    pub fn ephemeral_ports(&self) -> Result<PortRange, String> {
        let bad = || {
            format!(
                "`lint.ephemeral-range` must look like `32768-60999`, found `{}`",
                self.ephemeral_range
            )
        };
        let (lo, hi) = self.ephemeral_range.split_once('-').ok_or_else(bad)?;
        let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
        if lo == 0 {
            return Err(format!(
                "`lint.ephemeral-range` starts at port 0, found `{}`; ports run from 1 to 65535",
                self.ephemeral_range
            ));
        }
        PortRange::new(lo, hi).ok_or_else(bad)
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompileConfig {
    /// The table portcullis owns and replaces; nothing else is touched.
    #[serde(default)]
    pub table: TableName,
    /// The rules every generated chain starts with; each part can be switched off.
    #[serde(default)]
    pub baseline: Baseline,
}

/// How `apply` deploys.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// `apply --confirm-within`'s default: `90s`, `5m`; `0s` or unset for none.
    #[serde(default)]
    pub confirm_within: Option<String>,
}

impl DeployConfig {
    /// The default time to confirm an apply within; `None` for none.
    pub fn confirm_within(&self) -> Result<Option<std::time::Duration>, String> {
        self.confirm_within
            .as_deref()
            .map(parse_confirm_within)
            .transpose()
            .map(Option::flatten)
    }
}

/// The shortest time to confirm within: enough to open a new connection and run `confirm`.
pub const CONFIRM_WITHIN_MIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest time to confirm within: a rollback a day later would undo more than the apply.
pub const CONFIRM_WITHIN_MAX: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// A time to confirm an apply within, as the user writes it: `90s`, `2m`, `1h`, `1m 30s`,
/// `1m30s`; `0s` for none. Only seconds, minutes and hours, in lower case: `5M` and `1d` are
/// refused rather than read as months or days.
pub fn parse_confirm_within(text: &str) -> Result<Option<std::time::Duration>, String> {
    let unitless = || {
        format!(
            "`{text}` is not a duration: write numbers with a unit `s`, `m` or `h`, such as `90s`, \
             `5m` or `1m 30s` (`0s` for none)"
        )
    };
    let mut seconds: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(unitless());
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, after) = rest.split_at(digits);
        let unit = match after.chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 60 * 60,
            _ => return Err(unitless()),
        };
        let value: u64 = match number.parse() {
            Ok(value) => value,
            // Digits too many for a number: longer than any limit.
            Err(_) if !number.is_empty() => u64::MAX,
            Err(_) => return Err(unitless()),
        };
        seconds = value
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .unwrap_or(u64::MAX);
        rest = after[1..].trim_start();
    }
    let duration = std::time::Duration::from_secs(seconds);
    match duration {
        d if d.is_zero() => Ok(None),
        d if d < CONFIRM_WITHIN_MIN => Err(format!(
            "`{text}` is too short to confirm within: opening a new connection and running \
             `portcullis confirm` needs at least {}s",
            CONFIRM_WITHIN_MIN.as_secs()
        )),
        d if d > CONFIRM_WITHIN_MAX => Err(format!(
            "`{text}` is too long to confirm within: at most {}h",
            CONFIRM_WITHIN_MAX.as_secs() / 3600
        )),
        d => Ok(Some(d)),
    }
}

/// The rules every generated chain starts with. Each part can be switched off.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Baseline {
    /// `ct state established,related accept`
    #[serde(default = "yes")]
    #[schemars(with = "crate::yaml_words::Boolean")]
    pub established: bool,
    /// `ct state invalid drop`
    #[serde(default = "yes")]
    #[schemars(with = "crate::yaml_words::Boolean")]
    pub invalid: bool,
    /// Accept everything on the loopback interface.
    #[serde(default = "yes")]
    #[schemars(with = "crate::yaml_words::Boolean")]
    pub loopback: bool,
    /// The ICMP and ICMPv6 types IPv4 and IPv6 need (RFC 4890 for ICMPv6): errors, neighbour
    /// and multicast listener discovery.
    #[serde(default = "yes")]
    #[schemars(with = "crate::yaml_words::Boolean")]
    pub icmp: bool,
    /// Echo requests (ping) from anywhere, and ICMPv6 echo replies.
    #[serde(default = "yes")]
    #[schemars(with = "crate::yaml_words::Boolean")]
    pub ping: bool,
}

impl Baseline {
    /// The parts that decide new connections, which the model holds as rules.
    pub fn parts(&self) -> crate::model::baseline::Parts {
        crate::model::baseline::Parts {
            loopback: self.loopback,
            icmp: self.icmp,
            ping: self.ping,
        }
    }
}

fn yes() -> bool {
    true
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            established: true,
            invalid: true,
            loopback: true,
            icmp: true,
            ping: true,
        }
    }
}

/// A configuration with everything it refers to loaded.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub config: Config,
    /// Where the configuration came from, if anywhere.
    pub path: Option<PathBuf>,
    pub overlays: Vec<Overlay>,
}

/// Why a configuration could not be loaded. Always fatal (exit 2): a policy checked against the
/// wrong configuration would give wrong answers.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Overlay { path: String, message: String },
}

/// serde-saphyr's message for a configuration error in our words: without its own position (the
/// error has one) and with key names quoted.
fn config_message(error: &serde_saphyr::Error) -> String {
    let phrase = crate::yaml_words::phrase(error);
    let message = phrase.as_str();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // "unknown field `levles`, expected one of levels, ephemeral-range"
        let (key, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let choices: Vec<String> = expected
            .trim_start_matches("one of ")
            .trim_start_matches("`")
            .split(", ")
            .map(|k| k.trim_matches('`'))
            .filter(|k| !k.is_empty())
            .map(|k| format!("`{k}`"))
            .collect();
        let key_name = key.trim_matches('`');
        let closest = choices
            .iter()
            .map(|c| (strsim::levenshtein(c.trim_matches('`'), key_name), c))
            .min()
            .filter(|(d, _)| *d <= 2);
        return match (closest, choices.is_empty()) {
            (Some((_, best)), _) => format!("unknown key {key}; did you mean {best}?"),
            (None, false) => format!(
                "unknown key {key}; the keys here are {}",
                choices.join(", ")
            ),
            (None, true) => format!("unknown key {key}"),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (value, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let choices: Vec<String> = expected
            .trim_start_matches("one of ")
            .split(", ")
            .map(|k| format!("`{}`", k.trim_matches('`')))
            .collect();
        return format!(
            "unknown value {value}; expected one of {}",
            choices.join(", ")
        );
    }
    match message {
        "invalid boolean" => "expected `true` or `false`".to_string(),
        other => other.to_string(),
    }
}

/// The JSON Schema of `portcullis.yaml`, derived from the types that read it; in draft 7, as the
/// YAML form's ([`crate::syntax::yaml_schema`]).
pub fn schema() -> schemars::Schema {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Config>();
    // A file of comments only is the defaults, and an editor reads it as `null`.
    schema.insert("type".into(), serde_json::json!(["object", "null"]));
    schema.insert(
        "$comment".into(),
        "Printed by `portcullis schema config`; docs/configuration.md describes the file.".into(),
    );
    schema
}

/// Configuration files and overlays larger than this are refused (they are a few KiB).
const MAX_CONFIG_SIZE: u64 = 4 * 1024 * 1024;

/// The text of a configuration file or overlay: a regular file, bounded, UTF-8.
fn read_text(path: &Path, shown: &str) -> Result<String, ConfigError> {
    let bytes =
        crate::fsio::read_regular(path, MAX_CONFIG_SIZE).map_err(|reason| ConfigError::Read {
            path: shown.to_string(),
            reason,
        })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        ConfigError::Invalid {
            path: shown.to_string(),
            line,
            column,
            message: "the file is not valid UTF-8".to_string(),
        }
    })
}

/// Where `key` is first written as a key in YAML `text` (1-based line and column), or 1:1.
fn key_position(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let bare = trimmed.trim_start_matches(['"', '\'']);
        if bare.starts_with(key)
            && bare[key.len()..]
                .trim_start_matches(['"', '\''])
                .starts_with(':')
        {
            return (i + 1, line.len() - trimmed.len() + 1);
        }
    }
    (1, 1)
}

/// Checks one entry of `lint.management-services`: `tcp/22`, `tcp/2222-2223`, or a service name.
fn management_service(text: &str) -> Result<(), String> {
    let text = text.trim();
    let (head, tail) = match text.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (text, None),
    };
    if let Ok(protocol) = head.parse::<crate::model::Protocol>() {
        let Some(ports) = tail else {
            return Ok(());
        };
        let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|&p| p >= 1);
        return match (port(lo), port(hi)) {
            (Some(lo), Some(hi)) if lo <= hi => Ok(()),
            _ => Err(format!(
                "`lint.management-services` lists `{text}`: {protocol} ports run from 1 to 65535, low to high"
            )),
        };
    }
    let well_formed = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if !well_formed {
        return Err(format!(
            "`lint.management-services` lists `{}`, which is neither a port spec like `tcp/22` nor a service name",
            text.escape_debug()
        ));
    }
    Ok(())
}

impl Settings {
    /// Loads `explicit`, else `portcullis.yaml` next to `policy`, else the defaults.
    pub fn discover(
        explicit: Option<&Path>,
        policy: Option<&Path>,
    ) -> Result<Settings, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => policy
                .and_then(|p| p.parent())
                .map(|dir| {
                    if dir.as_os_str().is_empty() {
                        Path::new(".").join(FILE_NAME)
                    } else {
                        dir.join(FILE_NAME)
                    }
                })
                .filter(|p| p.is_file()),
        };
        match path {
            Some(path) => Self::load(&path),
            None => Ok(Settings::default()),
        }
    }

    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let shown = path.display().to_string();
        let text = read_text(path, &shown)?;
        let config = Self::parse(&shown, &text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut overlays = Vec::new();
        for overlay in &config.registry.overlays {
            let overlay_path = base.join(overlay);
            let name = overlay_path.display().to_string();
            let text = read_text(&overlay_path, &name)?;
            let parsed = Overlay::parse(&name, &text).map_err(|errors| ConfigError::Overlay {
                path: name.clone(),
                message: errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
            overlays.push(parsed);
        }
        Ok(Settings {
            config,
            path: Some(path.to_path_buf()),
            overlays,
        })
    }

    /// Checks that `lint.levels` names only rules that exist (`known`: the linter's registry,
    /// which sits above the configuration).
    pub fn check_rule_names(&self, known: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        let lint = &self.config.lint;
        match lint.levels.keys().find(|name| !known(name)) {
            None => Ok(()),
            Some(name) => {
                let (line, column) = lint.level_positions.get(name).copied().unwrap_or((1, 1));
                Err(ConfigError::Invalid {
                    path: self
                        .path
                        .as_ref()
                        .map_or_else(|| FILE_NAME.to_string(), |p| p.display().to_string()),
                    line,
                    column,
                    message: format!("`lint.levels` names an unknown rule `{name}`"),
                })
            }
        }
    }

    /// Parses configuration text; `path` only names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            ConfigError::Invalid {
                path: path.to_string(),
                line,
                column,
                message: config_message(&e),
            }
        })?;
        let invalid = |key: &str, message: String| {
            let (line, column) = key_position(text, key);
            ConfigError::Invalid {
                path: path.to_string(),
                line,
                column,
                message,
            }
        };
        config
            .lint
            .ephemeral_ports()
            .map_err(|message| invalid("ephemeral-range", message))?;
        let mut config = config;
        config.lint.level_positions = config
            .lint
            .levels
            .keys()
            .map(|name| (name.clone(), key_position(text, name)))
            .collect();
        config
            .deploy
            .confirm_within()
            .map_err(|message| invalid("confirm-within", message))?;
        for service in config.lint.management_services.iter().flatten() {
            if let Err(message) = management_service(service) {
                return Err(invalid("management-services", message));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_default() {
        let c = Settings::parse("p.yaml", "").unwrap();
        assert_eq!(c.compile.table.as_str(), "portcullis");
        assert!(c.compile.baseline.icmp);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let err = Settings::parse("p.yaml", "lint:\n  levls: {}\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("p.yaml:2:"), "{text}");
    }

    #[test]
    fn levels_name_known_rules() {
        let c = Settings::parse("p.yaml", "lint:\n  levels:\n    host-bits-set: error\n").unwrap();
        assert_eq!(c.lint.levels["host-bits-set"], Level::Error);
        let settings = Settings {
            config: Settings::parse("p.yaml", "lint:\n  levels:\n    no-such-rule: off\n").unwrap(),
            path: Some("p.yaml".into()),
            overlays: Vec::new(),
        };
        let err = settings
            .check_rule_names(|n| crate::lint::find(n).is_some())
            .unwrap_err();
        assert!(err.to_string().starts_with("p.yaml:3:5:"), "{err}");
    }

    #[test]
    fn durations_have_units() {
        use std::time::Duration;
        let secs = |n| Ok(Some(Duration::from_secs(n)));
        assert_eq!(parse_confirm_within("90s"), secs(90));
        assert_eq!(parse_confirm_within("2m"), secs(120));
        assert_eq!(parse_confirm_within("1h"), secs(3600));
        assert_eq!(parse_confirm_within("1m 30s"), secs(90));
        assert_eq!(parse_confirm_within(" 1m30s "), secs(90));
        assert_eq!(parse_confirm_within("0s"), Ok(None));
        assert_eq!(parse_confirm_within("0m 0s"), Ok(None));
        for unitless in [
            "90",
            "0",
            "",
            "5M",
            "1d",
            "2 m",
            "1.5m",
            "m",
            "-5s",
            "5 minutes",
        ] {
            let err = parse_confirm_within(unitless).unwrap_err();
            assert!(err.contains("`90s`"), "{unitless}: {err}");
        }
        assert!(parse_confirm_within("5s")
            .unwrap_err()
            .contains("at least 10s"));
        assert!(parse_confirm_within("25h")
            .unwrap_err()
            .contains("at most 24h"));
        assert!(parse_confirm_within("99999999999999999999s")
            .unwrap_err()
            .contains("at most"));
        assert!(parse_confirm_within("18446744073709551615h")
            .unwrap_err()
            .contains("at most"));
        let none = DeployConfig {
            confirm_within: Some("0s".to_string()),
        };
        assert_eq!(none.confirm_within(), Ok(None));
        let wrong = "deploy:\n  confirm-within: 5M\n";
        assert!(Settings::parse("p.yaml", wrong).is_err());
    }
}
