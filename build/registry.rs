//! Compiles `data/registry.tsv` into static, pre-sorted Rust tables (`$OUT_DIR/registry_table.rs`).
//!
//! The registry has ~12,000 records. Parsing them at run time would cost every `portcullis`
//! invocation a few milliseconds and allocations; as static arrays sorted for binary search a
//! look-up costs microseconds and start-up costs nothing. The generated file is `include!`d by
//! `src/registry/table.rs`, which declares the types it names.
//!
//! A malformed record fails the build with its line number instead of being skipped, and a test
//! in `src/registry/tests.rs` re-parses the TSV independently and compares it with these tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

const REGISTRY: &str = "data/registry.tsv";
const PROTOCOLS: [&str; 4] = ["tcp", "udp", "sctp", "dccp"];
const PROTOCOL_VARIANTS: [&str; 4] = ["Tcp", "Udp", "Sctp", "Dccp"];

struct Service {
    name: String,
    protocol: usize,
    lo: u16,
    hi: u16,
    description: String,
    netbase: bool,
}

struct Reservation {
    protocol: usize,
    lo: u16,
    hi: u16,
    status: &'static str,
    note: String,
}

/// Writes `registry_table.rs` into `out_dir`.
pub fn write(out_dir: &Path) {
    println!("cargo:rerun-if-changed={REGISTRY}");
    let text = fs::read_to_string(REGISTRY).unwrap_or_else(|e| panic!("reading {REGISTRY}: {e}"));
    let code = generate(&text);
    fs::write(out_dir.join("registry_table.rs"), code).expect("writing registry_table.rs");
}

/// Panics with the record's line number; a build failure is the right outcome for a bad table.
fn fail(line: usize, message: &str) -> ! {
    panic!("{REGISTRY}:{line}: {message}")
}

fn protocol(line: usize, field: &str) -> usize {
    PROTOCOLS
        .iter()
        .position(|p| *p == field)
        .unwrap_or_else(|| fail(line, &format!("unknown protocol `{field}`")))
}

fn port(line: usize, field: &str) -> u16 {
    field
        .parse()
        .unwrap_or_else(|_| fail(line, &format!("bad port `{field}`")))
}

