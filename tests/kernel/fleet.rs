//! The Ansible role of `examples/ansible`, run as an operator runs it: `ansible-playbook
//! examples/ansible/site.yml` in a controller namespace, over real SSH, against "hosts" that are
//! network namespaces, each with its own sshd, portcullis state directory, policy directory and
//! someone else's tables ([`super::deploy::FOREIGN`]).
//!
//! ```text
//!   controller (ansible-playbook)             host hI (sshd, portcullis)
//!   pcfI 10.96.I.1/24  --------------------  eth0 10.96.I.2/24            I = 1 .. 4
//! ```
//!
//! The first run deploys every host's own ruleset in batches of two, each confirmed over a new
//! connection, and gathers every host's audit into one report (one host has an undeclared
//! listener, so its audit exits 1 with a finding, which the role gathers like the others). The second run changes every host's policy, and the
//! second host's lets SSH in only from a network the controller is not in, a mistake the linter
//! cannot see: its apply loads, its confirmation cannot connect, the play fails there, the host
//! restores its table by itself at the deadline, and the second batch is never touched.
//!
//! The hosts share the test's file system, so every path the role uses on a host is the host's
//! own (inventory variables), and the rollback guard is the detached process (`portcullis_guard:
//! process`): a systemd timer would run in PID 1's namespace, not the host's.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::deploy::{foreign_tables, FOREIGN};
use super::env::SSHD;
use super::netns::Netns;
use super::ruleset::{self, Format};
use super::trials::say;

const PORTCULLIS: &str = env!("CARGO_BIN_EXE_portcullis");
const PLAYBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ansible/site.yml");

const HOSTS: u8 = 4;
/// Two batches of two: the host that locks itself out is the second of the first batch.
const SERIAL: usize = 2;
const LOCKED_OUT: u8 = 2;
const _: () = assert!(LOCKED_OUT as usize <= SERIAL && SERIAL < HOSTS as usize);
/// What the hosts get to confirm: the minimum is 10s, and a loaded machine needs some of it.
const CONFIRM_WITHIN: Duration = Duration::from_secs(20);
/// How long a guard has after the deadline before `status` calls the rollback overdue.
const GRACE: Duration = Duration::from_secs(10);
/// One run of the playbook, at most.
const PLAYBOOK_LIMIT: Duration = Duration::from_secs(300);

/// A network the controller is not in: the second run lets SSH in to the locked-out host only
/// from there.
const ELSEWHERE: &str = "192.0.2.0/24";

/// The sshd of one host, in its namespace; stopped, with every session it started, when dropped.
struct Sshd {
    child: Child,
    log: PathBuf,
}

