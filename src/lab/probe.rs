//! Probes: one TCP connection attempt or one UDP datagram from a chosen source address, and what
//! became of it. All probes of a batch run at once on non-blocking sockets against one deadline,
//! so fifty dropped probes cost one timeout, not fifty.

use std::fmt;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::netns::Netns;
use super::LabError;
use crate::model::Protocol;
use nix::errno::Errno;
use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrStorage};

/// One packet's worth of question: does `protocol/port` on `dst` answer to `src`?
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probe {
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub port: u16,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} from {} to {}",
            self.protocol, self.port, self.src, self.dst
        )
    }
}

/// What happened to a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// TCP connected, or the UDP echo came back.
    Answered,
    /// A TCP reset or an ICMP error came back (the errno it surfaced as).
    Refused(Errno),
    /// Nothing came back before the deadline.
    TimedOut,
    /// The local stack refused to send: an output chain dropped the packet (`EPERM`).
    Blocked(Errno),
    /// The probe could not even be set up (no source port, a protocol sockets cannot speak): no
    /// verdict of the firewall.
    Broken(Errno),
}

impl Outcome {
    pub fn describe(self, protocol: Protocol) -> String {
        match (self, protocol) {
            (Outcome::Answered, Protocol::Tcp) => "connected".to_string(),
            (Outcome::Answered, _) => "echoed".to_string(),
            (Outcome::Refused(e), _) => format!("refused ({})", e.desc()),
            (Outcome::TimedOut, _) => "timed out".to_string(),
            (Outcome::Blocked(e), _) => format!("blocked locally ({})", e.desc()),
            (Outcome::Broken(e), _) => format!("probe broken ({})", e.desc()),
        }
    }
}

const PAYLOAD: &[u8] = b"portcullis kernel probe";

enum InFlight {
    Tcp(TcpStream),
    /// A datagram sent, or refused by the local stack with this error (an output chain's drop or
    /// reject): a reject's ICMP error may still arrive.
    Udp(UdpSocket, Option<Errno>),
    Done(Outcome),
}

/// Runs all probes from inside `ns` at once; each gets until `deadline` after the start.
pub fn run(ns: &Netns, probes: &[Probe], deadline: Duration) -> Result<Vec<Outcome>, LabError> {
    // Too many sockets at once would hit the descriptor limit; batches keep it bounded.
    const BATCH: usize = 400;
    ns.run(|| {
        probes
            .chunks(BATCH)
            .flat_map(|batch| run_batch(batch, deadline))
            .collect()
    })
}

/// Runs probes one after another, each waiting for its outcome: for rate limits, where the order
/// of arrival is the point.
pub fn run_in_order(
    ns: &Netns,
    probes: &[Probe],
    deadline: Duration,
) -> Result<Vec<Outcome>, LabError> {
    ns.run(|| {
        probes
            .iter()
            .map(|p| run_batch(std::slice::from_ref(p), deadline)[0])
            .collect()
    })
}

fn run_batch(probes: &[Probe], deadline: Duration) -> Vec<Outcome> {
    let mut flights: Vec<InFlight> = probes.iter().map(start).collect();
    let end = Instant::now() + deadline;
    loop {
        let mut pending = false;
        for flight in &mut flights {
            if let Some(outcome) = poll(flight) {
                *flight = InFlight::Done(outcome);
            } else {
                pending = true;
            }
        }
        if !pending || Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    flights
        .into_iter()
        .map(|f| match f {
            InFlight::Done(outcome) => outcome,
            InFlight::Udp(_, Some(e)) => Outcome::Blocked(e),
            _ => Outcome::TimedOut,
        })
        .collect()
}

fn start(probe: &Probe) -> InFlight {
    match try_start(probe) {
        Ok(flight) => flight,
        Err(e) => InFlight::Done(classify(e)),
    }
}

fn try_start(probe: &Probe) -> Result<InFlight, Errno> {
    let family = match probe.src {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    let kind = match probe.protocol {
        Protocol::Tcp => SockType::Stream,
        Protocol::Udp => SockType::Datagram,
        // Only TCP and UDP have sockets a prober can open without privileges of its own.
        _ => return Ok(InFlight::Done(Outcome::Broken(Errno::EPROTONOSUPPORT))),
    };
    let fd: OwnedFd = socket(
        family,
        kind,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    if let Err(e) = bind_fresh_port(&fd, probe.src) {
        return Ok(InFlight::Done(Outcome::Broken(e)));
    }
    let dst = SockaddrStorage::from(SocketAddr::new(probe.dst, probe.port));
    match probe.protocol {
        Protocol::Tcp => {
            match connect(fd.as_raw_fd(), &dst) {
                Ok(()) | Err(Errno::EINPROGRESS) => {}
                Err(e) => return Err(e),
            }
            Ok(InFlight::Tcp(TcpStream::from(fd)))
        }
        _ => {
            connect(fd.as_raw_fd(), &dst)?;
            let udp = UdpSocket::from(fd);
            match udp.send(PAYLOAD) {
                Ok(_) => Ok(InFlight::Udp(udp, None)),
                Err(e) if io_errno(&e) == Errno::EPERM => {
                    Ok(InFlight::Udp(udp, Some(Errno::EPERM)))
                }
                Err(e) => Err(io_errno(&e)),
            }
        }
    }
}

/// Binds the probe's source address with a source port no earlier probe of this process used.
///
/// Connection tracking outlives a ruleset: had a new probe the same addresses and ports as an
/// accepted one from before a reload (the kernel picks ephemeral ports at random), it would pass
/// as a reply (`ct state established`) whatever the new ruleset says.
fn bind_fresh_port(fd: &OwnedFd, src: IpAddr) -> Result<(), Errno> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 40_000;
    for _ in 0..1000 {
        let port = FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT;
        let addr = SockaddrStorage::from(SocketAddr::new(src, port as u16));
        match bind(fd.as_raw_fd(), &addr) {
            Ok(()) => return Ok(()),
            // A listener of the same namespace has it.
            Err(Errno::EADDRINUSE) => continue,
            // A probe that cannot bind its source is broken, not a firewall verdict.
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EADDRINUSE)
}

fn poll(flight: &mut InFlight) -> Option<Outcome> {
    match flight {
        InFlight::Done(outcome) => Some(*outcome),
        InFlight::Tcp(stream) => {
            if let Ok(Some(e)) = stream.take_error() {
                return Some(classify(io_errno(&e)));
            }
            match stream.peer_addr() {
                Ok(_) => Some(Outcome::Answered),
                Err(e) if e.raw_os_error() == Some(Errno::ENOTCONN as i32) => None,
                Err(e) => Some(classify(io_errno(&e))),
            }
        }
        InFlight::Udp(udp, _) => {
            let mut buf = [0u8; 64];
            match udp.recv(&mut buf) {
                Ok(n) if &buf[..n] == PAYLOAD => Some(Outcome::Answered),
                Ok(_) => None,
                Err(e) if e.kind() == ErrorKind::WouldBlock => None,
                Err(e) => Some(classify(io_errno(&e))),
            }
        }
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(0))
}

fn classify(e: Errno) -> Outcome {
    match e {
        Errno::ECONNREFUSED
        | Errno::ECONNRESET
        | Errno::EHOSTUNREACH
        | Errno::ENETUNREACH
        | Errno::EACCES => Outcome::Refused(e),
        Errno::EPERM => Outcome::Blocked(e),
        _ => Outcome::Broken(e),
    }
}
