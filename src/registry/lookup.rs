//! `portcullis lookup QUERY`: what the registry knows about a service name or a port.

use std::fmt;

use super::{by_port, canonical_name, in_use_protocols, names, suggest};
use super::{entries_overlapping, port::reservation_note, Entry, PortClass, PortStatus};
use crate::model::{PortRange, Protocol};

/// What a query asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    /// A service name or alias: `ssh`, `www`, optionally with a protocol (`ssh/tcp`).
    Name,
    /// A port or range, optionally with a protocol: `22`, `22/tcp`, `tcp/22`, `6000-6063/tcp`.
    Port,
}

/// The part of a queried range that falls in one RFC 6335 class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClassSpan {
    pub ports: PortRange,
    pub class: PortClass,
}

/// A run of consecutive queried ports with the same IANA status on one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatusSpan {
    pub protocol: Protocol,
    pub ports: PortRange,
    pub status: PortStatus,
    /// IANA's note on a reserved or unassigned port when it says more than the status.
    pub note: Option<&'static str>,
}

/// The answer to a lookup. Serialized as the `--format json` output, so fields are only added.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LookupResult {
    /// The query as given.
    pub query: String,
    pub kind: QueryKind,
    /// Name queries: the registry's spelling of the name (`www` gives `http`).
    pub name: Option<&'static str>,
    /// Name queries: the protocols netbase lists the name on; `None` when netbase does not
    /// know it (or for port queries).
    pub in_use: Option<&'static [Protocol]>,
    /// Port queries: the queried ports.
    pub ports: Option<PortRange>,
    /// The protocols asked about: the one given, or all four.
    pub protocols: Vec<Protocol>,
    /// Port queries: the RFC 6335 classes the ports fall in.
    pub classes: Vec<ClassSpan>,
    /// Port queries: IANA's status of the ports, per protocol, as runs.
    pub status: Vec<StatusSpan>,
    /// Matching services, sorted by protocol then port.
    pub services: Vec<Entry>,
}

/// Answers `portcullis lookup QUERY`. Accepted forms: a name (`ssh`, `www`, any case), a name
/// with a protocol (`ssh/tcp`), a port or range with or without a protocol on either side
/// (`22`, `22/tcp`, `tcp/22`, `6000-6063/tcp`). An unknown name is an error that suggests the
/// closest known name.
pub fn lookup(query: &str) -> Result<LookupResult, String> {
    let trimmed = query.trim();
    if trimmed.is_empty() {
        return Err("empty query: give a service name (ssh) or a port (22, 22/tcp)".to_string());
    }
    // A whole-query name first: IANA has names with `/` in them (`cl/1`).
    if canonical_name(trimmed).is_some() {
        return Ok(name_result(query, trimmed, &Protocol::ALL));
    }
    let (left, right) = match trimmed.split_once('/') {
        Some((left, right)) => (left, Some(right)),
        None => (trimmed, None),
    };
    // Which side is the protocol: `22/tcp` or `tcp/22`, and `ssh/tcp`.
    let (subject, protocol) = match right {
        None => (left, None),
        Some(right) => match (right.parse::<Protocol>(), left.parse::<Protocol>()) {
            (Ok(p), _) => (left, Some(p)),
            (Err(()), Ok(p)) => (right, Some(p)),
            (Err(()), Err(())) => {
                return Err(format!(
                    "cannot read `{trimmed}`: expected NAME, PORT, PORT/PROTOCOL or PROTOCOL/PORT with protocol tcp, udp, sctp or dccp"
                ))
            }
        },
    };
    let protocols: Vec<Protocol> = match protocol {
        Some(p) => vec![p],
        None => Protocol::ALL.to_vec(),
    };
    // Names may start with a digit (`3com-tsmux`), so they are tried before ports.
    if canonical_name(subject).is_some() {
        return Ok(name_result(query, subject, &protocols));
    }
    if subject.starts_with(|c: char| c.is_ascii_digit()) {
        let ports = parse_ports(subject)?;
        return Ok(port_result(query, ports, protocols));
    }
    Err(unknown_name(subject))
}

fn unknown_name(name: &str) -> String {
    let shown = shown(name);
    match suggest(name, names()) {
        Some(close) => format!("unknown service `{shown}`: did you mean `{close}`?"),
        None => format!("unknown service `{shown}`: not in the IANA registry nor in netbase"),
    }
}