impl Sshd {
    fn start(ns: &Netns, dir: &Path, address: Ipv4Addr, authorized_keys: &Path) -> Sshd {
        let key = dir.join("ssh_host_ed25519_key");
        keygen(&key);
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress {address}:22\n\
                 HostKey {key}\n\
                 PidFile {pid}\n\
                 AuthorizedKeysFile {authorized_keys}\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 # The key files are in a temporary directory under /tmp, which others can write.\n\
                 StrictModes no\n\
                 UseDNS no\n\
                 MaxStartups 100\n\
                 Subsystem sftp internal-sftp\n\
                 LogLevel VERBOSE\n",
                key = key.display(),
                pid = dir.join("sshd.pid").display(),
                authorized_keys = authorized_keys.display(),
            ),
        )
        .expect("sshd_config written");
        // The privilege separation directory, which Debian's service would make.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let config = config.display().to_string();
        ns.exec(SSHD, &["-t", "-f", &config])
            .unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("sshd.log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), SSHD, "-D", "-f", &config, "-E"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let sshd = Sshd { child, log };
        let target = SocketAddr::from((address, 22));
        let start = Instant::now();
        while !ns
            .run(|| TcpStream::connect_timeout(&target, Duration::from_secs(1)).is_ok())
            .expect("a thread in the namespace")
        {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "sshd does not listen on {target} in {}:\n{}",
                ns.name(),
                std::fs::read_to_string(&sshd.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sshd
    }

    /// Logins so far (`sshd -E` logs each with VERBOSE).
    fn logins(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Accepted publickey for root"))
            .count()
    }

    fn stop(&mut self) {
        for pid in descendants(self.child.id()) {
            kill(pid);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One "host" of the fleet.
struct Host {
    /// I, of `hI` and 10.96.I.2.
    number: u8,
    name: String,
    address: Ipv4Addr,
    dir: PathBuf,
    sshd: Sshd,
    ns: Netns,
}

impl Host {
    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Where the role copies the policy on this host.
    fn dest(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn table(&self) -> Option<String> {
        self.ns
            .exec("nft", &["list", "table", "inet", "portcullis"])
            .ok()
    }

    /// `portcullis status --format json` on the host: its exit code and report.
    fn status(&self) -> (i32, Value) {
        let out = Command::new("ip")
            .args(["netns", "exec", self.ns.name(), PORTCULLIS, "status"])
            .arg("--state-dir")
            .arg(self.state())
            .args(["--format", "json"])
            .output()
            .expect("portcullis status runs");
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: status is not JSON ({e}):\n{}{}",
                self.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }
}

/// The controller, the hosts, and the files of both; everything the test started is stopped when
/// dropped, on every path.
struct Fleet {
    hosts: Vec<Host>,
    controller: Netns,
    dir: tempfile::TempDir,
    ansible_playbook: PathBuf,
}

impl Fleet {
    fn start(ansible_playbook: PathBuf) -> Fleet {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let controller = Netns::create("cli").expect("the controller's namespace");
        let key = dir.path().join("id_ed25519");
        keygen(&key);
        let authorized_keys = dir.path().join("authorized_keys");
        std::fs::copy(key.with_extension("pub"), &authorized_keys).expect("authorized_keys");
        let mut known_hosts = String::new();
        let mut hosts = Vec::new();
        for i in 1..=HOSTS {
            let name = format!("h{i}");
            let ns = Netns::create("srv").expect("the host's namespace");
            let link = format!("pcf{i}");
            controller
                .ip(&[
                    format!(
                        "link add {link} type veth peer name eth0 netns {}",
                        ns.name()
                    ),
                    format!("addr add 10.96.{i}.1/24 dev {link}"),
                    format!("link set {link} up"),
                ])
                .expect("the controller's link");
            ns.ip(&[
                format!("addr add 10.96.{i}.2/24 dev eth0"),
                "link set eth0 up".into(),
            ])
            .expect("the host's link");
            ruleset::load_text(&ns, FOREIGN, Format::Nft).expect("the foreign tables load");
            let host_dir = dir.path().join(&name);
            std::fs::create_dir(&host_dir).expect("the host's directory");
            let address = Ipv4Addr::new(10, 96, i, 2);
            let sshd = Sshd::start(&ns, &host_dir, address, &authorized_keys);
            let host_key = std::fs::read_to_string(host_dir.join("ssh_host_ed25519_key.pub"))
                .expect("the host key");
            let mut fields = host_key.split_whitespace();
            let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
            known_hosts.push_str(&format!("{address} {kind} {key}\n"));
            hosts.push(Host {
                number: i,
                name,
                address,
                dir: host_dir,
                sshd,
                ns,
            });
        }
        let fleet = Fleet {
            hosts,
            controller,
            dir,
            ansible_playbook,
        };
        std::fs::write(fleet.path("known_hosts"), known_hosts).expect("known_hosts");
        fleet.write_configuration();
        fleet
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// ansible.cfg and the inventory. Ansible's own defaults stay (connections are kept open
    /// for 60s and reused, which is what the role's reset must defeat); only the files it would
    /// write under the home directory and the SSH client's configuration are the test's own.
    fn write_configuration(&self) {
        let config = format!(
            "[defaults]\n\
             remote_tmp = {dir}/remote-tmp\n\
             local_tmp = {dir}/local-tmp\n\
             retry_files_enabled = False\n\
             forks = 8\n\
             [ssh_connection]\n\
             control_path_dir = {dir}/cp\n\
             ssh_common_args = -F none -o UserKnownHostsFile={dir}/known_hosts \
             -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes\n",
            dir = self.dir.path().display()
        );
        std::fs::write(self.path("ansible.cfg"), config).expect("ansible.cfg");
        let hosts: serde_json::Map<String, Value> = self
            .hosts
            .iter()
            .map(|host| {
                (
                    host.name.clone(),
                    json!({
                        "ansible_host": host.address.to_string(),
                        "portcullis_dest": host.dest(),
                        "portcullis_state_dir": host.state(),
                    }),
                )
            })
            .collect();
        let inventory = json!({
            "fleet": {
                "hosts": hosts,
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": self.path("id_ed25519"),
                    "ansible_python_interpreter": super::ansible::python(),
                    "portcullis_bin": PORTCULLIS,
                    "portcullis_controller_bin": PORTCULLIS,
                    "portcullis_policy_dir": self.path("policy"),
                    "portcullis_policy": "site.pcl",
                    "portcullis_build_dir": self.path("build"),
                    "portcullis_report": self.path("audit.json"),
                    "portcullis_confirm_within": format!("{}s", CONFIRM_WITHIN.as_secs()),
                    "portcullis_guard": "process",
                    "portcullis_become": false,
                },
            },
        });
        // JSON is YAML, and Ansible's YAML inventory reads `.json` files.
        std::fs::write(self.path("inventory.json"), inventory.to_string()).expect("inventory");
    }

    /// The fleet's policy: host I allows SSH from the controller's networks and tcp/BASE+I;
    /// `locked_out` allows SSH only from elsewhere.
    fn write_policy(&self, base: u16, locked_out: Option<u8>) {
        let mut text = String::from("net controller = 10.96.0.0/16\n");
        for i in 1..=HOSTS {
            let from = match locked_out == Some(i) {
                true => ELSEWHERE,
                false => "controller",
            };
            text.push_str(&format!(
                "\nhost h{i} {{\n  bind sshd on 10.96.{i}.2 ssh as root\n\n  input drop {{\n    \
                 allow ssh from {from}\n    allow tcp/{}\n  }}\n}}\n",
                base + u16::from(i)
            ));
        }
        let dir = self.path("policy");
        std::fs::create_dir_all(&dir).expect("the policy directory");
        std::fs::write(dir.join("site.pcl"), text).expect("the policy");
    }

    /// `ansible-playbook site.yml` in the controller's namespace, killed after
    /// [`PLAYBOOK_LIMIT`]; its exit status and its output.
    fn playbook(&self, run: &str, extra: &[&str]) -> (ExitStatus, String) {
        // Connections a run kept open are not the next run's: its first ones are new.
        kill_processes_naming(&self.path("cp"));
        let output = self.path(&format!("{run}.out"));
        let file = std::fs::File::create(&output).expect("the playbook's output file");
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("a home directory for Ansible");
        let mut child = Command::new("ip")
            .args(["netns", "exec", self.controller.name()])
            .arg(&self.ansible_playbook)
            .arg("-i")
            .arg(self.path("inventory.json"))
            .arg(PLAYBOOK)
            .args(["-e", &format!("portcullis_serial={SERIAL}")])
            .args(extra)
            .env("ANSIBLE_CONFIG", self.path("ansible.cfg"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("HOME", &home)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("the output file"))
            .stderr(file)
            .spawn()
            .expect("ansible-playbook starts");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("ansible-playbook runs") {
                break status;
            }
            if start.elapsed() > PLAYBOOK_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ansible-playbook ({run}) did not finish within {PLAYBOOK_LIMIT:?}:\n{}",
                    std::fs::read_to_string(&output).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        say!("{run}: ansible-playbook took {:.1?}", start.elapsed());
        let text = std::fs::read_to_string(&output).expect("the playbook's output");
        (status, text)
    }

    fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .expect("a host of the fleet")
    }

    /// SSH from the controller to `host`, on a connection of its own: whether `true` ran.
    fn ssh_works(&self, host: &Host) -> bool {
        Command::new("ip")
            .args(["netns", "exec", self.controller.name(), "ssh", "-F", "none"])
            .arg("-i")
            .arg(self.path("id_ed25519"))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.path("known_hosts").display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "ControlMaster=no",
            ])
            .arg(format!("root@{}", host.address))
            .arg("true")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            host.sshd.stop();
        }
        // Ansible's kept connections, rollback guards still waiting, a playbook's workers.
        kill_processes_naming(self.dir.path());
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "portcullis-fleet-test",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
}

/// Every process whose command line names `path`, which is this test's own temporary
/// directory: nothing else has it.
fn kill_processes_naming(path: &Path) {
    let needle = path.display().to_string();
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if pid != me && cmdline.contains(&needle) {
            kill(pid);
        }
    }
}

/// The processes below `root`, children before their parents are gone.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`, where comm may hold spaces and parentheses.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
            Some((pid, ppid.parse().ok()?))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The PLAY RECAP: each host's counters (`ok`, `changed`, `unreachable`, `failed`, ...).
fn recap(output: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    output
        .lines()
        .skip_while(|line| !line.starts_with("PLAY RECAP"))
        .skip(1)
        .filter_map(|line| {
            let (host, counters) = line.split_once(" : ")?;
            let counters = counters
                .split_whitespace()
                .filter_map(|c| {
                    let (name, n) = c.split_once('=')?;
                    Some((name.to_string(), n.parse().ok()?))
                })
                .collect();
            Some((host.trim().to_string(), counters))
        })
        .collect()
}

fn count(recap: &BTreeMap<String, BTreeMap<String, u32>>, host: &str, counter: &str) -> u32 {
    recap
        .get(host)
        .and_then(|c| c.get(counter))
        .copied()
        .unwrap_or_else(|| panic!("no `{counter}` for {host} in the recap: {recap:?}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Checks that `host` holds its own ruleset of the policy written with `base`, applied by apply
/// `generation` and confirmed, and live as applied; `output` is the playbook's, for failures.
fn assert_deployed(host: &Host, generation: u64, base: u16, output: &str) {
    let port = base + u16::from(host.number);
    let (code, status) = host.status();
    let name = &host.name;
    assert_eq!(code, 0, "{name}: status needs nobody: {status:#}\n{output}");
    assert_eq!(status["applied"]["host"], json!(name), "{name}: {status:#}");
    assert_eq!(
        status["applied"]["generation"],
        json!(generation),
        "{name}: {status:#}"
    );
    assert!(
        status["applied"]["confirmed_at"].is_string(),
        "{name} is confirmed: {status:#}\n{output}"
    );
    assert!(status["pending"].is_null(), "{name}: {status:#}");
    assert_eq!(status["live"]["state"], "same", "{name}: {status:#}");
    let table = host.table().expect("the table exists");
    for other in 1..=HOSTS {
        let other_port = base + u16::from(other);
        assert_eq!(
            table.contains(&format!("tcp dport {other_port} accept")),
            other_port == port,
            "{name} holds its own ruleset (tcp/{port}), no other host's:\n{table}"
        );
    }
}

fn ansible_deploys_a_fleet_in_batches_and_stops_at_a_host_it_locks_out() {
    let started = Instant::now();
    let ansible = super::ansible::ansible_playbook().expect("the harness checked it");
    let fleet = Fleet::start(ansible);
    let foreign: Vec<Vec<Value>> = fleet.hosts.iter().map(|h| foreign_tables(&h.ns)).collect();
    // Something on h4 listens on the port its policy opens, which no `bind` declares: audit
    // finds an error there (exit 1), which the role gathers like any report.
    let undeclared = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 7004));
    let _listener = fleet
        .host("h4")
        .ns
        .run(|| TcpListener::bind(undeclared))
        .expect("a thread in the namespace")
        .expect("a listener on tcp/7004");

    // The first run: every host gets its own ruleset.
    fleet.write_policy(7000, None);
    let (status, output) = fleet.playbook("first", &[]);
    assert!(status.success(), "the first run succeeds:\n{output}");
    for (i, host) in fleet.hosts.iter().enumerate() {
        assert_deployed(host, 1, 7000, &output);
        assert_eq!(foreign_tables(&host.ns), foreign[i], "{}", host.name);
        assert!(
            fleet
                .path("build")
                .join(format!("{}.nft", host.name))
                .exists(),
            "the controller compiled {}",
            host.name
        );
    }
    // One report, keyed by host, each the host's own audit: its sshd is the one its `bind`
    // declares (no warning), which only the sockets of its own namespace show.
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(fleet.path("audit.json")).expect("the audit report"),
    )
    .expect("the report is JSON");
    let keys: Vec<&String> = report.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["h1", "h2", "h3", "h4"], "{report:#}");
    for host in &fleet.hosts {
        let audit = &report[&host.name];
        let port = 7000 + u16::from(host.number);
        let (rule, errors) = match host.name.as_str() {
            "h4" => ("undeclared-listener", 1),
            _ => ("allow-without-listener", 0),
        };
        let diagnostics = audit["diagnostics"].as_array().expect("diagnostics");
        assert!(
            diagnostics.len() == 1
                && diagnostics[0]["rule"] == rule
                && diagnostics[0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&port.to_string())),
            "{}: one {rule} finding for tcp/{port}: {audit:#}",
            host.name
        );
        assert_eq!(
            audit["summary"],
            json!({"errors": errors, "warnings": 0, "infos": 1 - errors}),
            "{}: {audit:#}",
            host.name
        );
    }
    let first_tables: BTreeMap<&str, String> = fleet
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.table().expect("a table")))
        .collect();
    let first_policy =
        std::fs::read_to_string(fleet.path("policy/site.pcl")).expect("the first policy");

    // The second run: every host's policy changes; the second host's shuts the controller out.
    fleet.write_policy(8000, Some(LOCKED_OUT));
    let later = &fleet.hosts[SERIAL..];
    let logins: Vec<usize> = later.iter().map(|h| h.sshd.logins()).collect();
    let (status, output) = fleet.playbook("second", &[]);
    let ended = now();
    assert_eq!(
        status.code(),
        Some(2),
        "ansible-playbook reports failed hosts:\n{output}"
    );
    let recap = recap(&output);
    let locked = format!("h{LOCKED_OUT}");
    assert!(
        count(&recap, &locked, "failed") >= 1,
        "{locked} is failed in the recap:\n{output}"
    );
    assert!(
        output.contains(&format!(
            "{locked} cannot be reached over a new connection since the apply"
        )),
        "the play says why:\n{output}"
    );
    assert_eq!(count(&recap, "h1", "failed"), 0, "{output}");
    assert_deployed(fleet.host("h1"), 2, 8000, &output);

    // The locked-out host: its apply loaded and was not confirmed, and its guard restores the
    // first run's table by the deadline.
    let host = fleet.host(&locked);
    let pending = std::fs::read_to_string(host.state().join("pending.json"))
        .ok()
        .map(|text| serde_json::from_str::<Value>(&text).expect("pending.json is JSON"));
    if let Some(pending) = &pending {
        assert_eq!(pending["generation"], 2, "{pending:#}");
    }
    // By the deadline and the time a guard is given; when the guard was quicker than this look,
    // the rollback is already there.
    let limit = pending
        .as_ref()
        .and_then(|p| p["deadline"].as_u64())
        .unwrap_or(ended)
        + GRACE.as_secs();
    let restored = loop {
        let (code, status) = host.status();
        if code == 0
            && status["pending"].is_null()
            && host.table().as_ref() == first_tables.get(host.name.as_str())
        {
            break status;
        }
        assert!(
            now() <= limit,
            "{locked} did not roll back by itself within {GRACE:?} of its deadline: {status:#}\n\
             log:\n{}",
            std::fs::read_to_string(host.state().join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(restored["applied"]["generation"], 1, "{restored:#}");
    assert_eq!(restored["rolled_back"]["generation"], 2, "{restored:#}");
    assert_eq!(restored["rolled_back"]["by_deadline"], true, "{restored:#}");
    assert_eq!(restored["live"]["state"], "same", "{restored:#}");
    assert!(
        fleet.ssh_works(host),
        "{locked} lets SSH in again after its rollback"
    );

    // The second batch was never reached: no login, no file, no apply.
    for (i, host) in later.iter().enumerate() {
        let name = &host.name;
        assert_eq!(host.sshd.logins(), logins[i], "no login to {name}");
        assert_eq!(count(&recap, name, "changed"), 0, "{name}:\n{output}");
        assert_eq!(count(&recap, name, "failed"), 0, "{name}:\n{output}");
        assert_eq!(
            std::fs::read_to_string(host.dest().join("site.pcl")).expect("the copied policy"),
            first_policy,
            "{name} still has the first policy"
        );
        assert_deployed(host, 1, 7000, &output);
        assert_eq!(
            host.table().as_ref(),
            first_tables.get(name.as_str()),
            "{name}"
        );
    }
    for (i, host) in fleet.hosts.iter().enumerate() {
        assert_eq!(foreign_tables(&host.ns), foreign[i], "{}", host.name);
    }
    say!("the fleet trial took {:.1?}", started.elapsed());
}

super::trials::tests! {
    Fleet: ansible_deploys_a_fleet_in_batches_and_stops_at_a_host_it_locks_out;
}
