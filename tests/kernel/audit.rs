//! `portcullis audit` on real sockets: listeners of both protocols and families, opened by
//! processes running as root and as `nobody`, in a fresh network namespace; the real binary runs
//! in it and every finding and non-finding of its JSON output is checked.
//!
//! The listeners are Python processes (`/usr/bin/python3`, whose kernel name is `python3`): a
//! program of another name and user than the test, as a daemon is, and one the kernel reports
//! as the holder of its sockets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::netns::Netns;

const PORTCULLIS: &str = env!("CARGO_BIN_EXE_portcullis");
const PYTHON: &str = "/usr/bin/python3";

/// Opens the sockets its arguments name (`tcp,4,0.0.0.0,2201`: protocol, family, where `6only`
/// sets `IPV6_V6ONLY` and `6` clears it, address, port), says `ready`, and holds them until its
/// standard input closes.
const LISTENER: &str = r#"
import socket, sys
held = []
for spec in sys.argv[1:]:
    protocol, family, address, port = spec.split(",")
    s = socket.socket(
        socket.AF_INET if family == "4" else socket.AF_INET6,
        socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM,
    )
    if family != "4":
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if family == "6only" else 0)
    s.bind((address, int(port)))
    if protocol == "tcp":
        s.listen()
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
"#;

/// A listening process; killed on drop.
struct Listening {
    child: Child,
}

impl Listening {
    /// Starts the listener in `ns` with `sockets`, as root or (`as_nobody`) as `nobody`, and
    /// waits until its sockets are open.
    fn start(ns: &Netns, as_nobody: bool, sockets: &[&str]) -> Listening {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns.name()]);
        if as_nobody {
            command.args([
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
            ]);
        }
        let mut child = command
            .args([PYTHON, "-c", LISTENER])
            .args(sockets)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the listener's output");
        if line.trim() != "ready" {
            let out = child.wait_with_output().expect("the listener ends");
            panic!(
                "the listener did not start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Listening { child }
    }

    fn pid(&self) -> u32 {
        // `ip netns exec` and `setpriv` exec what they run: the pid is Python's.
        self.child.id()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the first policy says: some listeners are declared, some not, some by another process
/// or user; some ports are allowed with nothing listening.
const POLICY: &str = "\
bind python3 on 0.0.0.0 tcp/2201 as root
bind python3 on 10.98.0.1 tcp/2206 as root
bind nginx on 0.0.0.0 udp/2207 as nobody
bind app on 0.0.0.0 tcp/2208 as root
bind python3 on :: v6only tcp/2210 as nobody
input drop {
  allow tcp/2201, tcp/2202, tcp/2206, tcp/2210
  allow udp/2203 from fd00:1::/64
  allow tcp/2204, udp/2204
  allow udp/2207
  allow tcp/2208
  allow tcp/2209
  allow tcp/2211 to 10.0.0.0/8
}
";

/// Every listener declared as it runs, and nothing allowed that nothing listens on.
const CLEAN: &str = "\
bind python3 on 0.0.0.0 tcp/2201, tcp/2202, tcp/2205 as root
bind python3 on :: v6only tcp/2201 as root
bind python3 on :: dual-stack udp/2203 as root
bind python3 on 127.0.0.1 tcp/2204 as root
bind python3 on ::1 udp/2204 as root
bind python3 on fd00:98::1 tcp/2211 as root
bind python3 on 10.98.0.1 tcp/2206 as nobody
bind python3 on 0.0.0.0 udp/2207 as nobody
bind python3 on :: v6only tcp/2210 as nobody
bind python3 on 127.0.0.1 tcp/2210 as nobody
input drop {
  allow tcp/2201, tcp/2202, udp/2203, tcp/2206, udp/2207, tcp/2210, tcp/2211
}
";

/// `portcullis audit FILE --format json` in `ns`: the exit code and the findings as
/// `(rule, severity, message)`.
fn audit(ns: &Netns, file: &std::path::Path) -> (i32, Vec<(String, String, String)>) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), PORTCULLIS, "audit"])
        .arg(file)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .output()
        .expect("portcullis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = json["diagnostics"]
        .as_array()
        .expect("a list of findings")
        .iter()
        .map(|d| {
            let field = |name: &str| d[name].as_str().unwrap_or_default().to_string();
            (field("rule"), field("severity"), field("message"))
        })
        .collect();
    (out.status.code().unwrap_or(-1), findings)
}

/// The messages of one rule's findings.
fn of<'a>(findings: &'a [(String, String, String)], rule: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|(r, _, _)| r == rule)
        .map(|(_, _, m)| m.as_str())
        .collect()
}

