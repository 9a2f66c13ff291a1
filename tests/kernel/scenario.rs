//! One policy, end to end: check it, compile a host, build its network, load the ruleset, probe
//! everything the plan says and hold every outcome against the model.

use std::path::Path as FsPath;

use portcullis::config::{CompileConfig, Settings};
use portcullis::diagnostic::Severity;
use portcullis::lint::Levels;
use portcullis::model::Host;
use portcullis::pipeline::{self, Checked as CheckedPolicy};

use super::oracle::Oracle;
use super::plan::Plan;
use super::ruleset::{self, Compiled, Format};
use super::topology::Topology;
use super::verify::{self, Listening, Report};

/// A policy that passed `check` without errors.
pub struct PolicyCase {
    /// The file name or the test's name for it.
    pub label: String,
    /// The root file's text, shown on failure.
    pub text: String,
    pub checked: CheckedPolicy,
    /// `compile:` of portcullis.yaml, which the policy was checked and is compiled with.
    pub config: CompileConfig,
}

impl PolicyCase {
    /// Policy text, through the same front end as `portcullis check`.
    pub fn from_text(label: &str, text: &str) -> PolicyCase {
        PolicyCase::from_text_with(label, text, CompileConfig::default())
    }

    /// Policy text with `compile:` settings of portcullis.yaml (a baseline part off, say).
    pub fn from_text_with(label: &str, text: &str, config: CompileConfig) -> PolicyCase {
        let mut settings = Settings::default();
        settings.config.compile = config;
        let levels = Levels::from_config(&settings.config.lint);
        let loaded = portcullis::load::load_text(label, text);
        PolicyCase::new(
            label,
            text.to_string(),
            pipeline::check(loaded, &settings, &levels),
            settings.config.compile,
        )
    }

