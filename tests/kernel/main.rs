//! Kernel tests: the proof that a compiled ruleset does exactly what its policy says, with real
//! packets through a real kernel.
//!
//! Each test builds network namespaces joined by veth pairs ([`topology`]), loads the compiled
//! ruleset into the server's namespace with `nft -f` (or `nft -j -f` for the JSON rendering), and
//! sends probes ([`probe`]): TCP connections and UDP datagrams from chosen source addresses, all
//! at once against one deadline. Every outcome is held against the model's first-match evaluation
//! ([`portcullis::model::Chain::evaluate`], via [`oracle`]): a probe the policy allows must connect
//! (or be echoed), one it denies must time out, and one it rejects must be refused. A probe that
//! disagrees is asked again with more patience before it counts, so a loaded machine never passes
//! for a firewall that drops. Failures print each disagreeing probe with the rule that decides it,
//! the policy and the ruleset.
//!
//! - [`examples`]: every host of every `examples/*.pcl`, probed as [`plan`] chooses: every port
//!   the policy mentions with its neighbours and range edges, over TCP and UDP, from inside and
//!   just outside every net, over every interface an `on` names, in both families.
//! - [`constructs`]: one fixture per construct (tests/fixtures/kernel/), counters.
//! - [`rate_limits`], [`forwarding`], [`ipv6`] (neighbour discovery through a dropping input),
//!   [`atomic`] (the table is replaced whole, other tables survive).
//! - [`random_policies`]: random small policies against one reused namespace
//!   (`PORTCULLIS_KERNEL_CASES`, `PORTCULLIS_KERNEL_SEED`).
//! - [`harness`]: the harness catches a wrong hand-written ruleset.
//! - [`loading`]: compiled rulesets loaded into scratch namespaces: the script and the JSON load
//!   the same ruleset, loading leaves other tables alone, 20,000 rules load.
//! - [`nft_check`]: `nft -c` accepts every example and fixture, and every table name.
//! - [`expectations`]: `portcullis test` proves every example's `expect` statements, catches an
//!   edited ruleset, and probes input, output and forward expectations.
//! - [`deploy`]: `apply`, `confirm`, `rollback` and `status` as an operator runs them: probes see
//!   each step, foreign tables (and Docker's, where dockerd starts) survive every step, and an
//!   unconfirmed apply rolls back by itself when `apply` exits, is killed, or loses its session.
//! - [`audit`]: `audit` run in a namespace with real listeners of both protocols and families,
//!   as root and as `nobody`: each finding and non-finding.
//! - [`fleet`]: the Ansible role of `examples/ansible` run over SSH against four hosts, each a
//!   namespace with its own sshd: every host gets its own ruleset in batches, and a host whose
//!   new rules shut the controller out is not confirmed, rolls back by itself and stops the
//!   roll-out before the next batch. It also needs sshd, ssh and ansible-core ([`ansible`]).
//!
//! This is a test target of its own (`cargo test --test kernel`) with a libtest-mimic harness
//! ([`trials`]): every module lists its tests, each runs on a thread of its own, and names,
//! filters, `--list`, `--ignored`, `--include-ignored`, `--test-threads` and `--nocapture` work as
//! with libtest (what a test prints goes through `say!`, kept with its result). The tests need
//! root, `ip`, `nft` and network namespaces, and one rule decides what happens without them
//! ([`env`]): the kernel tests are reported as ignored, with one line that says why, except on CI
//! (`CI=true` or `CI=1`), where the run fails with the reason; the same rule covers what the
//! fleet test needs besides. The few tests of the harness's own machinery that need no kernel
//! run everywhere.

mod ansible;
mod env;
mod plan;
mod rng;
mod ruleset;
mod scenario;
mod special;
mod trials;
mod verify;

// The lab (namespaces, probes, listeners, the oracle) is the library's, shared with `portcullis
// test`; the modules keep their names here.
use portcullis::lab::{addresses, listen, netns, oracle, probe, topology};

mod atomic;
mod audit;
mod baseline;
mod constructs;
mod deploy;
mod examples;
mod expectations;
mod fleet;
mod forwarding;
mod harness;
mod ipv6;
mod loading;
mod nft_check;
mod random_policies;
mod rate_limits;

fn main() -> std::process::ExitCode {
    trials::main(
        [
            atomic::tests(),
            audit::tests(),
            baseline::tests(),
            constructs::tests(),
            deploy::tests(),
            examples::tests(),
            expectations::tests(),
            fleet::tests(),
            forwarding::tests(),
            harness::tests(),
            ipv6::tests(),
            loading::tests(),
            nft_check::tests(),
            random_policies::tests(),
            rate_limits::tests(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}
