//! The lab network: a server namespace with the firewall under test, a client namespace in front
//! of it, and for forwarding tests a target namespace behind it.
//!
//! ```text
//!   client                      server (firewall)                 target
//!   pcc0 10.99.0.2/24 ------- pcs0 10.99.0.1/24
//!        fd00:99::2/64             fd00:99::1/64
//!   pcc1 10.98.0.2/24 ------- pcs1 10.98.0.1/24       (second link, optional)
//!                              pcs2 10.97.0.1/24 ------- pct0 10.97.0.2/24  (optional)
//!                                   fd00:97::1/64             fd00:97::2/64
//! ```
//!
//! The client carries any extra source addresses a test needs (so rules with `from` can be probed
//! from inside and outside each net); the server routes everything it does not know back to the
//! client, so replies to any of them get home. Sources of the second pool leave the client by the
//! second link whatever their destination (policy routing), so that `on` can be probed with any
//! source. The server's interfaces can take the names a policy's `on` uses. IPv6 addresses are added with `nodad` so no test
//! waits for duplicate address detection, but no neighbour entry is ever added by hand: every
//! IPv6 exchange resolves its neighbours through the firewall under test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netns::Netns;
use super::oracle::{Path, Routed};
use super::LabError;

/// The server's interface towards the client unless a test names it: what `on` names in tests.
pub const SERVER_IF: &str = "pcs0";
/// The server's second interface towards the client unless a test names it.
pub const SERVER_IF_B: &str = "pcs1";
/// The server's interface towards the target.
pub const SERVER_IF_TARGET: &str = "pcs2";
/// The client's routing table for sources of the second pool.
const TABLE_B: u32 = 100;
pub const CLIENT_IF: &str = "pcc0";
const CLIENT_IF_B: &str = "pcc1";
const TARGET_IF: &str = "pct0";

pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 1);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 2);
pub const SERVER_B_V4: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 1);
pub const CLIENT_B_V4: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 2);
pub const SERVER_B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x98, 0, 0, 0, 0, 0, 1);
pub const CLIENT_B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x98, 0, 0, 0, 0, 0, 2);
pub const ROUTER_T_V4: Ipv4Addr = Ipv4Addr::new(10, 97, 0, 1);
pub const TARGET_V4: Ipv4Addr = Ipv4Addr::new(10, 97, 0, 2);
pub const ROUTER_T_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x97, 0, 0, 0, 0, 0, 1);
pub const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x97, 0, 0, 0, 0, 0, 2);

/// Whether an address is claimed by the fixed part of the topology, so generated addresses must
/// avoid it: the second link and the target link entirely, and the four link-A addresses.
pub fn is_reserved(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let [a0, a1, a2, _] = a.octets();
            let [.., a3] = a.octets();
            (a0, a1, a2) == (10, 98, 0)
                || (a0, a1, a2) == (10, 97, 0)
                // The first link's subnet keeps its network and broadcast addresses.
                || ((a0, a1, a2) == (10, 99, 0) && (a3 == 0 || a3 == 255))
                || a == SERVER_V4
                || a == CLIENT_V4
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (s[0], s[1], s[2], s[3]) == (0xfd00, 0x98, 0, 0)
                || (s[0], s[1], s[2], s[3]) == (0xfd00, 0x97, 0, 0)
                // The subnet-router anycast address of the first link.
                || a == Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 0)
                || a == SERVER_V6
                || a == CLIENT_V6
        }
    }
}

/// Whether the server's link towards the client can take a name a policy's `on` uses (one
/// [`crate::model::values::check_interface`] accepts): not the loopback, not the link towards
/// the target when there is one, and without the `:` Linux refuses in a link's name.
pub fn can_name_server_link(name: &str, with_target: bool) -> bool {
    name != "lo" && !(with_target && name == SERVER_IF_TARGET) && !name.contains(':')
}

/// What a test needs beyond the basic client-server link.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server's name for its interface towards the client.
    pub server_if: String,
    /// The server's name for a second link towards the client (for `on` tests), if any.
    pub second_if: Option<String>,
    /// A target namespace behind the server, which then forwards.
    pub target: bool,
    /// Extra client addresses to probe from, reaching the server over the first link.
    pub client_addresses: Vec<IpAddr>,
    /// Extra client addresses reaching the server over the second link.
    pub client_addresses_b: Vec<IpAddr>,
    /// Extra server addresses to probe (for rules with `to`).
    pub server_addresses: Vec<IpAddr>,
    /// Extra target addresses (forward targets named by the policy), routed via the target.
    pub target_addresses: Vec<IpAddr>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            server_if: SERVER_IF.to_string(),
            second_if: None,
            target: false,
            client_addresses: Vec::new(),
            client_addresses_b: Vec::new(),
            server_addresses: Vec::new(),
            target_addresses: Vec::new(),
        }
    }
}