fn generate(text: &str) -> String {
    let mut services = Vec::new();
    let mut reservations = Vec::new();
    let mut in_use: BTreeMap<String, (String, Vec<usize>)> = BTreeMap::new();
    let mut aliases: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut header = String::new();

    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(comment) = line.strip_prefix('#') {
            header.push_str(comment.strip_prefix(' ').unwrap_or(comment));
            header.push('\n');
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[0] {
            kind @ ("S" | "L") => {
                if !(5..=6).contains(&fields.len()) {
                    fail(number, "expected `S|L name proto lo hi [description]`");
                }
                let (lo, hi) = (port(number, fields[3]), port(number, fields[4]));
                if lo > hi {
                    fail(number, "reversed port range");
                }
                services.push(Service {
                    name: fields[1].to_string(),
                    protocol: protocol(number, fields[2]),
                    lo,
                    hi,
                    description: fields.get(5).unwrap_or(&"").to_string(),
                    netbase: kind == "L",
                });
            }
            "R" => {
                if !(5..=6).contains(&fields.len()) {
                    fail(number, "expected `R proto lo hi status [note]`");
                }
                let status = match fields[4] {
                    "Reserved" => "Reserved",
                    "Unassigned" => "Unassigned",
                    other => fail(number, &format!("unknown status `{other}`")),
                };
                reservations.push(Reservation {
                    protocol: protocol(number, fields[1]),
                    lo: port(number, fields[2]),
                    hi: port(number, fields[3]),
                    status,
                    note: fields.get(5).unwrap_or(&"").to_string(),
                });
            }
            "U" => {
                if fields.len() < 3 {
                    fail(number, "expected `U name proto...`");
                }
                let mut protocols: Vec<usize> =
                    fields[2..].iter().map(|p| protocol(number, p)).collect();
                protocols.sort_unstable();
                protocols.dedup();
                let key = fields[1].to_ascii_lowercase();
                if in_use
                    .insert(key, (fields[1].to_string(), protocols))
                    .is_some()
                {
                    fail(number, "duplicate U record");
                }
            }
            "A" => {
                if fields.len() != 3 {
                    fail(number, "expected `A alias name`");
                }
                let key = fields[1].to_ascii_lowercase();
                let value = (fields[1].to_string(), fields[2].to_string());
                if aliases.insert(key, value).is_some() {
                    fail(number, "duplicate alias");
                }
            }
            other => fail(number, &format!("unknown record kind `{other}`")),
        }
    }
    if !header.contains("source:") || !header.contains("sha256=") {
        panic!("{REGISTRY}: provenance header missing (regenerate with tools/update-registry)");
    }

    // Entries sorted by protocol, then port: one contiguous, lo-sorted slice per protocol, which is
    // what by_port's binary search needs. The sort is stable, so records keep their file order
    // (first name before last name) within a port.
    services.sort_by_key(|s| (s.protocol, s.lo, s.hi));
    let mut spans = [(0usize, 0usize); 4];
    for (p, span) in spans.iter_mut().enumerate() {
        let start = services.partition_point(|s| s.protocol < p);
        let end = services.partition_point(|s| s.protocol <= p);
        *span = (start, end);
    }
    // How far back a port look-up must scan: the widest registered range.
    let max_width = services.iter().map(|s| s.hi - s.lo).max().unwrap_or(0);

    // Name index: case-folded name -> the entries with that name (a contiguous run of indices).
    // BTreeMap orders the keys by bytes, the same order the run-time binary search compares
    // ASCII-lowercased names in.
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in services.iter().enumerate() {
        by_name
            .entry(s.name.to_ascii_lowercase())
            .or_default()
            .push(i);
    }
    for (alias, (_, target)) in &aliases {
        if by_name.contains_key(alias) {
            panic!("{REGISTRY}: alias `{alias}` is also a service name");
        }
        if !by_name.contains_key(&target.to_ascii_lowercase()) {
            panic!("{REGISTRY}: alias `{alias}` points to unknown name `{target}`");
        }
    }

    reservations.sort_by_key(|r| (r.protocol, r.lo));
    for pair in reservations.windows(2) {
        if pair[0].protocol == pair[1].protocol && pair[0].hi >= pair[1].lo {
            panic!(
                "{REGISTRY}: reserved ranges overlap at {}/{}",
                pair[1].lo, PROTOCOLS[pair[1].protocol]
            );
        }
    }

    let mut out = String::new();
    out.push_str("// @generated by build.rs from data/registry.tsv. Do not edit.\n\n");
    writeln!(out, "pub(super) static PROVENANCE: &str = {header:?};\n").unwrap();
    writeln!(
        out,
        "/// `(start, end)` of each protocol's slice of [`ENTRIES`], indexed by `Protocol::index`."
    )
    .unwrap();
    writeln!(
        out,
        "pub(super) static PROTOCOL_SPANS: [(usize, usize); 4] = {spans:?};"
    )
    .unwrap();
    writeln!(out, "/// The widest registered range, `hi - lo`.").unwrap();
    writeln!(
        out,
        "pub(super) const MAX_RANGE_WIDTH: u16 = {max_width};\n"
    )
    .unwrap();

    writeln!(
        out,
        "pub(super) static ENTRIES: [Entry; {}] = [",
        services.len()
    )
    .unwrap();
    for s in &services {
        writeln!(
            out,
            "    Entry {{ name: {:?}, protocol: Protocol::{}, ports: PortRange {{ lo: {}, hi: {} }}, description: {:?}, source: Source::{} }},",
            s.name,
            PROTOCOL_VARIANTS[s.protocol],
            s.lo,
            s.hi,
            s.description,
            if s.netbase { "Netbase" } else { "Iana" },
        )
        .unwrap();
    }
    out.push_str("];\n\n");

    // Entry indices grouped by name; NAMES points into it.
    let mut name_entries = Vec::new();
    writeln!(
        out,
        "pub(super) static NAMES: [NameIndex; {}] = [",
        by_name.len()
    )
    .unwrap();
    for (key, indices) in &by_name {
        let start = name_entries.len();
        name_entries.extend(indices.iter().copied());
        // The spelling shown to users: the first entry's (entries are sorted by protocol, port).
        let name = &services[indices[0]].name;
        writeln!(
            out,
            "    NameIndex {{ key: {key:?}, name: {name:?}, start: {start}, end: {} }},",
            name_entries.len()
        )
        .unwrap();
    }
    out.push_str("];\n\n");
    writeln!(
        out,
        "pub(super) static NAME_ENTRIES: [u32; {}] = {name_entries:?};\n",
        name_entries.len()
    )
    .unwrap();

    writeln!(
        out,
        "pub(super) static ALIASES: [Alias; {}] = [",
        aliases.len()
    )
    .unwrap();
    for (key, (alias, target)) in &aliases {
        writeln!(
            out,
            "    Alias {{ key: {key:?}, alias: {alias:?}, target: {:?} }},",
            target.to_ascii_lowercase()
        )
        .unwrap();
    }
    out.push_str("];\n\n");

    writeln!(
        out,
        "pub(super) static IN_USE: [InUse; {}] = [",
        in_use.len()
    )
    .unwrap();
    for (key, (_, protocols)) in &in_use {
        let list: Vec<String> = protocols
            .iter()
            .map(|p| format!("Protocol::{}", PROTOCOL_VARIANTS[*p]))
            .collect();
        writeln!(
            out,
            "    InUse {{ key: {key:?}, protocols: &[{}] }},",
            list.join(", ")
        )
        .unwrap();
    }
    out.push_str("];\n\n");

    writeln!(
        out,
        "pub(super) static RESERVATIONS: [Reservation; {}] = [",
        reservations.len()
    )
    .unwrap();
    for r in &reservations {
        writeln!(
            out,
            "    Reservation {{ protocol: Protocol::{}, ports: PortRange {{ lo: {}, hi: {} }}, status: PortStatus::{}, note: {:?} }},",
            PROTOCOL_VARIANTS[r.protocol], r.lo, r.hi, r.status, r.note
        )
        .unwrap();
    }
    out.push_str("];\n");
    out
}