    /// A policy file with its includes and the `portcullis.yaml` beside it, if any.
    pub fn from_file(path: &FsPath) -> PolicyCase {
        let settings = Settings::discover(None, Some(path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let levels = Levels::from_config(&settings.config.lint);
        let loaded =
            portcullis::load::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = std::fs::read_to_string(path).expect("the file was just loaded");
        let label = path.display().to_string();
        let checked = pipeline::check(loaded, &settings, &levels);
        PolicyCase::new(&label, text, checked, settings.config.compile)
    }

    fn new(label: &str, text: String, checked: CheckedPolicy, config: CompileConfig) -> PolicyCase {
        let case = PolicyCase {
            label: label.to_string(),
            text,
            checked,
            config,
        };
        let errors = case.findings(Severity::Error);
        assert!(
            errors.is_empty(),
            "{label}: `check` reports errors, so this is no policy to compile:\n{}\n--- policy ---\n{}",
            errors.join("\n"),
            case.text
        );
        case
    }

    /// Findings of one severity, one line each.
    pub fn findings(&self, severity: Severity) -> Vec<String> {
        let sources = &self.checked.loaded.sources;
        self.checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .map(|d| {
                format!(
                    "{}: [{}] {}",
                    sources.location(d.primary.span),
                    d.rule,
                    d.message
                )
            })
            .collect()
    }

    /// The host of that name, or the only (unnamed) host.
    pub fn host(&self, name: Option<&str>) -> &Host {
        self.checked
            .policy
            .host(name)
            .unwrap_or_else(|| panic!("{}: no host {name:?}", self.label))
    }

    pub fn compile(&self, host: &Host) -> Compiled {
        ruleset::compile_with(&self.checked.policy, host, &self.config).unwrap_or_else(|e| {
            panic!(
                "{}: host `{}` does not compile: {e}\n--- policy ---\n{}",
                self.label,
                host.display_name(),
                self.text
            )
        })
    }

    pub fn oracle<'a>(&'a self, host: &'a Host) -> Oracle<'a> {
        Oracle::new(host, Some(&self.checked.loaded.sources))
    }
}

/// What a whole-host verification did, for the test's summary line.
pub struct Verified {
    pub summary: String,
}

/// Proves that the compiled host does what the policy says, probe by probe; panics with every
/// disagreement.
pub fn verify_host(case: &PolicyCase, host: &Host, format: Format) -> Verified {
    try_verify_host(case, host, format).unwrap_or_else(|message| panic!("{message}"))
}

pub fn try_verify_host(case: &PolicyCase, host: &Host, format: Format) -> Result<Verified, String> {
    let compiled = case.compile(host);
    try_verify_compiled(case, host, &compiled, format)
}

/// Like [`try_verify_host`], with a ruleset from elsewhere (the harness's own tests).
pub fn try_verify_compiled(
    case: &PolicyCase,
    host: &Host,
    compiled: &Compiled,
    format: Format,
) -> Result<Verified, String> {
    let oracle = case.oracle(host);
    let plan = Plan::for_host(host);
    let topology = Topology::build(plan.spec.clone()).expect("cannot build the lab network");
    ruleset::must_load(&topology.server, compiled, format);
    let listening = Listening::start(&topology, &plan.listeners(&oracle)).expect("cannot listen");
    let probes = plan.probes(&topology, &oracle);
    let checked = verify::run(&topology, &oracle, &listening, &probes, verify::DEADLINE);
    let title = format!(
        "{}, host `{}`, loaded with `{}`",
        case.label,
        host.display_name(),
        format.describe()
    );
    verify::agree(
        &Report {
            title: &title,
            policy: &case.text,
            ruleset: compiled.text(format),
        },
        &checked,
    )?;
    Ok(Verified {
        summary: format!("{title}: {}", verify::summary(&checked)),
    })
}

/// A loaded host in its network, for tests that choose their own probes.
pub struct Bench<'a> {
    pub case: &'a PolicyCase,
    pub host: &'a Host,
    pub compiled: Compiled,
    pub format: Format,
    pub topology: Topology,
    pub listening: Listening,
}

impl<'a> Bench<'a> {
    /// Compiles and loads `host` into a network built from `spec`; every namespace listens on
    /// `ports`.
    pub fn new(
        case: &'a PolicyCase,
        host: &'a Host,
        spec: super::topology::Spec,
        ports: &std::collections::BTreeSet<(portcullis::model::Protocol, u16)>,
    ) -> Bench<'a> {
        Bench::loaded_as(case, host, Format::Nft, spec, ports)
    }

    /// Like [`Bench::new`], loading the ruleset in the given format.
    pub fn loaded_as(
        case: &'a PolicyCase,
        host: &'a Host,
        format: Format,
        spec: super::topology::Spec,
        ports: &std::collections::BTreeSet<(portcullis::model::Protocol, u16)>,
    ) -> Bench<'a> {
        let compiled = case.compile(host);
        Bench::with_ruleset(case, host, compiled, format, spec, ports)
    }

    pub fn with_ruleset(
        case: &'a PolicyCase,
        host: &'a Host,
        compiled: Compiled,
        format: Format,
        spec: super::topology::Spec,
        ports: &std::collections::BTreeSet<(portcullis::model::Protocol, u16)>,
    ) -> Bench<'a> {
        let topology = Topology::build(spec).expect("cannot build the lab network");
        ruleset::must_load(&topology.server, &compiled, format);
        let listening = Listening::start(&topology, &[ports.clone(), ports.clone(), ports.clone()])
            .expect("cannot listen");
        Bench {
            case,
            host,
            compiled,
            format,
            topology,
            listening,
        }
    }

    pub fn oracle(&self) -> Oracle<'a> {
        self.case.oracle(self.host)
    }

    /// Panics with `message`, the policy and the ruleset.
    pub fn fail(&self, message: &str) -> ! {
        panic!(
            "{}: {message}\n--- policy ---\n{}\n--- ruleset ({}) ---\n{}",
            self.case.label,
            self.case.text.trim_end(),
            self.format.describe(),
            ruleset::numbered(self.compiled.text(self.format))
        )
    }
}
