//! Probes of traffic without ports: an ICMP or ICMPv6 echo, a packet of another IP protocol, and
//! an IPv6 neighbour solicitation. Each reports what came back as an [`Outcome`], so that it can
//! be held against the model like a TCP or UDP probe:
//!
//! - echo: the reply is `Answered`; an ICMP error (a `reject`) is `Refused`; nothing `TimedOut`.
//! - another protocol: a host that accepts the packet and has no handler for the protocol
//!   answers with "protocol unreachable" (IPv4) or "unrecognized next header" (IPv6), which is
//!   `Answered`; a `reject` answers "port unreachable", `Refused`.
//! - neighbour solicitation: an advertisement for the target is `Answered`.
//!
//! Sockets are made inside the namespace and polled against one deadline, as in [`super::probe`].

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{bind, connect, recv, send, MsgFlags, SockaddrIn6, SockaddrStorage};

use super::netns::Netns;
use super::probe::Outcome;

/// An ICMP (IPv4) or ICMPv6 (IPv6) echo request from `src` to `dst`, through a ping socket.
pub fn echo(ns: &Netns, src: IpAddr, dst: IpAddr, deadline: Duration) -> Outcome {
    ns.run(|| {
        let (domain, protocol, request) = match src {
            IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP, 8u8),
            IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6, 128u8),
        };
        let fd = match open(domain, libc::SOCK_DGRAM, protocol) {
            Ok(fd) => fd,
            Err(e) => return Outcome::Broken(e),
        };
        if let Err(e) = attach(&fd, src, dst) {
            return Outcome::Broken(e);
        }
        // Type, code, checksum and identifier are the kernel's to fill in for a ping socket.
        let mut message = vec![request, 0, 0, 0, 0, 0, 0, 1];
        message.extend_from_slice(b"portcullis echo");
        if let Err(e) = send(fd.as_raw_fd(), &message, MsgFlags::empty()) {
            return sent_error(e);
        }
        // Echo reply: ICMP type 0, ICMPv6 type 129.
        let reply = if src.is_ipv4() { 0 } else { 129 };
        wait(&fd, deadline, |packet| packet.first() == Some(&reply))
    })
    .expect("cannot enter the namespace")
}

/// A packet of IP protocol `number` from `src` to `dst`, through a raw socket.
pub fn protocol(ns: &Netns, number: u8, src: IpAddr, dst: IpAddr, deadline: Duration) -> Outcome {
    ns.run(|| {
        let domain = match src {
            IpAddr::V4(_) => libc::AF_INET,
            IpAddr::V6(_) => libc::AF_INET6,
        };
        let fd = match open(domain, libc::SOCK_RAW, i32::from(number)) {
            Ok(fd) => fd,
            Err(e) => return Outcome::Broken(e),
        };
        if let Err(e) = attach(&fd, src, dst) {
            return Outcome::Broken(e);
        }
        let payload = checksummed(number, src, dst, b"portcullis raw probe");
        if let Err(e) = send(fd.as_raw_fd(), &payload, MsgFlags::empty()) {
            return sent_error(e);
        }
        // Nothing answers in the protocol itself: only errors tell.
        wait(&fd, deadline, |_| false)
    })
    .expect("cannot enter the namespace")
}

/// A neighbour solicitation for `target` from the link-local address of `interface` (whose
/// hardware address is `mac`), with hop limit 255 as neighbour discovery requires; `Answered`
/// when an advertisement for `target` comes back.
pub fn solicit(
    ns: &Netns,
    interface: &str,
    mac: [u8; 6],
    target: Ipv6Addr,
    deadline: Duration,
) -> Outcome {
    ns.run(|| {
        let fd = match open(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6) {
            Ok(fd) => fd,
            Err(e) => return Outcome::Broken(e),
        };
        let index = match nix::net::if_::if_nametoindex(interface) {
            Ok(index) => index,
            Err(e) => return Outcome::Broken(e),
        };
        for option in [libc::IPV6_MULTICAST_HOPS, libc::IPV6_UNICAST_HOPS] {
            if let Err(e) = set_int(&fd, libc::IPPROTO_IPV6, option, 255) {
                return Outcome::Broken(e);
            }
        }
        if let Err(e) = set_int(
            &fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_IF,
            index as i32,
        ) {
            return Outcome::Broken(e);
        }
        let t = target.octets();
        let group = Ipv6Addr::new(
            0xff02,
            0,
            0,
            0,
            0,
            1,
            0xff00 | u16::from(t[13]),
            u16::from_be_bytes([t[14], t[15]]),
        );
        // Type 135, code 0, checksum (the kernel's), reserved; the target; the source link-layer
        // address option.
        let mut message = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(&t);
        message.extend_from_slice(&[1, 1]);
        message.extend_from_slice(&mac);
        let to = SockaddrIn6::from(SocketAddrV6::new(group, 0, 0, index));
        if let Err(e) = nix::sys::socket::sendto(fd.as_raw_fd(), &message, &to, MsgFlags::empty()) {
            return sent_error(e);
        }
        // Raw ICMPv6 sockets see the ICMPv6 message without the IPv6 header.
        wait(&fd, deadline, |packet| {
            packet.len() >= 24 && packet[0] == 136 && packet[8..24] == t
        })
    })
    .expect("cannot enter the namespace")
}

