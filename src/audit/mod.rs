//! `portcullis audit`: the sockets listening on this host, held against the host's policy.
//!
//! [`listening`] reads the sockets from /proc, the one part that looks at the machine; [`audit`]
//! is a pure function of a host of the policy and a list of [`Listener`]s. It asks the model who
//! reaches each listener ([`crate::model::Chain::reach`]) once ([`survey`]), and each rule, one
//! file here, reports from that. The rules are declared with the others in `crate::rule`
//! (category `audit`), so that one registry lists, documents and sets the levels of every rule;
//! the lint engine applies levels and suppressions to their findings as to any.

mod describe;
mod listener;
mod sockets;
mod survey;

mod allow_without_listener;
mod bind_without_listener;
mod blocked_listener;
mod mismatched_listener;
mod undeclared_listener;

pub use listener::{Listener, Process};
pub use sockets::{listening, SocketsError};

use crate::diagnostic::Diagnostic;
use crate::model::Host;

/// The findings of every audit rule about `host` with `listeners` on it, at the rules' default
/// levels and in no particular order (the lint engine's `finish` applies levels and sorts).
pub fn audit(host: &Host, listeners: &[Listener]) -> Vec<Diagnostic> {
    let survey = survey::Survey::new(host, listeners);
    let mut out = Vec::new();
    undeclared_listener::check(&survey, &mut out);
    bind_without_listener::check(&survey, &mut out);
    mismatched_listener::check(&survey, &mut out);
    allow_without_listener::check(&survey, &mut out);
    blocked_listener::check(&survey, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    /// `tcp 0.0.0.0:80 nginx/812 root`: a listener held by one process of the socket's user;
    /// `-` for a process that cannot be seen.
    fn listener(text: &str) -> Listener {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [protocol, socket, process, user] = words[..] else {
            panic!("`{text}`: PROTOCOL ADDRESS:PORT NAME/PID USER");
        };
        let socket: std::net::SocketAddr = socket.parse().unwrap();
        let processes = match process.split_once('/') {
            Some((name, pid)) => vec![Process {
                pid: pid.parse().unwrap(),
                name: name.to_string(),
                executable: None,
                user: Some(user.to_string()),
            }],
            None => Vec::new(),
        };
        Listener {
            protocol: if protocol == "udp" {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            address: socket.ip(),
            port: socket.port(),
            user: Some(user.to_string()),
            processes,
        }
    }

    /// The findings of the audit of `policy`'s only host with `listeners`, as `rule: message`.
    fn findings(policy: &str, listeners: &[&str]) -> Vec<String> {
        let checked = crate::pipeline::check_text("t.pcl", policy);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let listeners: Vec<Listener> = listeners.iter().map(|l| listener(l)).collect();
        let mut found: Vec<String> = audit(&checked.policy.hosts[0], &listeners)
            .into_iter()
            .map(|d| format!("{}: {}", d.rule, d.message))
            .collect();
        found.sort();
        found
    }

    const WEB: &str = "bind sshd on 0.0.0.0 ssh as root\nbind nginx on 0.0.0.0 http, https as root\ninput drop {\n  allow ssh from 192.0.2.0/24\n  allow http, https\n}\n";
    const SERVING: [&str; 3] = [
        "tcp 0.0.0.0:22 sshd/700 root",
        "tcp 0.0.0.0:80 nginx/812 root",
        "tcp 0.0.0.0:443 nginx/812 root",
    ];

    #[test]
    fn a_host_that_runs_what_its_policy_says_is_clean() {
        assert!(findings(WEB, &SERVING).is_empty());
        let undeclared = WEB.replace("bind sshd on 0.0.0.0 ssh as root\n", "");
        assert_eq!(
            findings(&undeclared, &SERVING),
            ["undeclared-listener: `sshd` (pid 700) as `root` listens on `tcp/22` at `0.0.0.0`, reachable from `192.0.2.0/24`, but no bind of host `(unnamed host)` declares it"]
        );
    }

    #[test]
    fn loopback_listeners_are_never_reachable() {
        let policy = "input accept {\n}\n";
        assert!(findings(
            policy,
            &[
                "tcp 127.0.0.1:6379 redis-server/9 redis",
                "udp [::1]:53 unbound/10 unbound"
            ]
        )
        .is_empty());
    }

    #[test]
    fn a_host_without_an_input_chain_lets_everything_in() {
        let found = findings(
            "output accept {\n}\n",
            &["udp [::]:5353 avahi-daemon/5 avahi"],
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("reachable from any address (the host has no input chain"),
            "{found:?}"
        );
    }

    #[test]
    fn a_listener_wider_than_its_bind_is_reported_for_the_other_addresses() {
        let policy =
            "bind app on 10.0.0.5 tcp/8080 as app\ninput drop {\n  allow tcp/8080 to 10.0.0.5\n}\n";
        assert!(findings(policy, &["tcp 0.0.0.0:8080 app/3 app"]).is_empty());
        let policy = "bind app on 10.0.0.5 tcp/8080 as app\ninput drop {\n  allow tcp/8080\n}\n";
        let found = findings(policy, &["tcp 0.0.0.0:8080 app/3 app"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("its bind says `10.0.0.5`"), "{found:?}");
    }

    #[test]
    fn a_dual_stack_listener_is_reachable_over_both_families() {
        let policy = "bind app on 0.0.0.0 tcp/8080 as app\ninput drop {\n  allow tcp/8080\n}\n";
        // Alone on `::`, it takes IPv4 too: the bind on 0.0.0.0 declares only that part.
        let found = findings(policy, &["tcp [::]:8080 app/3 app"]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("reachable from any IPv6 address"),
            "{found:?}"
        );
        // Beside an IPv4 listener it is IPv6 only.
        let found = findings(
            policy,
            &["tcp 0.0.0.0:8080 app/3 app", "tcp [::]:8080 app/3 app"],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("(IPv6 only)"), "{found:?}");
    }

    #[test]
    fn a_bind_with_nothing_listening_is_reported_per_service() {
        let found = findings(
            WEB,
            &[SERVING[0], SERVING[1], "tcp 127.0.0.1:443 nginx/812 root"],
        );
        assert_eq!(
            found,
            [
                "allow-without-listener: `https` (tcp/443 udp/443) is allowed in, but nothing on host `(unnamed host)` listens on it from the network",
                "bind-without-listener: `nginx` is declared to listen on `https` (tcp/443 udp/443) at `0.0.0.0`, but nothing on host `(unnamed host)` listens there (on its port: `nginx` at `127.0.0.1`)",
            ]
        );
    }

    #[test]
    fn another_process_or_user_on_a_declared_port_is_reported() {
        let found = findings(
            WEB,
            &[
                SERVING[0],
                "tcp 0.0.0.0:80 python3/44 root",
                "tcp 0.0.0.0:443 python3/44 root",
            ],
        );
        assert_eq!(
            found,
            ["mismatched-listener: `python3` (pid 44) as `root` listens on `tcp/80` at `0.0.0.0`, `tcp/443` at `0.0.0.0`, which host `(unnamed host)` declares for `nginx`"]
        );
        let found = findings(
            WEB,
            &[
                SERVING[0],
                "tcp 0.0.0.0:80 nginx/812 www-data",
                "tcp 0.0.0.0:443 nginx/812 root",
            ],
        );
        assert_eq!(
            found,
            ["mismatched-listener: `nginx` (pid 812) as `www-data` listens on `tcp/80` at `0.0.0.0`, which host `(unnamed host)` declares for `nginx` as `root`"]
        );
    }

    #[test]
    fn workers_socket_activation_and_invisible_processes_are_not_mismatches() {
        let mut nginx = listener("tcp 0.0.0.0:80 nginx/812 root");
        nginx.processes.push(Process {
            pid: 813,
            name: "nginx".to_string(),
            executable: None,
            user: Some("www-data".to_string()),
        });
        let policy = "bind nginx on 0.0.0.0 http as www-data\n";
        let checked = crate::pipeline::check_text("t.pcl", policy);
        let host = &checked.policy.hosts[0];
        assert!(audit(host, &[nginx]).is_empty());
        let systemd = listener("tcp 0.0.0.0:80 systemd/1 root");
        assert!(audit(host, &[systemd]).is_empty());
        let unseen = listener("tcp 0.0.0.0:80 - www-data");
        assert!(audit(host, &[unseen]).is_empty());
    }

    #[test]
    fn an_allow_with_nothing_listening_from_the_network_is_reported() {
        let found = findings(
            WEB,
            &[
                "tcp 0.0.0.0:80 nginx/812 root",
                "tcp 0.0.0.0:443 nginx/812 root",
                "tcp 127.0.0.1:22 sshd/700 root",
            ],
        );
        assert_eq!(
            found,
            [
                "allow-without-listener: `ssh` (tcp/22) is allowed in, but nothing on host `(unnamed host)` listens on it from the network",
                "bind-without-listener: `sshd` is declared to listen on `ssh` (tcp/22) at `0.0.0.0`, but nothing on host `(unnamed host)` listens there (on its port: `sshd` at `127.0.0.1`)",
            ]
        );
        // Whole protocols, ICMP and the loopback interface are not ports anyone listens on.
        let policy = "input drop {\n  allow tcp from 192.0.2.0/24\n  allow icmp echo-request\n  allow tcp/9000 on lo\n}\n";
        assert!(findings(policy, &[]).is_empty());
    }

    #[test]
    fn a_wildcard_listener_the_policy_closes_is_reported_unless_declared() {
        let policy = "input drop {\n  allow ssh\n}\n";
        let found = findings(
            policy,
            &[
                "tcp 0.0.0.0:22 sshd/700 root",
                "tcp 0.0.0.0:111 rpcbind/1 _rpc",
                "tcp 10.0.0.5:112 other/2 root",
            ],
        );
        assert_eq!(
            found,
            [
                "blocked-listener: `rpcbind` (pid 1) as `_rpc` listens on `tcp/111` at `0.0.0.0`, but the input chain of host `(unnamed host)` lets no connection to it in",
                "undeclared-listener: `sshd` (pid 700) as `root` listens on `tcp/22` at `0.0.0.0`, reachable from any IPv4 address, but no bind of host `(unnamed host)` declares it",
            ]
        );
        let declared = "bind rpcbind on 0.0.0.0 tcp/111 as _rpc\ninput drop {\n}\n";
        assert!(findings(declared, &["tcp 0.0.0.0:111 rpcbind/1 _rpc"]).is_empty());
    }
}
