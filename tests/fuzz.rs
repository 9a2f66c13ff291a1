//! The fuzz targets of `fuzz/` on the stable toolchain, in every `cargo test`: each target runs its
//! seed corpus (`fuzz/corpus/<target>/`), then random mutations of it for a bounded time. Without
//! libFuzzer's coverage feedback this finds less than `cargo fuzz`, but it runs everywhere and
//! keeps the hostile seeds (deep nesting, long chains, huge lines) passing. fuzz/README.md has
//! the details.
//!
//! - `PORTCULLIS_FUZZ_SECONDS`: seconds of mutations per target, after the corpus (default 15, a
//!   minute for the four).
//! - `PORTCULLIS_FUZZ_SEED`: the seed of the mutations (printed when a target fails); otherwise
//!   it comes from the clock.
//! - `PORTCULLIS_FUZZ_INPUT`: run only this file through the target (a saved failure).
//!
//! Each target runs in a child process (this test binary, running the ignored test
//! `fuzz::worker`), so that a stack overflow or an abort ends the child rather than the whole
//! test run. The child writes each input to a file before running it: when the child dies, or
//! stalls on one input, the parent still has the input, and saves it like a panic's as
//! `fuzz/artifacts/stable/<target>-<hash>`.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::support::root;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("parse_text", targets::parse_text),
    ("parse_yaml", targets::parse_yaml),
    ("check", targets::check),
    ("compile", targets::compile),
];

const SECONDS_VAR: &str = "PORTCULLIS_FUZZ_SECONDS";
const SEED_VAR: &str = "PORTCULLIS_FUZZ_SEED";
const INPUT_VAR: &str = "PORTCULLIS_FUZZ_INPUT";
/// Set by the parent for the child: the target to run, and the file of the input in flight.
const WORKER_VAR: &str = "PORTCULLIS_FUZZ_WORKER";
const IN_FLIGHT_VAR: &str = "PORTCULLIS_FUZZ_IN_FLIGHT";

const DEFAULT_SECONDS: f64 = 15.0;
/// One input running longer than this (in an unoptimised test build) is reported as a hang.
const STALL: Duration = Duration::from_secs(120);
/// A mutation running longer than this is saved (`<target>-slow-<hash>`) and named in the output.
const SLOW: Duration = Duration::from_secs(10);
/// The largest input, as the README's libFuzzer runs use.
const MAX_LEN: usize = 1 << 20;
/// How the child reports to the parent on standard output: a failure (a marked line, then the
/// panic message indented), and its counts.
const FAILURE_MARK: &str = "portcullis-fuzz-failure: ";
const SUMMARY_MARK: &str = "portcullis-fuzz-summary: ";

#[test]
fn parse_text() {
    supervise("parse_text");
}

#[test]
fn parse_yaml() {
    supervise("parse_yaml");
}

#[test]
fn check() {
    supervise("check");
}

#[test]
fn compile() {
    supervise("compile");
}

/// The child's side: does nothing unless started by [`supervise`].
#[test]
#[ignore = "run by the fuzz tests in a child process"]
fn worker() {
    if let Ok(target) = std::env::var(WORKER_VAR) {
        // The stack of a main thread (the CLI's and libFuzzer's), not a test thread's 2 MiB.
        let worker = std::thread::Builder::new()
            .name(format!("fuzz-{target}"))
            .stack_size(8 << 20)
            .spawn(move || work(&target))
            .expect("the worker thread starts");
        let failures = worker.join().expect("the worker thread does not panic");
        assert!(failures == 0, "{failures} failing inputs, reported above");
    }
}

fn artifacts_dir() -> PathBuf {
    root().join("fuzz/artifacts/stable")
}

fn seconds() -> f64 {
    match std::env::var(SECONDS_VAR) {
        Ok(text) => text
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or_else(|| panic!("{SECONDS_VAR}={text:?} is not a number of seconds")),
        Err(_) => DEFAULT_SECONDS,
    }
}

fn parse_seed(text: &str) -> u64 {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{SEED_VAR}={text:?} is not a number"))
}