/// A query as it is echoed in a message: control characters escaped, a long one cut short.
fn shown(text: &str) -> String {
    const MAX: usize = 60;
    let escaped: String = text.escape_debug().take(MAX + 1).collect();
    if escaped.chars().count() > MAX {
        format!("{}...", escaped.chars().take(MAX - 3).collect::<String>())
    } else {
        escaped
    }
}

fn parse_ports(text: &str) -> Result<PortRange, String> {
    let port = |part: &str| {
        part.parse::<u16>()
            .map_err(|_| format!("`{}` is not a port number (0-65535)", shown(part)))
    };
    match text.split_once('-') {
        None => port(text).map(PortRange::single),
        Some((lo, hi)) => PortRange::new(port(lo)?, port(hi)?)
            .ok_or_else(|| format!("port range `{}` ends before it starts", shown(text))),
    }
}

fn name_result(query: &str, name: &str, protocols: &[Protocol]) -> LookupResult {
    let services = super::by_name(name)
        .into_iter()
        .filter(|e| protocols.contains(&e.protocol))
        .copied()
        .collect();
    LookupResult {
        query: query.to_string(),
        kind: QueryKind::Name,
        name: canonical_name(name),
        in_use: in_use_protocols(name),
        ports: None,
        protocols: protocols.to_vec(),
        classes: Vec::new(),
        status: Vec::new(),
        services,
    }
}

fn port_result(query: &str, ports: PortRange, protocols: Vec<Protocol>) -> LookupResult {
    let classes = PortClass::spans(ports)
        .into_iter()
        .map(|(ports, class)| ClassSpan { ports, class })
        .collect();
    let mut status: Vec<StatusSpan> = Vec::new();
    let mut services = Vec::new();
    for &protocol in &protocols {
        for port in ports.lo..=ports.hi {
            let info = by_port(protocol, port);
            let note = reservation_note(protocol, port);
            match status.last_mut() {
                Some(run)
                    if run.protocol == protocol
                        && run.status == info.status
                        && run.note == note
                        && run.ports.hi.checked_add(1) == Some(port) =>
                {
                    run.ports.hi = port;
                }
                _ => status.push(StatusSpan {
                    protocol,
                    ports: PortRange::single(port),
                    status: info.status,
                    note,
                }),
            }
        }
        services.extend(entries_overlapping(protocol, ports).into_iter().copied());
    }
    LookupResult {
        query: query.to_string(),
        kind: QueryKind::Port,
        name: None,
        in_use: None,
        ports: Some(ports),
        protocols,
        classes,
        status,
        services,
    }
}

/// `tcp, udp`.
fn join_protocols(protocols: &[Protocol]) -> String {
    let names: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
    names.join(", ")
}

/// The classes a range falls in, for the services table: `system`, or `system..user`.
fn class_label(ports: PortRange) -> String {
    let (lo, hi) = (PortClass::of(ports.lo), PortClass::of(ports.hi));
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}..{hi}")
    }
}

impl fmt::Display for LookupResult {
    /// A labelled header, then the services as an aligned table:
    ///
    /// ```text
    /// query:   22/tcp
    /// class:   system: System Ports (0-1023, RFC 6335), ...
    /// status:  tcp 22 assigned
    ///
    /// NAME  PROTOCOL  PORTS  CLASS   SOURCE  DESCRIPTION
    /// ssh   tcp       22     system  iana    The Secure Shell (SSH) Protocol
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "query:   {}", self.query.trim())?;
        match self.kind {
            QueryKind::Name => self.write_name_header(f)?,
            QueryKind::Port => self.write_port_header(f)?,
        }
        writeln!(f)?;
        if self.services.is_empty() {
            return writeln!(f, "no registered service");
        }
        self.write_services(f)
    }
}