/// Exactly one of `messages` contains every one of `parts`.
#[track_caller]
fn one(messages: &[&str], parts: &[&str]) {
    let matching = messages
        .iter()
        .filter(|m| parts.iter().all(|p| m.contains(p)))
        .count();
    assert_eq!(matching, 1, "{parts:?} in {messages:#?}");
}

fn audit_reports_each_finding_and_nothing_else() {
    let ns = Netns::create("srv").expect("cannot create a network namespace");
    ns.ip(&[
        // A veth pair within the namespace: an interface with addresses of its own (the kernel
        // may have no dummy interfaces).
        "link add d0 type veth peer name d1",
        "link set d0 up",
        "link set d1 up",
        "addr add 10.98.0.1/24 dev d0",
        "addr add fd00:98::1/64 dev d0 nodad",
    ])
    .expect("ip failed");
    let root = Listening::start(
        &ns,
        false,
        &[
            "tcp,4,0.0.0.0,2201",
            "tcp,6only,::,2201",
            "tcp,4,0.0.0.0,2202",
            "udp,6,::,2203",
            "tcp,4,127.0.0.1,2204",
            "udp,6only,::1,2204",
            "tcp,4,0.0.0.0,2205",
            "tcp,6only,fd00:98::1,2211",
        ],
    );
    let nobody = Listening::start(
        &ns,
        true,
        &[
            "tcp,4,10.98.0.1,2206",
            "udp,4,0.0.0.0,2207",
            "tcp,6only,::,2210",
            "tcp,4,127.0.0.1,2210",
        ],
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = dir.path().join("policy.pcl");
    std::fs::write(&policy, POLICY).expect("the policy is written");
    let (code, findings) = audit(&ns, &policy);
    let root_process = format!("`python3` (pid {}) as `root`", root.pid());
    let nobody_process = format!("`python3` (pid {}) as `nobody`", nobody.pid());

    // Reachable where no bind declares them: the IPv6 socket beside a declared IPv4 one, an
    // undeclared one, and a dual-stack UDP socket reachable from one net.
    let undeclared = of(&findings, "undeclared-listener");
    assert_eq!(undeclared.len(), 3, "{undeclared:#?}");
    one(
        &undeclared,
        &[
            &root_process,
            "`tcp/2201` at `::` (IPv6 only), reachable from any IPv6 address",
        ],
    );
    one(
        &undeclared,
        &[
            &root_process,
            "`tcp/2202` at `0.0.0.0`, reachable from any IPv4 address",
        ],
    );
    one(
        &undeclared,
        &[
            &root_process,
            "`udp/2203` at `::`, reachable from `fd00:1::/64`",
        ],
    );

    // Declared, but by another user (tcp/2206) or another process (udp/2207).
    let mismatched = of(&findings, "mismatched-listener");
    assert_eq!(mismatched.len(), 2, "{mismatched:#?}");
    one(
        &mismatched,
        &[
            &nobody_process,
            "`tcp/2206` at `10.98.0.1`",
            "declares for `python3` as `root`",
        ],
    );
    one(
        &mismatched,
        &[
            &nobody_process,
            "`udp/2207` at `0.0.0.0`",
            "declares for `nginx`",
        ],
    );

    assert_eq!(
        of(&findings, "bind-without-listener"),
        ["`app` is declared to listen on `tcp/2208` at `0.0.0.0`, but nothing on host `(unnamed host)` listens there"]
    );

    // Allowed, with nothing listening from the network (tcp/2204 and udp/2204 only on
    // loopback addresses); tcp/2211 has its listener, though the allow does not reach it.
    let mut idle: Vec<&str> = of(&findings, "allow-without-listener")
        .into_iter()
        .map(|m| m.split(' ').next().unwrap_or_default())
        .collect();
    idle.sort_unstable();
    assert_eq!(
        idle,
        ["`tcp/2204`", "`tcp/2208`", "`tcp/2209`", "`udp/2204`"]
    );

    // On every address and closed by the policy: only tcp/2205 (tcp/2211 listens on one
    // address, and the loopback listeners on none the network reaches).
    let blocked = of(&findings, "blocked-listener");
    assert_eq!(blocked.len(), 1, "{blocked:#?}");
    one(&blocked, &[&root_process, "`tcp/2205` at `0.0.0.0`"]);

    assert_eq!(findings.len(), 3 + 2 + 1 + 4 + 1, "{findings:#?}");
    assert!(findings
        .iter()
        .all(|(rule, severity, _)| (rule == "undeclared-listener") == (severity == "error")));
    assert_eq!(code, 1, "error-level findings fail the audit");

    std::fs::write(&policy, CLEAN).expect("the policy is written");
    let (code, findings) = audit(&ns, &policy);
    assert_eq!(findings, Vec::new());
    assert_eq!(code, 0);
}

super::trials::tests! {
    Kernel: audit_reports_each_finding_and_nothing_else;
}