pub struct Topology {
    pub server: Netns,
    pub client: Netns,
    pub target: Option<Netns>,
    pub spec: Spec,
}

impl Topology {
    pub fn basic() -> Result<Topology, LabError> {
        Topology::build(Spec::default())
    }

    pub fn build(spec: Spec) -> Result<Topology, LabError> {
        let server = Netns::create("srv")?;
        let client = Netns::create("cli")?;
        let target = match spec.target {
            true => Some(Netns::create("tgt")?),
            false => None,
        };

        let mut common = vec![
            // Set before the veths exist: new interfaces copy `default`.
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv6.conf.all.accept_ra", "0"),
            ("net.ipv6.conf.default.accept_ra", "0"),
            // Replies may leave by another link than the request came in on.
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
            // A rejected probe must always be answered: no ICMP rate limits.
            ("net.ipv4.icmp_ratelimit", "0"),
            ("net.ipv6.icmp.ratelimit", "0"),
            ("net.ipv4.icmp_msgs_per_sec", "1000000"),
            ("net.ipv4.icmp_msgs_burst", "1000000"),
            // Echo probes use ping sockets, which the group must be allowed (for both families).
            ("net.ipv4.ping_group_range", "0 2147483647"),
        ];
        client.sysctl(&common)?;
        if let Some(target) = &target {
            target.sysctl(&common)?;
        }
        if spec.target {
            common.push(("net.ipv4.ip_forward", "1"));
            common.push(("net.ipv6.conf.all.forwarding", "1"));
        }
        server.sysctl(&common)?;

        let a = spec.server_if.as_str();
        let mut srv = vec![format!(
            "link add {a} type veth peer name {CLIENT_IF} netns {}",
            client.name()
        )];
        if let Some(b) = &spec.second_if {
            srv.push(format!(
                "link add {b} type veth peer name {CLIENT_IF_B} netns {}",
                client.name()
            ));
        }
        if let Some(target) = &target {
            srv.push(format!(
                "link add {SERVER_IF_TARGET} type veth peer name {TARGET_IF} netns {}",
                target.name()
            ));
        }
        srv.push(format!("addr add {SERVER_V4}/24 dev {a}"));
        srv.push(format!("addr add {SERVER_V6}/64 dev {a} nodad"));
        srv.push(format!("link set {a} up"));
        if let Some(b) = &spec.second_if {
            srv.push(format!("addr add {SERVER_B_V4}/24 dev {b}"));
            srv.push(format!("addr add {SERVER_B_V6}/64 dev {b} nodad"));
            srv.push(format!("link set {b} up"));
        }
        if spec.target {
            srv.push(format!("addr add {ROUTER_T_V4}/24 dev {SERVER_IF_TARGET}"));
            srv.push(format!(
                "addr add {ROUTER_T_V6}/64 dev {SERVER_IF_TARGET} nodad"
            ));
            srv.push(format!("link set {SERVER_IF_TARGET} up"));
        }
        for addr in &spec.server_addresses {
            srv.push(format!(
                "addr add {} dev {a}{}",
                host_prefix(*addr),
                nodad(*addr)
            ));
        }
        server.ip(&srv)?;

        let mut cli_rules_v4 = Vec::new();
        let mut cli_rules_v6 = Vec::new();
        let mut cli = vec![
            format!("addr add {CLIENT_V4}/24 dev {CLIENT_IF}"),
            format!("addr add {CLIENT_V6}/64 dev {CLIENT_IF} nodad"),
            format!("link set {CLIENT_IF} up"),
        ];
        for addr in &spec.client_addresses {
            cli.push(format!(
                "addr add {} dev {CLIENT_IF}{}",
                host_prefix(*addr),
                nodad(*addr)
            ));
        }
        cli.push(format!("route add default via {SERVER_V4} dev {CLIENT_IF}"));
        cli.push(format!("route add default via {SERVER_V6} dev {CLIENT_IF}"));
        if spec.second_if.is_some() {
            cli.push(format!("addr add {CLIENT_B_V4}/24 dev {CLIENT_IF_B}"));
            cli.push(format!("addr add {CLIENT_B_V6}/64 dev {CLIENT_IF_B} nodad"));
            cli.push(format!("link set {CLIENT_IF_B} up"));
            for addr in &spec.client_addresses_b {
                cli.push(format!(
                    "addr add {} dev {CLIENT_IF_B}{}",
                    host_prefix(*addr),
                    nodad(*addr)
                ));
            }
            let pool_b = [IpAddr::V4(CLIENT_B_V4), IpAddr::V6(CLIENT_B_V6)];
            for addr in pool_b.iter().chain(&spec.client_addresses_b) {
                // `ip rule` takes the family from the command line only, not from the address.
                let rule = format!("rule add from {addr} lookup {TABLE_B}");
                match addr {
                    IpAddr::V4(_) => cli_rules_v4.push(rule),
                    IpAddr::V6(_) => cli_rules_v6.push(rule),
                }
            }
            cli.push(format!(
                "route add default via {SERVER_B_V4} dev {CLIENT_IF_B} table {TABLE_B}"
            ));
            cli.push(format!(
                "route add default via {SERVER_B_V6} dev {CLIENT_IF_B} table {TABLE_B}"
            ));
        }
        client.ip(&cli)?;
        client.ip(&cli_rules_v4)?;
        client.ip6(&cli_rules_v6)?;

        let mut routes = vec![
            format!("route add default via {CLIENT_V4} dev {a}"),
            format!("route add default via {CLIENT_V6} dev {a}"),
        ];
        if let Some(target) = &target {
            let mut tgt = vec![
                format!("addr add {TARGET_V4}/24 dev {TARGET_IF}"),
                format!("addr add {TARGET_V6}/64 dev {TARGET_IF} nodad"),
                format!("link set {TARGET_IF} up"),
            ];
            for addr in &spec.target_addresses {
                tgt.push(format!(
                    "addr add {} dev {TARGET_IF}{}",
                    host_prefix(*addr),
                    nodad(*addr)
                ));
                let via = match addr {
                    IpAddr::V4(_) => IpAddr::V4(TARGET_V4),
                    IpAddr::V6(_) => IpAddr::V6(TARGET_V6),
                };
                routes.push(format!(
                    "route add {} via {via} dev {SERVER_IF_TARGET}",
                    host_prefix(*addr)
                ));
            }
            tgt.push(format!(
                "route add default via {ROUTER_T_V4} dev {TARGET_IF}"
            ));
            tgt.push(format!(
                "route add default via {ROUTER_T_V6} dev {TARGET_IF}"
            ));
            target.ip(&tgt)?;
        }
        server.ip(&routes)?;

        Ok(Topology {
            server,
            client,
            target,
            spec,
        })
    }