/// Runs `target` in a child process and fails with the child's report, or with the input it
/// died or stalled on.
fn supervise(target: &str) {
    let seed = match std::env::var(SEED_VAR) {
        Ok(text) => parse_seed(&text),
        Err(_) => {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            splitmix(nanos ^ fnv1a(target.as_bytes()))
        }
    };
    let dir = artifacts_dir();
    fs::create_dir_all(&dir).expect("fuzz/artifacts/stable can be created");
    let in_flight = dir.join(format!(".in-flight-{target}-{}", std::process::id()));
    // /proc/self/exe is this binary even when a concurrent build has replaced the file.
    let exe = Path::new("/proc/self/exe");
    let exe = if exe.exists() {
        exe.to_path_buf()
    } else {
        std::env::current_exe().expect("the test binary's path")
    };
    let mut command = Command::new(exe);
    command
        .args([
            "fuzz::worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_VAR, target)
        .env(SEED_VAR, seed.to_string())
        .env(SECONDS_VAR, seconds().to_string())
        .env(IN_FLIGHT_VAR, &in_flight)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the test binary starts again");
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));

    let started = Instant::now();
    let mut running = false;
    let mut stalled = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        // The file is rewritten before each input; the child removes it when it is done.
        let idle = match fs::metadata(&in_flight).and_then(|m| m.modified()) {
            Ok(modified) => {
                running = true;
                modified.elapsed().unwrap_or_default()
            }
            Err(_) if running => Duration::ZERO,
            Err(_) => started.elapsed(),
        };
        if idle > STALL {
            stalled = true;
            let _ = child.kill();
            break child.wait().expect("the killed child can be waited for");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().expect("stdout is read");
    let stderr = stderr.join().expect("stderr is read");
    for (_, line) in stdout.lines().filter_map(|l| l.split_once(SUMMARY_MARK)) {
        println!("{line}");
    }
    let failures = failure_reports(&stdout);
    let replay = match std::env::var(INPUT_VAR) {
        Ok(input) => format!("replay: {INPUT_VAR}={input} cargo test --locked fuzz::{target}"),
        Err(_) => format!(
            "replay a saved input: {INPUT_VAR}=<file> cargo test --locked fuzz::{target}\n\
             replay the run: {SEED_VAR}={seed} cargo test --locked fuzz::{target}"
        ),
    };

    if status.success() && !stalled {
        let _ = fs::remove_file(&in_flight);
        return;
    }
    let mut report = failures;
    // 101 is a failed test: the child caught the panics it reports. Anything else (a stack
    // overflow, an abort, out of memory) or a stall leaves the input it was running in the file.
    if stalled || status.code() != Some(101) || report.is_empty() {
        let how = if stalled {
            format!("ran one input for more than {} s", STALL.as_secs())
        } else {
            format!("died ({status})")
        };
        let saved = match fs::read(&in_flight) {
            Ok(input) => {
                let path = save_artifact(target, &input);
                format!("{} ({} bytes)", path.display(), input.len())
            }
            Err(_) => "no input was in flight".to_string(),
        };
        report.push(format!(
            "the worker {how}; the input: {saved}\nthe end of its standard error:\n{}",
            tail(&stderr, 40)
        ));
    }
    let _ = fs::remove_file(&in_flight);
    panic!(
        "fuzz target `{target}` failed (seed {seed}):\n{}\n{replay}",
        report.join("\n")
    );
}

/// The child's failure reports: a marked line and the indented lines after it.
fn failure_reports(stdout: &str) -> Vec<String> {
    let mut reports: Vec<String> = Vec::new();
    let mut in_report = false;
    for line in stdout.lines() {
        if let Some((_, report)) = line.split_once(FAILURE_MARK) {
            reports.push(report.to_string());
            in_report = true;
        } else if in_report && line.starts_with("    ") {
            let last = reports.last_mut().expect("a report is open");
            last.push('\n');
            last.push_str(line);
        } else {
            in_report = false;
        }
    }
    reports
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Saves a failing input as `fuzz/artifacts/stable/<target>-<hash>`.
fn save_artifact(target: &str, input: &[u8]) -> PathBuf {
    let dir = artifacts_dir();
    let _ = fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{:016x}", fnv1a(input)));
    fs::write(&path, input).expect("the failing input can be saved");
    path
}

/// The message and place of the first panic of the input running, set by the child's panic hook.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// The child's side: the corpus, then mutations until the time is up. Returns the number of
/// failing inputs, each reported on standard output.
fn work(target: &str) -> usize {
    let &(_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target `{target}`"));
    let seed = parse_seed(&std::env::var(SEED_VAR).expect("set by the parent"));
    let budget = Duration::from_secs_f64(seconds());
    let in_flight = PathBuf::from(std::env::var_os(IN_FLIGHT_VAR).expect("set by the parent"));
    let mut in_flight = InFlight::create(&in_flight);
    std::panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => (*s).to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic without a message".to_string()),
        };
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // The first panic of an input says what went wrong; a thread that joins a panicking
        // one panics again.
        let mut last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_empty() {
            *last = format!("{message} (at {place})");
        }
    }));
    let mut run_one = |input: &[u8]| -> Result<(), String> {
        in_flight.write(input);
        LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clear();
        catch_unwind(AssertUnwindSafe(|| run(input)))
            .map_err(|_| LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clone())
    };
    let report = |what: &str, input: &[u8], message: &str| {
        let path = save_artifact(target, input);
        // The message may hold a whole generated ruleset: its first lines say enough.
        let message: Vec<&str> = message.lines().take(12).collect();
        // On a line of its own: libtest has printed `test fuzz::worker ... ` before it.
        println!(
            "\n{FAILURE_MARK}{what} ({} bytes) panics, saved as {}:\n    {}",
            input.len(),
            path.display(),
            message.join("\n    ")
        );
    };
    let started = Instant::now();

    if let Some(path) = std::env::var_os(INPUT_VAR) {
        let input = fs::read(&path).expect("the input of PORTCULLIS_FUZZ_INPUT can be read");
        let failed = run_one(&input).map_err(|m| report("the input", &input, &m));
        in_flight.remove();
        return usize::from(failed.is_err());
    }

    let corpus = read_corpus(&root().join("fuzz/corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target} has seeds");
    let dictionary = read_dictionary(&root().join("fuzz/portcullis.dict"));
    let mut failures = 0;
    for (name, input) in &corpus {
        if let Err(message) = run_one(input) {
            report(&format!("corpus file {name}"), input, &message);
            failures += 1;
        }
    }
    let corpus_time = started.elapsed();
    // The time is for mutations: the corpus always runs to the end first.
    let mutating = Instant::now();

    let mut rng = Rng::new(seed);
    let inputs: Vec<&[u8]> = corpus.iter().map(|(_, i)| i.as_slice()).collect();
    let mut recent: Vec<Vec<u8>> = Vec::new();
    let mut execs: u64 = 0;
    let mut slowest = (Duration::ZERO, 0);
    while failures == 0 && mutating.elapsed() < budget {
        let input = mutate(&mut rng, &inputs, &recent, &dictionary);
        execs += 1;
        let one = Instant::now();
        let result = run_one(&input);
        if one.elapsed() > slowest.0 {
            slowest = (one.elapsed(), input.len());
            if one.elapsed() > SLOW {
                // Not a failure, but worth a look: saved as `<target>-slow-<hash>`.
                let path = save_artifact(&format!("{target}-slow"), &input);
                println!(
                    "\n{SUMMARY_MARK}{target}: mutation {execs} ({} bytes) ran for {:.1} s, \
                     saved as {}",
                    input.len(),
                    one.elapsed().as_secs_f64(),
                    path.display()
                );
            }
        }
        if let Err(message) = result {
            report(
                &format!("mutation {execs} of seed {seed}"),
                &input,
                &message,
            );
            failures += 1;
        }
        // Mutations of mutations reach further from the seeds.
        if recent.len() < 64 {
            recent.push(input);
        } else {
            let slot = rng.below(recent.len());
            recent[slot] = input;
        }
    }
    in_flight.remove();
    let mutation_time = mutating.elapsed().as_secs_f64();
    println!(
        "\n{SUMMARY_MARK}{target}: {} corpus inputs in {:.1} s, {execs} mutations in {:.1} s \
         ({:.0}/s, the slowest {:.2} s for {} bytes), seed {seed}",
        corpus.len(),
        corpus_time.as_secs_f64(),
        mutation_time,
        execs as f64 / mutation_time.max(0.001),
        slowest.0.as_secs_f64(),
        slowest.1,
    );
    failures
}

