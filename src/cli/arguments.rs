//! The command line as clap sees it.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use super::output::{ColorChoice, DataFormat, Format};

/// Turn a readable port policy into a correct nftables firewall, and catch the mistakes on the way.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, max_term_width = 100)]
pub struct Arguments {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output. `auto` honours NO_COLOR and colours only terminals.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The project configuration. Default: `portcullis.yaml` next to the (first) policy file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check policy files: syntax, names, ports and every lint rule.
    ///
    /// Exits 0 when there is nothing at error level, 1 when there is, 2 on usage or I/O errors.
    Check(CheckArgs),
    /// Look up a service name or port in the embedded IANA registry.
    ///
    /// QUERY is a name (`ssh`), a port (`22`), a port and protocol (`22/tcp`, `tcp/22`) or a range
    /// (`6000-6063/tcp`).
    Lookup(LookupArgs),
    /// List the lint rules with their codes and default levels.
    Rules(RulesArgs),
    /// Print the documentation of one lint rule.
    Rule(RuleArgs),
    /// Compile a policy to an nftables ruleset (`nft -f` script or libnftables JSON).
    ///
    /// Refuses, writing nothing, while the policy has error-level findings (exit 1). Files are
    /// written atomically: a temporary file in the same directory, then a rename.
    Compile(CompileArgs),
    /// Show which rule decides a packet, or that the chain's default does.
    ///
    /// Example: `portcullis explain web.pcl tcp/8080 from 10.10.0.5`.
    Explain(ExplainArgs),
    /// Compare two versions of a policy: which packets become accepted or refused, from where,
    /// and which rule decides them on each side.
    ///
    /// `portcullis diff OLD NEW`, or `portcullis diff --base REV FILE...` to compare files with
    /// themselves at a git revision. Exits 0 when exposure is unchanged, 1 when it changes, 2 on
    /// errors.
    Diff(DiffArgs),
    /// Prove the policy's `expect` statements in a real kernel: load each host's ruleset into a
    /// throw-away network namespace and send real TCP and UDP probes, IPv4 and IPv6.
    ///
    /// Every probe must do what its expectation says and what the model (`explain`) says; one on
    /// which the kernel and the model disagree means the ruleset is not what the policy compiles
    /// to. Needs root. Exits 0 when every expectation held, 1 when one did not (or the policy has
    /// errors), 2 on usage or setup errors.
    Test(TestArgs),
    /// Load a policy into this host's firewall, replacing only portcullis's own table.
    ///
    /// Refuses while the policy has error-level findings (exit 1). With `--confirm-within`, the
    /// table is restored by itself at the deadline unless `portcullis confirm` runs first, even
    /// if this command, its terminal or its login session is killed.
    Apply(ApplyArgs),
    /// Keep what the last apply loaded: cancel its pending rollback.
    ///
    /// Run it from a new connection: the firewall lets established connections through, so the
    /// session that applied stays up even when the new rules would refuse a new one.
    Confirm(StateArgs),
    /// Restore the table as it was before the last apply, now.
    Rollback(RollbackArgs),
    /// What is applied, whether a rollback is pending, and whether the live table still matches.
    Status(StatusArgs),
    /// Hold the sockets listening on this machine against its host's policy.
    ///
    /// Reports listeners the network reaches that no bind declares (error), binds with nothing
    /// listening and listeners of another process or user than their bind (warnings), allows
    /// with nothing listening and listeners on every address that the policy closes (info).
    /// Sees the sockets of its own network namespace; run as root to see every process. Exits
    /// 0 when there is nothing at error level, 1 when there is, 2 on usage or I/O errors.
    Audit(AuditArgs),
    /// Print the completion script for a shell.
    ///
    /// `portcullis completions bash > ~/.local/share/bash-completion/completions/portcullis`;
    /// README.md says where zsh and fish look for theirs.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write a page for every subcommand with `--out-dir`.
    ///
    /// `portcullis man | man -l -` reads it now; `portcullis man --out-dir
    /// /usr/local/share/man/man1` installs `portcullis(1)` and `portcullis-check(1)` and the rest.
    Man(ManArgs),
    /// Print the JSON Schema of the YAML policy form or of `portcullis.yaml`, for editors.
    ///
    /// Editors with a YAML language server validate and complete a file against it; docs/yaml.md
    /// and docs/configuration.md say how to point them at it.
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The policy file; `-` reads standard input.
    pub file: PathBuf,

