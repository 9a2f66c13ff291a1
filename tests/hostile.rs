//! Hostile input and hostile output: every class gets a clear error and exit 1 or 2, in bounded
//! time and memory, and nothing written is partial or replaced.
//!
//! The binary runs under a memory limit (`ulimit -v`) and a deadline; a hang, an abort, a panic or
//! running out of memory fails the test with what the binary printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every run must end within this.
const DEADLINE: Duration = Duration::from_secs(30);
/// Address space per run, in KiB (`ulimit -v`): far above what a policy needs, far below the
/// machine.
const MEMORY_KIB: u64 = 3 * 1024 * 1024;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with a memory limit and a deadline; `stdout` is where its standard
/// output goes (a pipe when `None`).
fn run(dir: &Path, args: &[&str], stdout: Option<&Path>) -> Run {
    run_limited(dir, "", args, stdout)
}

/// [`run`] under further limits: `ulimit` options such as `-n 32`.
fn run_limited(dir: &Path, limits: &str, args: &[&str], stdout: Option<&Path>) -> Run {
    let stdout_file = dir.join(".stdout");
    let target = stdout.unwrap_or(&stdout_file);
    let stderr_file = dir.join(".stderr");
    let limits = if limits.is_empty() {
        String::new()
    } else {
        format!("ulimit {limits}; ")
    };
    let script = format!(
        "ulimit -v {MEMORY_KIB}; {limits}exec \"$0\" \"$@\" >'{}' 2>'{}'",
        target.display(),
        stderr_file.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .spawn()
        .expect("sh runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`portcullis {}` ran longer than {DEADLINE:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| {
        std::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: if stdout.is_none() {
            read(&stdout_file)
        } else {
            String::new()
        },
        stderr: read(&stderr_file),
    }
}

impl Run {
    /// Exit 1 or 2, no panic or abort, and a message that says `words`.
    #[track_caller]
    fn refused(&self, what: &str, words: &str) -> &Self {
        let shown = format!(
            "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        );
        assert!(matches!(self.code, 1 | 2), "{shown}");
        assert!(!self.stderr.contains("panicked"), "{shown}");
        let all = format!("{}{}", self.stdout, self.stderr);
        assert!(all.contains(words), "expected {words:?}; {shown}");
        self
    }
}

fn cut(text: &str) -> String {
    text.chars().take(3000).collect()
}

fn is_root() -> bool {
    // (The `user` feature of nix is not enabled; /proc says it as well.)
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let ids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            ids.split_whitespace().nth(1).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

const POLICY: &str = "input drop {\n  allow ssh\n}\n";

/// A directory with `p.pcl` (a clean policy) in it.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("p.pcl"), POLICY).unwrap();
    dir
}

/// The things a path can point at that are not a policy file, each with what the error says.
fn hostile_targets(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let looped = dir.join("loop");
    std::os::unix::fs::symlink("loop", &looped).unwrap();
    let subdir = dir.join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    vec![
        ("/dev/zero", "/dev/zero".into(), "character device"),
        ("/dev/urandom", "/dev/urandom".into(), "character device"),
        ("a FIFO", fifo, "FIFO"),
        ("a directory", subdir, "directory"),
        ("a symlink loop", looped, "symbolic links"),
    ]
}

#[test]
fn policies_includes_overlays_and_configs_that_are_not_files() {
    let dir = workspace();
    let d = dir.path();
    for (what, path, words) in hostile_targets(d) {
        let path = path.to_str().unwrap().to_string();
        // The policy itself.
        run(d, &["check", &path], None).refused(&format!("policy {what}"), words);
        run(d, &["compile", &path], None).refused(&format!("compile {what}"), words);
        // An include.
        std::fs::write(d.join("inc.pcl"), format!("include \"{path}\"\n{POLICY}")).unwrap();
        run(d, &["check", "inc.pcl"], None).refused(&format!("include {what}"), words);
        // `--config`.
        run(d, &["check", "--config", &path, "p.pcl"], None)
            .refused(&format!("--config {what}"), words);
        // A registry overlay named by the configuration.
        std::fs::write(
            d.join("overlay.yaml"),
            format!("registry:\n  overlays: [\"{path}\"]\n"),
        )
        .unwrap();
        run(d, &["check", "--config", "overlay.yaml", "p.pcl"], None)
            .refused(&format!("overlay {what}"), words);
    }
}

#[test]
fn a_file_that_is_not_a_policy_is_not_echoed() {
    let dir = workspace();
    let d = dir.path();
    let secret = "root:$6$SECRET-HASH-abcdef:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
    std::fs::write(d.join("shadow"), secret).unwrap();
    let mut includes = vec!["shadow".to_string()];
    if Path::new("/etc/shadow").is_file() {
        includes.push("/etc/shadow".to_string());
    }
    for target in includes {
        std::fs::write(d.join("inc.pcl"), format!("include \"{target}\"\n{POLICY}")).unwrap();
        for format in ["human", "json", "sarif", "github"] {
            let r = run(d, &["check", "--format", format, "inc.pcl"], None);
            r.refused(
                &format!("include {target} as {format}"),
                "does not read as a policy",
            );
            let all = format!("{}{}", r.stdout, r.stderr);
            assert!(!all.contains("SECRET"), "{all}");
            assert!(!all.contains("$6$"), "{all}");
            assert!(!all.contains("19000"), "{all}");
        }
    }
    // Binary junk: one finding, nothing of it quoted.
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(d.join("junk.pcl"), &junk).unwrap();
    let r = run(d, &["check", "junk.pcl"], None);
    r.refused("binary junk", "junk.pcl:1:");
    assert_eq!(r.stdout.matches("syntax-error").count(), 1, "{}", r.stdout);
    // A NUL byte in a policy is named, at its place.
    std::fs::write(d.join("nul.pcl"), "input drop {\n  allow ssh\0\n}\n").unwrap();
    run(d, &["check", "nul.pcl"], None).refused(
        "a NUL byte",
        "nul.pcl:2:12: the file holds a control character",
    );
}

#[test]
fn huge_and_deep_inputs_end_with_an_error() {
    let dir = workspace();
    let d = dir.path();
    let mut cases: Vec<(&str, String, &str)> = vec![
        (
            "10 MB line",
            format!("input drop {{\n  allow {}\n}}\n", "x".repeat(10 << 20)),
            "longer than",
        ),
        (
            "nested braces",
            format!("{}{}", "{".repeat(10_000), "}".repeat(10_000)),
            "syntax-error",
        ),
        (
            "unclosed braces",
            "host a {\n".repeat(10_000),
            "syntax-error",
        ),
    ];
    let mut services = String::from("service s0 = tcp/1000\n");
    let mut nets = String::from("net n0 = 10.0.0.0/8\n");
    for i in 1..10_000 {
        services.push_str(&format!("service s{i} = s{}\n", i - 1));
        nets.push_str(&format!("net n{i} = n{}\n", i - 1));
    }
    services.push_str("input drop {\n  allow ssh\n  allow s9999\n}\n");
    nets.push_str("input drop {\n  allow ssh from n9999\n}\n");
    cases.push(("chained services", services, "nested definitions"));
    cases.push(("chained nets", nets, "nested definitions"));
    for (what, text, words) in &cases {
        std::fs::write(d.join("deep.pcl"), text).unwrap();
        run(d, &["check", "deep.pcl"], None).refused(what, words);
    }
    let yaml: Vec<(&str, String)> = vec![
        (
            "flow sequences",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        ),
        (
            "flow mappings",
            format!("{}{}", "{a: ".repeat(10_000), "}".repeat(10_000)),
        ),
        (
            "block sequences",
            (0..3_000)
                .map(|i| format!("{}- \n", " ".repeat(i)))
                .collect(),
        ),
        (
            "block mappings",
            (0..3_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect(),
        ),
        (
            "a 1 MiB key",
            format!("input drop:\n  - allow: ssh\n{}: 1\n", "k".repeat(1 << 20)),
        ),
    ];
    for (what, text) in &yaml {
        std::fs::write(d.join("deep.yaml"), text).unwrap();
        let r = run(d, &["check", "deep.yaml"], None);
        r.refused(what, "deep.yaml:");
        for library_words in ["budget", "Depth {", "Options", "weak recursion"] {
            assert!(
                !r.stdout.contains(library_words),
                "{what}: {}",
                cut(&r.stdout)
            );
        }
    }
    // Includes nested past the limit.
    for i in 0..100 {
        std::fs::write(
            d.join(format!("i{i}.pcl")),
            format!("include \"i{}.pcl\"\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(d.join("i100.pcl"), POLICY).unwrap();
    run(d, &["check", "i0.pcl"], None).refused("nested includes", "nested more than");
}

#[test]
fn nothing_partial_reaches_an_output() {
    let dir = workspace();
    let d = dir.path();
    // Standard output that cannot be written: exit 2 with the reason, for every command.
    for args in [
        &["compile", "p.pcl"][..],
        &["check", "--format", "json", "p.pcl"],
        &["check", "p.pcl", "--format", "sarif"],
        &["rules"],
        &["lookup", "ssh"],
        &["explain", "p.pcl", "tcp/22", "from", "192.0.2.1"],
        &["completions", "bash"],
        &["man"],
        &["schema", "policy"],
    ] {
        let r = run(d, args, Some(Path::new("/dev/full")));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("cannot write to standard output: no space left on device"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // `-o` onto a device, a FIFO: refused, the node left as it was.
    let fifo = d.join("out.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for (target, words) in [
        ("/dev/full", "character device"),
        ("/dev/null", "character device"),
        ("out.fifo", "FIFO"),
    ] {
        run(d, &["compile", "p.pcl", "-o", target], None).refused(target, words);
    }
    assert!(!std::fs::metadata("/dev/full").unwrap().is_file());
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    assert!(!std::fs::symlink_metadata(&fifo).unwrap().is_file());
    // `-o` onto a symlink writes the file it points at and keeps the link.
    std::fs::write(d.join("real.nft"), "old\n").unwrap();
    std::os::unix::fs::symlink("real.nft", d.join("link.nft")).unwrap();
    let r = run(d, &["compile", "p.pcl", "-o", "link.nft"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(d.join("link.nft"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(d.join("real.nft"))
        .unwrap()
        .contains("table inet portcullis"));
    // A symlink loop is refused.
    std::os::unix::fs::symlink("loop.nft", d.join("loop.nft")).unwrap();
    run(d, &["compile", "p.pcl", "-o", "loop.nft"], None).refused("symlink loop", "symbolic links");
    // Manual pages into a FIFO that has a page's name, and into a directory that is a file:
    // refused, nothing written.
    std::fs::create_dir(d.join("man1")).unwrap();
    nix::unistd::mkfifo(
        &d.join("man1/portcullis-check.1"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    run(d, &["man", "--out-dir", "man1"], None).refused("a page onto a FIFO", "FIFO");
    assert_eq!(std::fs::read_dir(d.join("man1")).unwrap().count(), 1);
    run(d, &["man", "--out-dir", "p.pcl"], None).refused(
        "a file as the directory",
        "cannot create the directory `p.pcl`: it is a regular file, not a directory",
    );
    if !is_root() {
        return;
    }
    // A read-only file system and a full one: nothing replaced, no temporary file left.
    let mount = |dir: &Path, options: &str| {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount tmpfs {options}");
    };
    let unmount = |dir: &Path| {
        let _ = Command::new("umount").arg(dir).status();
    };
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    mount(&ro, "size=64k");
    std::fs::write(ro.join("x.nft"), "old\n").unwrap();
    let _ = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&ro)
        .status();
    run(d, &["compile", "p.pcl", "-o", "ro/x.nft"], None).refused("read-only", "read-only");
    assert_eq!(std::fs::read_to_string(ro.join("x.nft")).unwrap(), "old\n");
    unmount(&ro);

    let full = d.join("full");
    std::fs::create_dir(&full).unwrap();
    mount(&full, "size=32k");
    let big: String = (1..4000)
        .map(|i| {
            format!(
                "  allow tcp/{} from 10.{}.{}.0/24\n",
                1000 + i,
                i / 250,
                i % 250
            )
        })
        .collect();
    std::fs::write(
        d.join("two.pcl"),
        format!("host a {{\n input drop {{\n  allow ssh\n{big} }}\n}}\nhost b {{\n input drop {{\n  allow ssh\n }}\n}}\n"),
    )
    .unwrap();
    std::fs::write(full.join("a.nft"), "old a\n").unwrap();
    std::fs::write(full.join("b.nft"), "old b\n").unwrap();
    run(d, &["compile", "two.pcl", "--out-dir", "full"], None)
        .refused("--out-dir on a full disk", "no space left");
    assert_eq!(
        std::fs::read_to_string(full.join("a.nft")).unwrap(),
        "old a\n"
    );
    assert_eq!(
        std::fs::read_to_string(full.join("b.nft")).unwrap(),
        "old b\n"
    );
    run(
        d,
        &["compile", "two.pcl", "--host", "a", "-o", "full/a.nft"],
        None,
    )
    .refused("-o on a full disk", "no space left");
    assert_eq!(
        std::fs::read_to_string(full.join("a.nft")).unwrap(),
        "old a\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.nft", "b.nft"], "no temporary files left behind");
    unmount(&full);
}

#[test]
fn a_fleet_of_more_hosts_than_open_files_is_written_whole() {
    // Every host's file is staged before the first is renamed into place; staged files are
    // closed, so a fleet is not limited by the number of files a process may hold open.
    let dir = workspace();
    let d = dir.path();
    let hosts: String = (0..100)
        .map(|i| format!("host h{i} {{\n  input drop {{\n    allow ssh\n  }}\n}}\n"))
        .collect();
    std::fs::write(d.join("fleet.pcl"), hosts).unwrap();
    let r = run_limited(
        d,
        "-n 32",
        &["compile", "fleet.pcl", "--out-dir", "out"],
        None,
    );
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stderr.contains("wrote 100 files"), "{}", r.stderr);
    let mut names: Vec<String> = std::fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        100,
        "one file per host and nothing else: {names:?}"
    );
    assert!(names
        .iter()
        .all(|n| n.starts_with('h') && n.ends_with(".nft")));
    let h7 = std::fs::read_to_string(d.join("out/h7.nft")).unwrap();
    assert!(h7.contains("tcp dport 22 accept"), "{h7}");
}

#[test]
fn values_check_accepts_always_compile() {
    let dir = workspace();
    let d = dir.path();
    // A log prefix that nft would expand: refused by `check` as by `compile`, and the rule's
    // problem is the only finding (it does not cascade into a lock-out).
    std::fs::write(
        d.join("log.pcl"),
        "input drop {\n  allow ssh log \"cost $5\"\n}\n",
    )
    .unwrap();
    let r = run(d, &["check", "log.pcl"], None);
    r.refused("log prefix with $", "cannot contain `$`");
    assert!(
        r.stderr.contains("checked 1 file: 1 error\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("ssh-lockout"), "{}", r.stdout);
    run(d, &["compile", "log.pcl"], None)
        .refused("compile log prefix with $", "cannot contain `$`");
    // Every keyword nft reserves is refused as the table name, before anything is compiled.
    for keyword in portcullis::model::values::NFT_KEYWORDS {
        std::fs::write(
            d.join("portcullis.yaml"),
            format!("compile:\n  table: {keyword}\n"),
        )
        .unwrap();
        run(d, &["compile", "p.pcl"], None).refused(keyword, "nft reads it as a keyword");
    }
    std::fs::remove_file(d.join("portcullis.yaml")).unwrap();
    // Configuration values that cannot be right, at their line.
    for (yaml, words) in [
        ("lint:\n  ephemeral-range: 0-0\n", "portcullis.yaml:2:3:"),
        (
            "lint:\n  management-services: [tcp/0, no-such-svc]\n",
            "portcullis.yaml:2:3:",
        ),
        (
            "lint:\n  levels:\n    a: error\n    a: off\n",
            "appears twice",
        ),
        ("lint: \u{1}\n", "portcullis.yaml:1:"),
    ] {
        std::fs::write(d.join("portcullis.yaml"), yaml).unwrap();
        let r = run(d, &["check", "p.pcl"], None);
        r.refused(yaml, words);
        assert!(!r.stderr.contains("line 1 column"), "{}", r.stderr);
        assert!(!r.stderr.contains("os error"), "{}", r.stderr);
    }
    std::fs::write(d.join("portcullis.yaml"), b"lint: \xff\n").unwrap();
    run(d, &["check", "p.pcl"], None).refused(
        "config not UTF-8",
        "portcullis.yaml:1:7: the file is not valid UTF-8",
    );
    std::fs::write(
        d.join("portcullis.yaml"),
        "lint:\n  management-services: [no-such-svc]\n",
    )
    .unwrap();
    run(d, &["check", "p.pcl"], None).refused("unknown management service", "`no-such-svc`");
}
