//! The sockets listening on this machine, read from /proc: the only part of `audit` that looks at
//! the machine.
//!
//! `/proc/net/{tcp,tcp6,udp,udp6}` list the sockets of the network namespace this process runs
//! in, each with the user that opened it and its inode; the `socket:[INODE]` links in
//! `/proc/PID/fd` tell which processes hold each. Other users' `/proc/PID/fd` can be read only by
//! root: without root, a socket's processes are known only when they are this user's own.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use procfs::net::{TcpState, UdpState};
use procfs::process::FDTarget;

use super::{Listener, Process};
use crate::model::Protocol;

/// Why the sockets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SocketsError {
    #[error("cannot read the socket table `{path}`: {reason}")]
    Table { path: &'static str, reason: String },
    #[error("cannot list the processes in /proc: {0}")]
    Processes(String),
}

/// One socket of a table: a listener before its processes and user are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub protocol: Protocol,
    pub address: SocketAddr,
    pub uid: u32,
    pub inode: u64,
}

/// Every TCP socket in `LISTEN` and every UDP socket bound to a port and connected to no peer,
/// in this network namespace, with the processes that hold them and their users.
pub fn listening() -> Result<Vec<Listener>, SocketsError> {
    let sockets = sockets()?;
    let mut names = UserNames::default();
    let holders = holders(&sockets, &mut names)?;
    Ok(listeners(sockets, &holders, |uid| names.name(uid)))
}

/// The sockets of the four tables that listen.
fn sockets() -> Result<Vec<Socket>, SocketsError> {
    fn failed(path: &'static str) -> impl Fn(procfs::ProcError) -> SocketsError {
        move |e| SocketsError::Table {
            path,
            reason: e.to_string(),
        }
    }
    let mut sockets = Vec::new();
    for (path, read) in [
        ("/proc/net/tcp", procfs::net::tcp as fn() -> _),
        ("/proc/net/tcp6", procfs::net::tcp6),
    ] {
        for entry in read().map_err(failed(path))? {
            if entry.state == TcpState::Listen {
                sockets.push(Socket {
                    protocol: Protocol::Tcp,
                    address: entry.local_address,
                    uid: entry.uid,
                    inode: entry.inode,
                });
            }
        }
    }
    for (path, read) in [
        ("/proc/net/udp", procfs::net::udp as fn() -> _),
        ("/proc/net/udp6", procfs::net::udp6),
    ] {
        for entry in read().map_err(failed(path))? {
            // A connected UDP socket is a client's: it takes datagrams from its peer only.
            if entry.state == UdpState::Close && entry.remote_address.port() == 0 {
                sockets.push(Socket {
                    protocol: Protocol::Udp,
                    address: entry.local_address,
                    uid: entry.uid,
                    inode: entry.inode,
                });
            }
        }
    }
    Ok(sockets)
}

/// The processes that hold each of the sockets, by inode, in process id order. Processes that
/// end while they are read, or whose descriptors this user may not read, are left out.
fn holders(
    sockets: &[Socket],
    names: &mut UserNames,
) -> Result<HashMap<u64, Vec<Process>>, SocketsError> {
    let wanted: std::collections::HashSet<u64> = sockets.iter().map(|s| s.inode).collect();
    let mut holders: HashMap<u64, Vec<Process>> = HashMap::new();
    let processes =
        procfs::process::all_processes().map_err(|e| SocketsError::Processes(e.to_string()))?;
    for process in processes.flatten() {
        let Ok(fds) = process.fd() else {
            continue;
        };
        let held: Vec<u64> = fds
            .flatten()
            .filter_map(|fd| match fd.target {
                FDTarget::Socket(inode) if wanted.contains(&inode) => Some(inode),
                _ => None,
            })
            .collect();
        if held.is_empty() {
            continue;
        }
        let Ok(stat) = process.stat() else {
            continue;
        };
        let executable = process
            .exe()
            .ok()
            .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()));
        let user = process.status().ok().map(|s| names.name(s.euid));
        let found = Process {
            pid: u32::try_from(process.pid()).unwrap_or_default(),
            name: stat.comm,
            executable,
            user,
        };
        for inode in held {
            let list = holders.entry(inode).or_default();
            if !list.iter().any(|p| p.pid == found.pid) {
                list.push(found.clone());
            }
        }
    }
    for list in holders.values_mut() {
        list.sort_by_key(|p| p.pid);
    }
    Ok(holders)
}

