//! What a rule's check gets to look at, and the shape of a check.

use std::sync::OnceLock;

use crate::config::{CompileConfig, LintConfig};
use crate::diagnostic::Diagnostic;
use crate::model::{Chain, Coverage, Host, Policy, PortRange};
use crate::source::Sources;

/// What a rule's check gets to look at.
pub struct LintContext<'a> {
    pub policy: &'a Policy,
    pub sources: &'a Sources,
    pub config: &'a LintConfig,
    /// The compiler's options: some findings depend on the baseline it adds.
    pub compile: &'a CompileConfig,
    /// `lint.ephemeral-range`, validated.
    pub ephemeral: PortRange,
    /// The coverage analysis of every chain, computed once for all rules that need it.
    coverage: OnceLock<Vec<(usize, usize, Coverage)>>,
}

impl<'a> LintContext<'a> {
    pub fn new(
        policy: &'a Policy,
        sources: &'a Sources,
        config: &'a LintConfig,
        compile: &'a CompileConfig,
    ) -> Self {
        LintContext {
            policy,
            sources,
            config,
            compile,
            // Validated when the configuration was loaded; this is the built-in default.
            ephemeral: config.ephemeral_ports().unwrap_or(PortRange {
                lo: 32768,
                hi: 60999,
            }),
            coverage: OnceLock::new(),
        }
    }

    /// Every chain of every host with its coverage analysis.
    pub fn coverages(&self) -> impl Iterator<Item = (&'a Host, &'a Chain, &Coverage)> + '_ {
        let all = self.coverage.get_or_init(|| {
            let mut all = Vec::new();
            for (h, host) in self.policy.hosts.iter().enumerate() {
                for (c, chain) in host.chains.iter().enumerate() {
                    all.push((h, c, chain.coverage()));
                }
            }
            all
        });
        all.iter().map(|(h, c, coverage)| {
            let host = &self.policy.hosts[*h];
            (host, &host.chains[*c], coverage)
        })
    }

    /// The coverage analysis of one of the policy's chains.
    pub fn coverage_of(&self, chain: &Chain) -> &Coverage {
        self.coverages()
            .find(|(_, c, _)| std::ptr::eq(*c, chain))
            .map(|(_, _, coverage)| coverage)
            .expect("a chain of the policy being checked")
    }

    /// Every chain of every host.
    pub fn chains(&self) -> impl Iterator<Item = (&'a Host, &'a Chain)> + 'a {
        self.policy
            .hosts
            .iter()
            .flat_map(|h| h.chains.iter().map(move |c| (h, c)))
    }
}

/// A rule's check: appends its findings.
pub type Check = fn(&LintContext, &mut Vec<Diagnostic>);