impl LookupResult {
    /// The header of a name query after `query:`: the name it found when spelt otherwise, and the
    /// protocols the name is in use on.
    fn write_name_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.name {
            if !name.eq_ignore_ascii_case(self.query.trim()) {
                writeln!(f, "name:    {name}")?;
            }
        }
        match self.in_use {
            Some(protocols) => writeln!(
                f,
                "in use:  {} (the protocols Debian's /etc/services lists)",
                join_protocols(protocols)
            ),
            None => writeln!(f, "in use:  not listed in Debian's /etc/services"),
        }
    }

    /// The header of a port query after `query:`: the classes of its ports, then their status
    /// per protocol.
    fn write_port_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One class for the whole query needs no range; a range across classes lists
        // the part in each.
        let whole = self.classes.len() == 1 && Some(self.classes[0].ports) == self.ports;
        for (i, span) in self.classes.iter().enumerate() {
            let label = if i == 0 { "class:" } else { "" };
            write!(f, "{label:<8} ")?;
            if !whole {
                write!(f, "{} ", span.ports)?;
            }
            writeln!(f, "{}: {}", span.class, span.class.description())?;
        }
        for (i, run) in self.status.iter().enumerate() {
            let label = if i == 0 { "status:" } else { "" };
            write!(
                f,
                "{label:<8} {} {} {}",
                run.protocol, run.ports, run.status
            )?;
            match run.note {
                Some(note) => writeln!(f, " ({note})")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }

    /// The services as a table with a header row, each column as wide as its widest cell.
    fn write_services(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "NAME",
            "PROTOCOL",
            "PORTS",
            "CLASS",
            "SOURCE",
            "DESCRIPTION",
        ];
        let rows: Vec<[String; 6]> = self
            .services
            .iter()
            .map(|e| {
                [
                    e.name.to_string(),
                    e.protocol.to_string(),
                    e.ports.to_string(),
                    class_label(e.ports),
                    e.source.to_string(),
                    e.description.to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header = header.map(str::to_string);
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_with_protocol() {
        let result = lookup("22/tcp").unwrap();
        assert_eq!(result.kind, QueryKind::Port);
        assert_eq!(result.ports, Some(PortRange::single(22)));
        assert_eq!(result.protocols, [Protocol::Tcp]);
        assert_eq!(result.classes[0].class, PortClass::System);
        assert_eq!(result.status.len(), 1);
        assert_eq!(result.status[0].status, PortStatus::Assigned);
        assert!(result.services.iter().any(|e| e.name == "ssh"));
        assert!(result.services.iter().all(|e| e.protocol == Protocol::Tcp));
        // `tcp/22` is the same question.
        let flipped = lookup("tcp/22").unwrap();
        assert_eq!(flipped.services, result.services);
        let text = result.to_string();
        assert!(text.contains("status:  tcp 22 assigned"), "{text}");
        assert!(
            text.contains("ssh   tcp       22     system  iana"),
            "{text}"
        );
    }

    #[test]
    fn range_keeps_x11() {
        let result = lookup("6000-6063/tcp").unwrap();
        assert_eq!(result.ports, Some(PortRange { lo: 6000, hi: 6063 }));
        assert_eq!(result.classes.len(), 1);
        assert_eq!(result.classes[0].class, PortClass::User);
        assert_eq!(
            result.status,
            [StatusSpan {
                protocol: Protocol::Tcp,
                ports: PortRange { lo: 6000, hi: 6063 },
                status: PortStatus::Assigned,
                note: None,
            }]
        );
        let x11 = result.services.iter().find(|e| e.name == "x11").unwrap();
        assert_eq!(x11.ports, PortRange { lo: 6000, hi: 6063 });
    }

    #[test]
    fn name_query_reports_in_use_protocols() {
        let result = lookup("SSH").unwrap();
        assert_eq!(result.kind, QueryKind::Name);
        assert_eq!(result.name, Some("ssh"));
        assert_eq!(result.in_use, Some(&[Protocol::Tcp][..]));
        assert!(result.services.iter().any(|e| e.protocol == Protocol::Tcp));
        let only_udp = lookup("domain/udp").unwrap();
        assert!(only_udp
            .services
            .iter()
            .all(|e| e.protocol == Protocol::Udp));
        let alias = lookup("www").unwrap();
        assert_eq!(alias.name, Some("http"));
        assert!(alias.to_string().contains("name:    http"));
    }

    #[test]
    fn bare_port_covers_every_protocol() {
        let result = lookup("53").unwrap();
        assert_eq!(result.protocols, Protocol::ALL);
        assert_eq!(result.status.len(), 4);
    }

    #[test]
    fn unknown_name_suggests_a_close_one() {
        let error = lookup("htps").unwrap_err();
        assert!(error.contains("did you mean `https`?"), "{error}");
        assert!(lookup("qqqqqqqqqqqq")
            .unwrap_err()
            .contains("not in the IANA"));
        assert!(lookup("70000/tcp")
            .unwrap_err()
            .contains("not a port number"));
        assert!(lookup("22/foo").unwrap_err().contains("cannot read"));
        assert!(lookup("  ").is_err());
    }

    #[test]
    fn serializes_to_json() {
        let json = serde_json::to_value(lookup("22/tcp").unwrap()).unwrap();
        assert_eq!(json["kind"], "port");
        assert_eq!(json["classes"][0]["class"], "system");
        assert_eq!(json["status"][0]["status"], "assigned");
        assert_eq!(json["services"][0]["protocol"], "tcp");
    }
}