/// `data` after a 16-bit ones' complement checksum that makes the whole payload check out, over
/// IPv6's pseudo-header for IPv6. A `reject` answers a packet of a protocol it does not know only
/// if its payload passes that check (the kernel's `nf_reject_verify_csum`), as real protocols'
/// packets with such a checksum (VRRP, OSPF) do.
fn checksummed(number: u8, src: IpAddr, dst: IpAddr, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![0, 0];
    payload.extend_from_slice(data);
    let mut summed = payload.clone();
    if let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) {
        summed.extend_from_slice(&s.octets());
        summed.extend_from_slice(&d.octets());
        summed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        summed.extend_from_slice(&[0, 0, 0, number]);
    }
    if summed.len() % 2 == 1 {
        // The payload's odd last byte is padded where it is, before the pseudo-header.
        summed.insert(payload.len(), 0);
    }
    let mut sum: u32 = summed
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let check = !(sum as u16);
    payload[..2].copy_from_slice(&check.to_be_bytes());
    payload
}

fn open(domain: i32, kind: i32, protocol: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: socket(2) with plain integer arguments; a non-negative result is a new descriptor
    // this function then owns.
    let fd = unsafe {
        libc::socket(
            domain,
            kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(fd: &OwnedFd, level: i32, option: i32, value: i32) -> Result<(), Errno> {
    // SAFETY: setsockopt(2) reads `size_of::<i32>()` bytes from a live local.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            option,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Binds the source and connects to the destination: a connected socket hears the ICMP errors
/// about what it sent.
fn attach(fd: &OwnedFd, src: IpAddr, dst: IpAddr) -> Result<(), Errno> {
    bind(
        fd.as_raw_fd(),
        &SockaddrStorage::from(SocketAddr::new(src, 0)),
    )?;
    connect(
        fd.as_raw_fd(),
        &SockaddrStorage::from(SocketAddr::new(dst, 0)),
    )
}

/// A send refused by the local stack: an output chain dropped (`EPERM`) or rejected it.
fn sent_error(e: Errno) -> Outcome {
    match e {
        Errno::EPERM => Outcome::Blocked(e),
        Errno::ECONNREFUSED | Errno::EHOSTUNREACH | Errno::ENETUNREACH | Errno::EACCES => {
            Outcome::Refused(e)
        }
        e => Outcome::Broken(e),
    }
}

/// Polls until `answer` holds for a received packet, an error arrives, or the deadline passes.
fn wait(fd: &OwnedFd, deadline: Duration, answer: impl Fn(&[u8]) -> bool) -> Outcome {
    let end = Instant::now() + deadline;
    let mut buf = [0u8; 2048];
    loop {
        match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) if answer(&buf[..n]) => return Outcome::Answered,
            Ok(_) | Err(Errno::EAGAIN) => {}
            // The host took the packet and has no handler for its protocol.
            Err(Errno::ENOPROTOOPT) | Err(Errno::EPROTO) => return Outcome::Answered,
            Err(e @ (Errno::ECONNREFUSED | Errno::EHOSTUNREACH | Errno::ENETUNREACH)) => {
                return Outcome::Refused(e)
            }
            Err(e @ Errno::EACCES) => return Outcome::Refused(e),
            Err(e) => return Outcome::Broken(e),
        }
        if Instant::now() >= end {
            return Outcome::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
