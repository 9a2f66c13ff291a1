//! A socket listening on the host, as `audit` holds it against the policy.

use std::fmt;
use std::net::IpAddr;

use crate::model::{AddrSet, IntervalSet, Protocol};

/// A TCP socket in the `LISTEN` state, or a UDP socket bound to a port and connected to no peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub protocol: Protocol,
    /// The address it is bound to: `0.0.0.0` and `::` for every address.
    pub address: IpAddr,
    pub port: u16,
    /// The user that opened the socket, by name (or by number when it has none), when known.
    pub user: Option<String>,
    /// The processes that hold the socket, by process id: a daemon's main process before the
    /// workers it started. Empty when none can be seen (other users' processes, without root).
    pub processes: Vec<Process>,
}

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// Its name as the kernel keeps it (`comm`: at most 15 characters), as `ps` and `ss` show it.
    pub name: String,
    /// The file name of its executable (`python3.11` for `python3`), when it can be read.
    pub executable: Option<String>,
    /// The user it runs as (its effective user id), by name or number.
    pub user: Option<String>,
}

/// How many characters of a process name the kernel keeps.
const COMM_LENGTH: usize = 15;

impl Process {
    /// Whether the process is the one a `bind` names: by its name, by the file name of its
    /// executable, or by the first 15 characters the kernel keeps of a longer name.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name
            || self.executable.as_deref() == Some(name)
            || (self.name.chars().count() == COMM_LENGTH && name.starts_with(&self.name))
    }

    /// systemd holding a socket for socket activation: the service it starts takes it over.
    pub fn is_init(&self) -> bool {
        self.pid == 1
    }
}

impl Listener {
    /// The addresses it takes connections on: its own, or for `0.0.0.0` every IPv4 address,
    /// and for `::` every IPv6 address and, unless it is IPv6 only, every IPv4 one too.
    pub fn addresses(&self, v6only: bool) -> AddrSet {
        match self.address {
            IpAddr::V4(a) if a.is_unspecified() => AddrSet {
                v4: IntervalSet::full(),
                v6: IntervalSet::empty(),
            },
            IpAddr::V6(a) if a.is_unspecified() && v6only => AddrSet {
                v4: IntervalSet::empty(),
                v6: IntervalSet::full(),
            },
            IpAddr::V6(a) if a.is_unspecified() => AddrSet::any(),
            addr => AddrSet::prefix(ipnet::IpNet::from(addr)),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.address.is_unspecified()
    }

    /// Whether only systemd holds it, waiting to start the service on the first connection.
    pub fn is_socket_activated(&self) -> bool {
        !self.processes.is_empty() && self.processes.iter().all(Process::is_init)
    }

    /// The users it is known to run as: the one that opened it, then its processes' users.
    pub fn users(&self) -> Vec<&str> {
        let mut users: Vec<&str> = self.user.iter().map(String::as_str).collect();
        for user in self.processes.iter().filter_map(|p| p.user.as_deref()) {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        users
    }

    /// Who holds it, for messages: "`nginx` (pid 812 and 2 more) as `root`".
    pub fn holder(&self) -> String {
        let user = self
            .user
            .as_deref()
            .or_else(|| self.processes.iter().find_map(|p| p.user.as_deref()));
        let as_user = user.map(|u| format!(" as `{u}`")).unwrap_or_default();
        match self.processes.as_slice() {
            // Another PID namespace's, or another user's to an audit without root.
            [] => match user {
                Some(u) => format!("a process of `{u}` that audit cannot see"),
                None => "a process audit cannot see".to_string(),
            },
            [one] => format!("`{}` (pid {}){as_user}", one.name, one.pid),
            [first, rest @ ..] => {
                let mut names: Vec<&str> = Vec::new();
                for p in rest.iter().filter(|p| p.name != first.name) {
                    if !names.contains(&p.name.as_str()) {
                        names.push(&p.name);
                    }
                }
                let others = names.iter().map(|n| format!(", `{n}`")).collect::<String>();
                format!(
                    "`{}` (pid {} and {} more{others}){as_user}",
                    first.name,
                    first.pid,
                    rest.len()
                )
            }
        }
    }

    /// The process name a `bind` for it would name: the first process's, else `PROCESS`.
    pub fn process_name(&self) -> &str {
        self.processes
            .first()
            .map_or("PROCESS", |p| p.name.as_str())
    }
}

/// `tcp/8080 at 0.0.0.0`, `udp/53 at ::1`.
impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} at {}", self.protocol, self.port, self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, name: &str, user: &str) -> Process {
        Process {
            pid,
            name: name.to_string(),
            executable: None,
            user: Some(user.to_string()),
        }
    }

    fn listener(processes: Vec<Process>) -> Listener {
        Listener {
            protocol: Protocol::Tcp,
            address: "0.0.0.0".parse().unwrap(),
            port: 80,
            user: Some("root".to_string()),
            processes,
        }
    }

    #[test]
    fn a_process_answers_to_its_name_its_executable_and_a_cut_name() {
        let mut p = process(7, "python3", "root");
        p.executable = Some("python3.11".to_string());
        assert!(p.is_named("python3"));
        assert!(p.is_named("python3.11"));
        assert!(!p.is_named("python"));
        let cut = process(8, "systemd-resolve", "systemd-resolve");
        assert!(cut.is_named("systemd-resolved"));
        assert!(!process(9, "redis-server", "redis").is_named("redis"));
    }

    #[test]
    fn holders_are_named_with_their_user() {
        assert_eq!(
            listener(Vec::new()).holder(),
            "a process of `root` that audit cannot see"
        );
        let nginx = listener(vec![
            process(812, "nginx", "root"),
            process(813, "nginx", "www-data"),
            process(814, "nginx", "www-data"),
        ]);
        assert_eq!(nginx.holder(), "`nginx` (pid 812 and 2 more) as `root`");
        assert_eq!(nginx.users(), vec!["root", "www-data"]);
        assert!(!nginx.is_socket_activated());
        assert!(listener(vec![process(1, "systemd", "root")]).is_socket_activated());
    }

    #[test]
    fn a_wildcard_takes_its_family_and_a_dual_stack_one_both() {
        let mut l = listener(Vec::new());
        assert!(l.addresses(false).v6.is_empty());
        l.address = "::".parse().unwrap();
        assert!(l.addresses(false).is_any());
        assert!(l.addresses(true).v4.is_empty());
        l.address = "10.0.0.5".parse().unwrap();
        assert_eq!(l.addresses(false).to_string(), "10.0.0.5/32");
        assert_eq!(l.to_string(), "tcp/80 at 10.0.0.5");
    }
}