    /// The host of the policy this machine is. Default: the only host, else the host named as
    /// this machine is (its host name, or the part before the first dot).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(flatten)]
    pub levels: LevelArgs,

    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,

    #[command(flatten)]
    pub stdin: StdinArgs,
}

/// Where the deploying commands keep their state.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state directory. Default: `$PORTCULLIS_STATE_DIR`, else `/var/lib/portcullis`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// What fires a pending rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuardChoice {
    /// A systemd timer where systemd runs this network namespace, else a detached process.
    Auto,
    /// A transient systemd timer (`systemd-run`).
    Systemd,
    /// A detached process in a session of its own.
    Process,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The policy file; `-` reads standard input.
    pub file: PathBuf,

    #[command(flatten)]
    pub levels: LevelArgs,

    #[command(flatten)]
    pub stdin: StdinArgs,

    /// The host to apply; required when the policy has several hosts.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Restore the table by itself unless `portcullis confirm` runs within DURATION (`90s`,
    /// `5m`). Default: `deploy.confirm-within` in the configuration; `0s` for none.
    #[arg(long, value_name = "DURATION")]
    pub confirm_within: Option<String>,

    /// Show what would be loaded and what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Replace the table even though this state directory has no record of portcullis loading
    /// it (a table of the same name made by hand or by another tool). Its content becomes the
    /// restore point, so `portcullis rollback` brings it back.
    #[arg(long)]
    pub take_over: bool,

    /// What fires the rollback.
    #[arg(long, value_enum, default_value_t = GuardChoice::Auto)]
    pub guard: GuardChoice,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Run by a rollback guard: wait for the deadline of apply N, and roll back only if it is
    /// still unconfirmed.
    #[arg(long, value_name = "N", hide = true)]
    pub due: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub format: DataFormat,
}

/// Output formats of `compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesetFormat {
    /// A script for `nft -f`.
    Nft,
    /// libnftables JSON, for `nft -j -f`.
    Json,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The policy file; `-` reads standard input.
    pub file: PathBuf,

    #[command(flatten)]
    pub levels: LevelArgs,

    #[command(flatten)]
    pub stdin: StdinArgs,

    /// The host to compile; required when the policy has several hosts and `--out-dir` is not
    /// given.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesetFormat::Nft)]
    pub format: RulesetFormat,

    /// Write the ruleset to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,

    /// Write one file per host into DIR (`HOST.nft` or `HOST.json`).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The policy file; `-` reads standard input.
    pub file: PathBuf,

    #[command(flatten)]
    pub levels: LevelArgs,

    #[command(flatten)]
    pub stdin: StdinArgs,

    /// The host whose chains to evaluate; required when the policy has several hosts.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// The chain to evaluate.
    #[arg(long, value_enum, default_value_t = ChainChoice::Input)]
    pub chain: ChainChoice,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub format: DataFormat,

    /// The packet: its protocol (`tcp/8080`, `udp/53`, `icmp/echo-request`, `icmpv6/135`,
    /// `gre`, `proto/47`) and `from ADDR`, with `to ADDR` and `on IFACE` if they matter, in any
    /// order.
    #[arg(required = true, num_args = 1.., value_name = "PACKET")]
    pub packet: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// OLD and NEW; with `--base`, the policy files to compare with their own versions at REV.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Compare each FILE with itself at this git revision (`origin/main`, `HEAD~1`), its
    /// includes and `portcullis.yaml` as they were there too.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Only this host.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The policy file; `-` reads standard input.
    pub file: PathBuf,

    #[command(flatten)]
    pub levels: LevelArgs,

    #[command(flatten)]
    pub stdin: StdinArgs,

    /// Only this host (default: every host with `expect` statements).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Prove this ruleset (an `nft -f` script or libnftables JSON, as `portcullis compile`
    /// writes it) instead of compiling the policy: the artifact that will be deployed. Needs
    /// `--host` when the policy has several hosts.
    #[arg(long, value_name = "FILE")]
    pub ruleset: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
}

