//! The list of this binary's tests and how they run: each module names its tests with
//! [`tests!`], and [`main`] hands them to libtest-mimic as trials, with the rule of [`env`] applied
//! to those that need the kernel.
//!
//! A test function that no module lists is dead code, which clippy (`-D warnings`) refuses: the
//! list cannot silently lose a test.
//!
//! As under libtest, each test runs on a thread of its own named after it, at most
//! `--test-threads` (or `RUST_TEST_THREADS`) at once, and what it says with [`say!`] and the
//! message of a panic on its thread are kept with its result: shown when it fails, or at once
//! with `--nocapture` (or `RUST_TEST_NOCAPTURE`), or after it passes with `--show-output`.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};

use super::env::{self, Machine};

/// What a test needs of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Root, `ip`, `nft` and network namespaces ([`env`]).
    Kernel,
    /// What `Kernel` needs, and sshd, ssh and ansible-core ([`env::fleet`]).
    Fleet,
    /// Nothing: it checks the tests' own machinery (a generator, a shrinker) without the kernel.
    Nothing,
}

/// One test: its name as libtest would print it (`constructs::interfaces`), and its body.
pub struct Test {
    pub name: String,
    pub needs: Needs,
    /// Written `#[ignore]` in the list: ignored on every machine, as libtest's `#[ignore]`.
    pub ignored: bool,
    pub body: fn(),
}

impl Test {
    /// `module` is the `module_path!()` of the listing module: `kernel::constructs`.
    pub fn new(module: &str, function: &str, needs: Needs, ignored: bool, body: fn()) -> Test {
        // The crate's own name (`kernel`) is left out, as libtest leaves it out.
        let module = module.split_once("::").map_or("", |(_, rest)| rest);
        Test {
            name: format!("{module}::{function}"),
            needs,
            ignored,
            body,
        }
    }
}