/// The file holding the input being run, rewritten before each input.
struct InFlight {
    path: PathBuf,
    file: fs::File,
}

impl InFlight {
    fn create(path: &Path) -> Self {
        let file = fs::File::create(path).expect("the in-flight file can be created");
        InFlight {
            path: path.to_path_buf(),
            file,
        }
    }

    fn write(&mut self, input: &[u8]) {
        let written = self
            .file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(input))
            .and_then(|_| self.file.set_len(input.len() as u64));
        written.expect("the in-flight input can be written");
    }

    fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn read_corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).expect("a corpus file"))
        })
        .collect();
    files.sort();
    files
}

/// The tokens of a libFuzzer dictionary: `"value"` or `name="value"` per line, with `\\`, `\"`
/// and `\xNN` escapes.
fn read_dictionary(path: &Path) -> Vec<Vec<u8>> {
    let text = fs::read_to_string(path).expect("fuzz/portcullis.dict can be read");
    let mut tokens = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let start = line.find('"').expect("a quoted dictionary entry");
        let quoted = &line.as_bytes()[start..];
        assert!(
            quoted.len() >= 2 && quoted.ends_with(b"\""),
            "a dictionary entry ends with a quote: {line}"
        );
        let inner = &quoted[1..quoted.len() - 1];
        let mut token = Vec::new();
        let mut i = 0;
        while i < inner.len() {
            match (inner[i], inner.get(i + 1)) {
                (b'\\', Some(b'x')) => {
                    let hex = std::str::from_utf8(&inner[i + 2..i + 4]).expect("hex digits");
                    token.push(u8::from_str_radix(hex, 16).expect("a \\x escape"));
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    token.push(c);
                    i += 2;
                }
                (c, _) => {
                    token.push(c);
                    i += 1;
                }
            }
        }
        tokens.push(token);
    }
    assert!(!tokens.is_empty(), "the dictionary has tokens");
    tokens
}