/// The listeners the sockets make, in protocol, address and port order. Sockets on the same
/// protocol, address and port (`SO_REUSEPORT`, one per worker) are one listener with all their
/// processes; port 0 (a socket not bound yet) is left out. IPv4 addresses that an IPv6 socket
/// is bound to (`::ffff:192.0.2.1`) are IPv4 addresses.
pub fn listeners(
    sockets: Vec<Socket>,
    holders: &HashMap<u64, Vec<Process>>,
    mut user_name: impl FnMut(u32) -> String,
) -> Vec<Listener> {
    let mut found: Vec<Listener> = Vec::new();
    for socket in sockets {
        if socket.address.port() == 0 {
            continue;
        }
        let address = match socket.address.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let processes = holders.get(&socket.inode).cloned().unwrap_or_default();
        let same = found.iter_mut().find(|l| {
            l.protocol == socket.protocol && l.address == address && l.port == socket.address.port()
        });
        match same {
            Some(listener) => {
                for p in processes {
                    if !listener.processes.iter().any(|q| q.pid == p.pid) {
                        listener.processes.push(p);
                    }
                }
                listener.processes.sort_by_key(|p| p.pid);
            }
            None => found.push(Listener {
                protocol: socket.protocol,
                address,
                port: socket.address.port(),
                user: Some(user_name(socket.uid)),
                processes,
            }),
        }
    }
    found.sort_by_key(|l| (l.protocol, l.address, l.port));
    found
}

/// User names by user id, looked up once each through the system's user database (NSS, as
/// `ps` and `ss` do); a user id without a name is its number.
#[derive(Default)]
struct UserNames(HashMap<u32, String>);

impl UserNames {
    fn name(&mut self, uid: u32) -> String {
        self.0
            .entry(uid)
            .or_insert_with(
                || match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
                    Ok(Some(user)) => user.name,
                    _ => uid.to_string(),
                },
            )
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(protocol: Protocol, address: &str, inode: u64) -> Socket {
        Socket {
            protocol,
            address: address.parse().unwrap(),
            uid: 0,
            inode,
        }
    }

    fn process(pid: u32, name: &str) -> Process {
        Process {
            pid,
            name: name.to_string(),
            executable: None,
            user: None,
        }
    }

    #[test]
    fn reused_ports_are_one_listener_with_every_process() {
        let sockets = vec![
            socket(Protocol::Udp, "[::]:53", 4),
            socket(Protocol::Tcp, "0.0.0.0:80", 1),
            socket(Protocol::Tcp, "0.0.0.0:80", 2),
            socket(Protocol::Tcp, "0.0.0.0:0", 3),
            socket(Protocol::Tcp, "[::ffff:192.0.2.1]:443", 5),
        ];
        let holders: HashMap<u64, Vec<Process>> = [
            (1, vec![process(813, "nginx")]),
            (2, vec![process(812, "nginx"), process(813, "nginx")]),
        ]
        .into_iter()
        .collect();
        let found = listeners(sockets, &holders, |uid| format!("user{uid}"));
        let text: Vec<String> = found.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            text,
            ["tcp/80 at 0.0.0.0", "tcp/443 at 192.0.2.1", "udp/53 at ::"]
        );
        let pids: Vec<u32> = found[0].processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [812, 813]);
        assert_eq!(found[0].user.as_deref(), Some("user0"));
        assert!(found[2].processes.is_empty());
    }

    /// The socket tables of the namespace the tests run in can always be read, and a socket
    /// this process opens is found with this process holding it.
    #[test]
    fn a_socket_of_this_process_is_found_with_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = listening().unwrap();
        let ours = found
            .iter()
            .find(|l| l.protocol == Protocol::Tcp && l.port == port)
            .expect("the socket this test opened");
        assert_eq!(ours.address, IpAddr::from([127, 0, 0, 1]));
        assert!(ours.processes.iter().any(|p| p.pid == std::process::id()));
        assert!(ours.user.is_some());
    }
}