/// Lists a module's tests as `pub fn tests() -> Vec<Test>`:
///
/// ```ignore
/// super::trials::tests! {
///     Kernel: loads_the_ruleset, #[ignore] slow_one;
///     Nothing: the_generator_is_sound;
/// }
/// ```
macro_rules! tests {
    (@ignored) => { false };
    (@ignored ignore) => { true };
    ($($needs:ident: $($(#[$attribute:ident])? $test:ident),+ $(,)?;)+) => {
        pub fn tests() -> Vec<super::trials::Test> {
            vec![$($(super::trials::Test::new(
                module_path!(),
                stringify!($test),
                super::trials::Needs::$needs,
                super::trials::tests!(@ignored $($attribute)?),
                $test,
            )),+),+]
        }
    };
}
pub(crate) use tests;

/// `eprintln!` for tests: the line is kept with the test's result, as libtest keeps what a test
/// prints (see the module's documentation).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::trials::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

thread_local! {
    /// What the test running on this thread said, while its output is kept.
    static KEPT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether the panic hook has put a panic of this thread into [`KEPT`].
    static PANIC_KEPT: Cell<bool> = const { Cell::new(false) };
}

pub fn say_line(line: std::fmt::Arguments) {
    let kept = KEPT.with(|kept| match kept.try_borrow_mut().as_deref_mut() {
        Ok(Some(output)) => {
            let _ = writeln!(output, "{line}");
            true
        }
        _ => false,
    });
    if !kept {
        eprintln!("{line}");
    }
}

/// What to do with a test's output.
#[derive(Debug, Clone, Copy)]
struct Output {
    /// Printed as it comes (`--nocapture`).
    direct: bool,
    /// Kept, and printed after the test passes too (`--show-output`).
    show: bool,
}

/// Runs `tests` as libtest would, from the command line's arguments (filter, `--list`,
/// `--ignored`, `--include-ignored`, `--test-threads`, `--exact`, `--skip`, `--nocapture`, ...).
pub fn main(mut tests: Vec<Test>) -> ExitCode {
    let mut args = Arguments::from_args();
    // libtest's environment variables, which libtest-mimic does not read itself.
    if args.test_threads.is_none() {
        args.test_threads = std::env::var("RUST_TEST_THREADS")
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .filter(|&n| n > 0);
    }
    let output = Output {
        direct: args.nocapture || std::env::var("RUST_TEST_NOCAPTURE").is_ok_and(|v| v != "0"),
        show: args.show_output,
    };
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = tests.windows(2).find(|pair| pair[0].name == pair[1].name) {
        panic!("two tests are named `{}`", pair[0].name);
    }

    // The machine is looked at only when a kernel test is about to run: not for `--list` or
    // `--bench`, nor for a filter that leaves none.
    let by_name = Arguments {
        ignored: false,
        ..args.clone()
    };
    let selected = |needs: &[Needs]| {
        !args.list
            && !args.bench
            && tests.iter().any(|test| {
                needs.contains(&test.needs)
                    && !by_name.is_filtered_out(&Trial::test(test.name.clone(), || Ok(())))
            })
    };
    let machine = || -> Result<_, String> {
        let kernel = ignored_for(selected(&[Needs::Kernel, Needs::Fleet]), env::machine)?;
        // The fleet's own needs are looked at on a machine that runs kernel tests.
        let fleet = ignored_for(kernel.is_none() && selected(&[Needs::Fleet]), env::fleet)?;
        Ok((kernel, fleet))
    };
    let (ignore_kernel, ignore_fleet) = match machine() {
        Ok(ignored) => ignored,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(101);
        }
    };

    keep_panic_messages();
    let trials = tests
        .into_iter()
        .map(|test| {
            let ignored = test.ignored
                || match test.needs {
                    Needs::Kernel => ignore_kernel.is_some(),
                    Needs::Fleet => ignore_kernel.is_some() || ignore_fleet.is_some(),
                    Needs::Nothing => false,
                };
            let Test {
                name, needs, body, ..
            } = test;
            Trial::test(name.clone(), move || run(&name, needs, body, output))
                .with_ignored_flag(ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // Beside the summary that counts them, unless they were run all the same (and failed).
    if !args.ignored && !args.include_ignored {
        for line in ignore_kernel.iter().chain(&ignore_fleet) {
            println!("{line}\n");
        }
    }
    conclusion.exit_code()
}

/// Runs one test body on a thread of its own named after the test; a panic is a failure whose
/// message is what the test said and where it panicked.
/// Why the selected tests that need what `check` looks at are ignored here (`None`: they run,
/// or none is selected), or why the run fails.
fn ignored_for(selected: bool, check: fn() -> Machine) -> Result<Option<String>, String> {
    if !selected {
        return Ok(None);
    }
    match check() {
        Machine::Ready => Ok(None),
        Machine::Ignore(line) => Ok(Some(line)),
        Machine::Fail(message) => Err(message),
    }
}

fn run(name: &str, needs: Needs, body: fn(), output: Output) -> Result<(), Failed> {
    // Only `--ignored` or `--include-ignored` get here on a machine that cannot run it.
    match needs {
        Needs::Kernel => env::require()?,
        Needs::Fleet => env::require_fleet()?,
        Needs::Nothing => {}
    }
    let thread = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if !output.direct {
                KEPT.with(|kept| *kept.borrow_mut() = Some(String::new()));
            }
            let result = std::panic::catch_unwind(body);
            let said = KEPT.with(|kept| kept.borrow_mut().take());
            (result, said, PANIC_KEPT.get())
        })
        .map_err(|e| format!("cannot start the test's thread: {e}"))?;
    let (result, said, panic_kept) = thread
        .join()
        .map_err(|_| format!("the thread of `{name}` died"))?;
    match (result, said) {
        (Ok(()), Some(said)) if output.show && !said.is_empty() => {
            eprint!("---- {name} output ----\n{said}");
            Ok(())
        }
        (Ok(()), _) => Ok(()),
        // The panic hook has put the panic's message and place into what the test said.
        (Err(_), Some(said)) if panic_kept => Err(said.trim_end().into()),
        // Not kept (`--nocapture`), or resumed from a thread the test started.
        (Err(payload), said) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(a panic without a message)");
            Err(format!("{}test panicked: {message}", said.unwrap_or_default()).into())
        }
    }
}

/// A panic on a test's thread goes into what the test said, as libtest's captured output holds
/// it; elsewhere (threads the test started, `--nocapture`) it is printed as usual.
fn keep_panic_messages() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let kept = KEPT.with(|kept| match kept.try_borrow_mut().as_deref_mut() {
            Ok(Some(output)) => {
                let thread = std::thread::current();
                let message = info
                    .payload()
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| info.payload().downcast_ref::<&str>().copied())
                    .unwrap_or("Box<dyn Any>");
                let place = info
                    .location()
                    .map_or_else(String::new, |l| format!(" at {l}"));
                let _ = writeln!(
                    output,
                    "thread '{}' panicked{place}:\n{message}",
                    thread.name().unwrap_or("<unnamed>")
                );
                PANIC_KEPT.set(true);
                true
            }
            _ => false,
        });
        if !kept {
            default(info);
        }
    }));
}