/// Output formats of `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// Readable text.
    Human,
    /// JSON: each host, expectation and probe.
    Json,
    /// JUnit XML: one test case per expectation, for CI systems.
    Junit,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Readable text.
    Human,
    /// JSON with a stable, documented schema.
    Json,
    /// A Markdown table, fit for a pull-request comment.
    Markdown,
    /// GitHub Actions annotations at the rules that decide each change.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChainChoice {
    Input,
    Output,
    Forward,
}

impl ChainChoice {
    pub fn kind(self) -> crate::model::ChainKind {
        use crate::model::ChainKind;
        match self {
            ChainChoice::Input => ChainKind::Input,
            ChainChoice::Output => ChainKind::Output,
            ChainChoice::Forward => ChainKind::Forward,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy files (`.pcl`, or `.yaml`/`.yml` for the YAML form); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(flatten)]
    pub levels: LevelArgs,

    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,

    #[command(flatten)]
    pub stdin: StdinArgs,
}

/// How a policy read from standard input (`-`) is named.
#[derive(Debug, Args)]
pub struct StdinArgs {
    /// The name of the policy read from `-`: in messages, for the form (`.yaml` reads YAML) and
    /// as the place its includes and `portcullis.yaml` are found from.
    #[arg(long, value_name = "NAME", default_value = StdinArgs::DEFAULT_NAME)]
    pub stdin_name: String,
}

impl StdinArgs {
    /// The name of standard input when `--stdin-name` is not given.
    pub const DEFAULT_NAME: &'static str = "<stdin>";
}

/// `--error`, `--warn` and `--ignore`: the levels of lint rules for this run, in the order the
/// command line gives them (a later flag for the same rule wins).
///
/// clap keeps each flag's values apart and their positions only as indices, so this type reads
/// the matches itself: the flags are declared by [`Args::augment_args`] and collected, in order,
/// by [`FromArgMatches::from_arg_matches`].
#[derive(Debug, Default)]
pub struct LevelArgs {
    /// Each flag's rule (name or code, as given) and level, in command-line order.
    pub ordered: Vec<(String, crate::lint::Level)>,
}

/// The three level flags: their ids, the level each sets, and their help.
const LEVEL_FLAGS: [(&str, crate::lint::Level, &str); 3] = [
    (
        "error",
        crate::lint::Level::Error,
        "Report RULE (name or code) as an error. Repeatable; later flags win.",
    ),
    (
        "warn",
        crate::lint::Level::Warning,
        "Report RULE as a warning. Repeatable; later flags win.",
    ),
    (
        "ignore",
        crate::lint::Level::Off,
        "Do not report RULE. Repeatable; later flags win.",
    ),
];

impl FromArgMatches for LevelArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Vec::new();
        for (id, level, _) in LEVEL_FLAGS {
            if let (Some(indices), Some(values)) =
                (matches.indices_of(id), matches.get_many::<String>(id))
            {
                flags.extend(indices.zip(values).map(|(i, v)| (i, v.clone(), level)));
            }
        }
        flags.sort_by_key(|(index, _, _)| *index);
        let ordered = flags.into_iter().map(|(_, v, l)| (v, l)).collect();
        Ok(LevelArgs { ordered })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for LevelArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        LEVEL_FLAGS.iter().fold(cmd, |cmd, (id, _, help)| {
            cmd.arg(
                Arg::new(*id)
                    .long(*id)
                    .value_name("RULE")
                    .action(ArgAction::Append)
                    .help(*help),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// `ssh`, `22`, `22/tcp`, `6000-6063/tcp`.
    pub query: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub format: DataFormat,
}

/// The shells `completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `portcullis.1` and one page per subcommand (`portcullis-check.1`, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// The documents `schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaDocument {
    /// A policy in the YAML form (`.yaml`, `.yml`).
    Policy,
    /// The project configuration, `portcullis.yaml`.
    Config,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document's schema to print.
    #[arg(value_enum)]
    pub document: SchemaDocument,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// A rule name (`shadowed-rule`) or code (`PC201`).
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Arguments::command().debug_assert();
    }
}