/// xorshift64*: tiny, fast, and reproducible from one number.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(splitmix(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Bytes that change what the parsers see: line and block structure, strings, UTF-8 lead bytes.
const INTERESTING_BYTES: &[u8] = b"\0\n\r\t {}[]\"\\#,=/:-!&*|>\x7f\x80\xbf\xc3\xe2\xef\xf0\xff";
/// Numbers at the edges of ports, prefix lengths, rates and integer widths.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "1",
    "32",
    "33",
    "128",
    "129",
    "255",
    "256",
    "1023",
    "1024",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
];

/// One new input: a seed or a recent input with one to eight mutations.
fn mutate(rng: &mut Rng, corpus: &[&[u8]], recent: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    // Mostly the smallest of three picks: the hostile seeds take seconds each in a test build,
    // and would leave time for a handful of mutations.
    let picks = if rng.one_in(8) { 1 } else { 3 };
    let mut data: &[u8] = &[];
    for pick in 0..picks {
        let candidate = if !recent.is_empty() && rng.one_in(3) {
            recent[rng.below(recent.len())].as_slice()
        } else {
            corpus[rng.below(corpus.len())]
        };
        if pick == 0 || candidate.len() < data.len() {
            data = candidate;
        }
    }
    let mut data = data.to_vec();
    for _ in 0..1 + rng.below(8) {
        mutate_once(rng, &mut data, corpus, dict);
    }
    data.truncate(MAX_LEN);
    data
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[&[u8]], dict: &[Vec<u8>]) {
    let len = data.len();
    let at = rng.below(len + 1);
    match rng.below(12) {
        // Flip a bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // Overwrite a byte with a structural one.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        // Insert a dictionary token, often with spaces around it as a policy would.
        2 | 3 => {
            let token = &dict[rng.below(dict.len())];
            let mut insert = token.clone();
            if rng.one_in(2) {
                insert.insert(0, b' ');
                insert.push(b' ');
            }
            data.splice(at..at, insert);
        }
        // Delete a range.
        4 if len > 0 => {
            let end = (at + 1 + rng.below(64)).min(len);
            data.drain(at.min(len - 1)..end);
        }
        // Duplicate a chunk somewhere else.
        5 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(256)).min(len);
            let chunk = data[start..end].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, chunk);
        }
        // Splice: this input's start, another's end.
        6 => {
            let other = corpus[rng.below(corpus.len())];
            let from = rng.below(other.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        // Insert random bytes.
        7 => {
            let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        // Replace a number with one at an edge.
        8 => {
            if let Some(start) = (at..len).find(|&i| data[i].is_ascii_digit()) {
                let end = (start..len)
                    .find(|&i| !data[i].is_ascii_digit())
                    .unwrap_or(len);
                let number = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
                data.splice(start..end, number.bytes());
            }
        }
        // Duplicate or delete a whole line: statements are lines.
        9 | 10 => {
            let start = data[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let end = data[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(len, |i| at + i + 1);
            if rng.one_in(2) {
                let line = data[start..end].to_vec();
                data.splice(start..start, line);
            } else {
                data.drain(start..end);
            }
        }
        // Grow past libFuzzer's default 4 KB limit: repeat a chunk many times.
        _ => {
            if len > 0 && rng.one_in(4) {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(512)).min(len);
                let chunk = data[start..end].to_vec();
                let target = 4096 + rng.below(64 << 10);
                let mut grown = Vec::with_capacity(target);
                while grown.len() < target {
                    grown.extend_from_slice(&chunk);
                }
                data.splice(at..at, grown);
            }
        }
    }
}
