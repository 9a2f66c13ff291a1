//! Listeners inside a namespace: TCP accepts and closes, UDP echoes. Each socket is served by one
//! blocked thread; dropping the [`Listeners`] shuts the sockets down, which wakes the threads.
//!
//! A TCP listener on `[::]` serves every address of both families. UDP gets one socket per local
//! address instead: an unbound UDP socket answers from the namespace's primary address, and the
//! prober's connected socket would ignore an echo from anywhere but where it sent to.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::netns::Netns;
use super::LabError;
use crate::model::Protocol;
use nix::sys::socket::{shutdown, Shutdown};

/// A connection or datagram a listener received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub protocol: Protocol,
    pub port: u16,
    pub peer: SocketAddr,
}

enum Socket {
    Tcp(Arc<TcpListener>),
    Udp(Arc<UdpSocket>),
}

impl Socket {
    fn shutdown(&self) {
        let fd = match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Udp(s) => s.as_raw_fd(),
        };
        // Wakes the thread blocked in accept/recv (also on an unconnected UDP socket).
        let _ = shutdown(fd, Shutdown::Both);
    }
}

pub struct Listeners {
    stop: Arc<AtomicBool>,
    sockets: Vec<Socket>,
    threads: Vec<JoinHandle<()>>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Listeners {
    /// Listens on every `(protocol, port)`: TCP on `[::]`, UDP on each of `addresses` (the
    /// namespace's own). Only TCP and UDP.
    pub fn start(
        ns: &Netns,
        ports: &BTreeSet<(Protocol, u16)>,
        addresses: &[IpAddr],
    ) -> Result<Listeners, LabError> {
        let sockets: Vec<(Protocol, u16, Socket)> = ns.run(|| {
            let mut sockets = Vec::new();
            for &(protocol, port) in ports {
                match protocol {
                    Protocol::Tcp => {
                        let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
                        let listener =
                            TcpListener::bind(addr).map_err(|source| LabError::Socket {
                                what: format!("cannot listen on tcp/{port}"),
                                source,
                            })?;
                        sockets.push((protocol, port, Socket::Tcp(Arc::new(listener))));
                    }
                    Protocol::Udp => {
                        for &address in addresses {
                            let socket = UdpSocket::bind(SocketAddr::new(address, port)).map_err(
                                |source| LabError::Socket {
                                    what: format!("cannot bind udp/{port} on {address}"),
                                    source,
                                },
                            )?;
                            sockets.push((protocol, port, Socket::Udp(Arc::new(socket))));
                        }
                    }
                    _ => {}
                }
            }
            Ok::<_, LabError>(sockets)
        })??;
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        let mut kept = Vec::new();
        for (protocol, port, socket) in sockets {
            let (thread_stop, thread_hits) = (Arc::clone(&stop), Arc::clone(&hits));
            let builder = std::thread::Builder::new()
                .name(format!("{protocol}/{port}"))
                .stack_size(64 * 1024);
            let thread = match &socket {
                Socket::Tcp(listener) => {
                    let listener = Arc::clone(listener);
                    builder.spawn(move || serve_tcp(&listener, port, &thread_stop, &thread_hits))
                }
                Socket::Udp(udp) => {
                    let udp = Arc::clone(udp);
                    builder.spawn(move || serve_udp(&udp, port, &thread_stop, &thread_hits))
                }
            };
            kept.push(socket);
            match thread {
                Ok(thread) => threads.push(thread),
                Err(source) => {
                    // Dropping what exists stops the threads already serving.
                    drop(Listeners {
                        stop,
                        sockets: kept,
                        threads,
                        hits,
                    });
                    return Err(LabError::Socket {
                        what: "cannot start a listener thread".to_string(),
                        source,
                    });
                }
            }
        }
        Ok(Listeners {
            stop,
            sockets: kept,
            threads,
            hits,
        })
    }

    /// Everything received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn serve_tcp(listener: &TcpListener, port: u16, stop: &AtomicBool, hits: &Mutex<Vec<Hit>>) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok((stream, peer)) = accepted {
            hits.lock().unwrap().push(Hit {
                protocol: Protocol::Tcp,
                port,
                peer,
            });
            drop(stream);
        }
    }
}

fn serve_udp(socket: &UdpSocket, port: u16, stop: &AtomicBool, hits: &Mutex<Vec<Hit>>) {
    let mut buf = [0u8; 512];
    loop {
        let received = socket.recv_from(&mut buf);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok((n, peer)) = received {
            hits.lock().unwrap().push(Hit {
                protocol: Protocol::Udp,
                port,
                peer,
            });
            let _ = socket.send_to(&buf[..n], peer);
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for socket in &self.sockets {
            socket.shutdown();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
