//! Named network namespaces (`ip netns`), deleted on drop, and running code inside them.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{setns, CloneFlags};
use portcullis::nft::Nft;

/// A network namespace made for one test. Names carry the process id and a counter so tests in
/// parallel threads (and leftovers of a crashed run) never collide.
pub struct Netns {
    name: String,
}

impl Netns {
    /// `pc-ROLE-PID-N`. The namespace starts with `lo` up.
    pub fn create(role: &str) -> Netns {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("pc-{role}-{}-{n}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link set lo up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip` commands in the namespace in one process (`ip -n NAME -batch -`).
    pub fn ip<S: AsRef<str>>(&self, commands: &[S]) {
        self.ip_batch(&[], commands);
    }

    /// Like [`Netns::ip`] with `-6`, for the commands that do not tell the family by themselves.
    pub fn ip6<S: AsRef<str>>(&self, commands: &[S]) {
        self.ip_batch(&["-6"], commands);
    }

    fn ip_batch<S: AsRef<str>>(&self, options: &[&str], commands: &[S]) {
        if commands.is_empty() {
            return;
        }
        let script: String = commands
            .iter()
            .map(|c| format!("{}\n", c.as_ref()))
            .collect();
        let mut child = Command::new("ip")
            .args(options)
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run `ip`");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(script.as_bytes())
            .expect("cannot write to `ip -batch`");
        let out = child.wait_with_output().expect("`ip` did not finish");
        assert!(
            out.status.success(),
            "`ip -n {} -batch` failed: {}\ncommands:\n{script}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The library's nft, run inside the namespace.
    pub fn nft(&self) -> Nft {
        Nft::from_env().in_netns(&self.name)
    }

    /// Runs a program inside the namespace; panics with its output if it fails.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        match self.try_exec(program, args) {
            Ok(stdout) => stdout,
            Err(message) => panic!("{message}"),
        }
    }

    /// Runs a program inside the namespace: its standard output, or a message with its errors.
    pub fn try_exec(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run `{program}`: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{program} {}` in {} failed ({}):\n{}{}",
                args.join(" "),
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Sets sysctls inside the namespace, e.g. `("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, settings: &[(&str, &str)]) {
        let mut args = vec!["-q".to_string(), "-w".to_string()];
        args.extend(settings.iter().map(|(k, v)| format!("{k}={v}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.exec("sysctl", &args);
    }

    /// Runs `f` on a thread that has entered the namespace. Sockets made by `f` stay in the
    /// namespace wherever they are used afterwards, so `f` can hand them back.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                    setns(&file, CloneFlags::CLONE_NEWNET)
                        .unwrap_or_else(|e| panic!("setns({path}): {e}"));
                    f()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

fn run(command: &mut Command) {
    let out = command.output().expect("cannot run command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