    /// The server interface a packet from the client arrives on: the second link for sources of
    /// the second pool and for the server's second-link addresses, else the first.
    pub fn arrival_interface(&self, src: IpAddr, dst: IpAddr) -> &str {
        match &self.spec.second_if {
            Some(b) if self.is_second_pool(src) || self.is_second_link_server(dst) => b,
            _ => &self.spec.server_if,
        }
    }

    /// The interface a probe arrives on (input, forward) or leaves by (output).
    pub fn interface(&self, routed: &Routed) -> String {
        match routed.path {
            Path::Output => self.spec.server_if.clone(),
            _ => self
                .arrival_interface(routed.probe.src, routed.probe.dst)
                .to_string(),
        }
    }

    fn is_second_pool(&self, src: IpAddr) -> bool {
        src == IpAddr::V4(CLIENT_B_V4)
            || src == IpAddr::V6(CLIENT_B_V6)
            || self.spec.client_addresses_b.contains(&src)
    }

    fn is_second_link_server(&self, dst: IpAddr) -> bool {
        dst == IpAddr::V4(SERVER_B_V4) || dst == IpAddr::V6(SERVER_B_V6)
    }

    /// Every address the client can send from, primary addresses first.
    pub fn client_addresses(&self) -> Vec<IpAddr> {
        let mut all = vec![IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6)];
        all.extend(self.spec.client_addresses.iter().copied());
        if self.spec.second_if.is_some() {
            all.extend([IpAddr::V4(CLIENT_B_V4), IpAddr::V6(CLIENT_B_V6)]);
            all.extend(self.spec.client_addresses_b.iter().copied());
        }
        all
    }

    /// Every server address the client can reach directly, primary addresses first.
    pub fn server_addresses(&self) -> Vec<IpAddr> {
        let mut all = vec![IpAddr::V4(SERVER_V4), IpAddr::V6(SERVER_V6)];
        all.extend(self.spec.server_addresses.iter().copied());
        if self.spec.second_if.is_some() {
            all.extend([IpAddr::V4(SERVER_B_V4), IpAddr::V6(SERVER_B_V6)]);
        }
        all
    }

    /// Every target address, primary addresses first (empty without a target).
    pub fn target_addresses(&self) -> Vec<IpAddr> {
        if self.target.is_none() {
            return Vec::new();
        }
        let mut all = vec![IpAddr::V4(TARGET_V4), IpAddr::V6(TARGET_V6)];
        all.extend(self.spec.target_addresses.iter().copied());
        all
    }
}

fn host_prefix(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

fn nodad(addr: IpAddr) -> &'static str {
    if addr.is_ipv6() {
        " nodad"
    } else {
        ""
    }
}
