//! Named network namespaces (`ip netns`), deleted on drop, and running code inside them.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{setns, CloneFlags};

use super::LabError;
use crate::nft::Nft;

/// A network namespace made for one run. Names carry the process id and a counter so runs in
/// parallel threads (and leftovers of a crashed run) never collide.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// `pc-ROLE-PID-N`. The namespace starts with `lo` up.
    pub fn create(role: &str) -> Result<Netns, LabError> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("pc-{role}-{}-{n}", std::process::id());
        let mut add = Command::new("ip");
        add.args(["netns", "add", &name]);
        run(&mut add)?;
        // From here on the namespace is deleted on drop, also when `lo` cannot be set up.
        let ns = Netns { name };
        ns.ip(&["link set lo up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip` commands in the namespace in one process (`ip -n NAME -batch -`).
    pub fn ip<S: AsRef<str>>(&self, commands: &[S]) -> Result<(), LabError> {
        self.ip_batch(&[], commands)
    }

    /// Like [`Netns::ip`] with `-6`, for the commands that do not tell the family by themselves.
    pub fn ip6<S: AsRef<str>>(&self, commands: &[S]) -> Result<(), LabError> {
        self.ip_batch(&["-6"], commands)
    }

    fn ip_batch<S: AsRef<str>>(&self, options: &[&str], commands: &[S]) -> Result<(), LabError> {
        if commands.is_empty() {
            return Ok(());
        }
        let script: String = commands
            .iter()
            .map(|c| format!("{}\n", c.as_ref()))
            .collect();
        let spawn = |source| LabError::Spawn {
            program: "ip".to_string(),
            source,
        };
        let mut child = Command::new("ip")
            .args(options)
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).map_err(spawn)?;
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            return Ok(());
        }
        Err(LabError::Failed {
            command: format!("ip -n {} -batch -", self.name),
            output: format!(
                "{}\ncommands:\n{script}",
                String::from_utf8_lossy(&out.stderr).trim_end()
            ),
        })
    }

    /// The library's nft, run inside the namespace.
    pub fn nft(&self) -> Nft {
        Nft::from_env().in_netns(&self.name)
    }

    /// Runs a program inside the namespace: its standard output, or what went wrong.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String, LabError> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .map_err(|source| LabError::Spawn {
                program: program.to_string(),
                source,
            })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(LabError::Failed {
            command: format!("{program} {}` in `{}", args.join(" "), self.name),
            output: format!(
                "{}:\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }

    /// Sets sysctls inside the namespace, e.g. `("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, settings: &[(&str, &str)]) -> Result<(), LabError> {
        let mut args = vec!["-q".to_string(), "-w".to_string()];
        args.extend(settings.iter().map(|(k, v)| format!("{k}={v}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.exec("sysctl", &args).map(drop)
    }

    /// Runs `f` on a thread that has entered the namespace. Sockets made by `f` stay in the
    /// namespace wherever they are used afterwards, so `f` can hand them back.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let file = File::open(&path).map_err(|e| LabError::Enter {
                        path: path.clone(),
                        source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)),
                    })?;
                    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| LabError::Enter {
                        path: path.clone(),
                        source,
                    })?;
                    Ok(f())
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

fn run(command: &mut Command) -> Result<(), LabError> {
    let out = command.output().map_err(|source| LabError::Spawn {
        program: "ip".to_string(),
        source,
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(LabError::Failed {
        command: format!("{command:?}"),
        output: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
    })
}
