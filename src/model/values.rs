//! The values a policy or configuration hands to nftables as text: log prefixes, interface names,
//! the table's name. Each has one check here, made where the value is read (the parser, the YAML
//! front end, the configuration) and again, as a guard, by the compiler: the two can never
//! disagree about a value, so a policy `check` calls clean always compiles.

use std::fmt;
use std::ops::Range;

/// The kernel's log prefix buffer holds 128 bytes with the terminating NUL.
pub const MAX_LOG_PREFIX_LEN: usize = 127;
/// `IFNAMSIZ` minus the terminating NUL.
pub const MAX_INTERFACE_LEN: usize = 15;
/// Longest table name accepted (nft allows more; a name people type is short).
pub const MAX_TABLE_NAME_LEN: usize = 32;

/// Why a value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// One lowercase sentence.
    pub message: String,
    pub help: Option<String>,
    /// The part of the value at fault, as a byte range into it; `None` for all of it.
    pub at: Option<Range<usize>>,
}

impl ValueProblem {
    pub fn new(message: impl Into<String>) -> Self {
        ValueProblem {
            message: message.into(),
            help: None,
            at: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn at(mut self, at: Range<usize>) -> Self {
        self.at = Some(at);
        self
    }
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A log prefix nft writes as it is: printable ASCII without `"` and `\` (nft strings have no
/// escapes) and without `$` (nft expands variables in log prefixes), at most 127 bytes.
pub fn check_log_prefix(text: &str) -> Result<(), ValueProblem> {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| !(' '..='~').contains(&c) || matches!(c, '"' | '\\' | '$'))
    {
        let what = match c {
            '"' => "a double quote".to_string(),
            '\\' => "a backslash".to_string(),
            '$' => "`$` (nft would read a variable there)".to_string(),
            c => format!("the character {c:?}"),
        };
        return Err(
            ValueProblem::new(format!("a log prefix cannot contain {what}"))
                .help("log prefixes are printable ASCII without `\"`, `\\` and `$`")
                .at(i..i + c.len_utf8()),
        );
    }
    if text.len() > MAX_LOG_PREFIX_LEN {
        return Err(ValueProblem::new(format!(
            "the log prefix is {} bytes long, more than the {MAX_LOG_PREFIX_LEN} the kernel keeps",
            text.len()
        )));
    }
    Ok(())
}

/// An interface name Linux allows and nft reads literally (a trailing `*` would be a wildcard).
pub fn check_interface(text: &str) -> Result<(), ValueProblem> {
    if text.is_empty() {
        return Err(ValueProblem::new("the interface name is empty"));
    }
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| {
        !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | ':' | '+' | '-'))
    }) {
        return Err(ValueProblem::new(format!(
            "an interface name cannot contain the character {c:?}"
        ))
        .help("interface names are letters, digits and `_ . @ : + -`")
        .at(i..i + c.len_utf8()));
    }
    if text.len() > MAX_INTERFACE_LEN {
        return Err(ValueProblem::new(format!(
            "the interface name `{text}` is longer than {MAX_INTERFACE_LEN} characters"
        ))
        .help("Linux interface names have at most 15 characters"));
    }
    if text == "." || text == ".." {
        return Err(ValueProblem::new(format!(
            "`{text}` is not a valid interface name"
        )));
    }
    Ok(())
}

/// The name of the table portcullis owns, checked: nft reads it as a bare word, so it must be one
/// that nft's scanner does not take for a keyword (it cannot be quoted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TableName(String);

impl TableName {
    pub fn new(text: &str) -> Result<Self, ValueProblem> {
        let mut chars = text.chars();
        let well_formed = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !well_formed {
            return Err(ValueProblem::new(format!(
                "`{}` cannot be a table name",
                text.escape_debug()
            ))
            .help("a table name is a letter, then letters, digits, `_` or `-`"));
        }
        if text.len() > MAX_TABLE_NAME_LEN {
            return Err(ValueProblem::new(format!(
                "the table name is longer than {MAX_TABLE_NAME_LEN} characters"
            )));
        }
        if NFT_KEYWORDS.contains(&text) {
            return Err(ValueProblem::new(format!(
                "`{text}` cannot be a table name: nft reads it as a keyword"
            ))
            .help("pick another name, such as `portcullis` or `fw-main`"));
        }
        Ok(TableName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TableName {
    fn default() -> Self {
        TableName("portcullis".to_string())
    }
}

impl TryFrom<String> for TableName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        TableName::new(&text).map_err(|p| match p.help {
            Some(help) => format!("{}; {help}", p.message),
            None => p.message,
        })
    }
}

/// Exactly [`TableName::new`]'s checks, so that editors flag what `portcullis` refuses.
impl schemars::JsonSchema for TableName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TableName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A letter, then letters, digits, `_` or `-`; not a word nft reads as a keyword.",
            "type": "string",
            "pattern": "^[A-Za-z][A-Za-z0-9_-]*$",
            "maxLength": MAX_TABLE_NAME_LEN,
            "not": {"enum": NFT_KEYWORDS},
        })
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The words nft's scanner turns into keywords wherever it reads (not only after a particular
/// keyword), in nft 1.0.6 and the releases after it. A table named by one of them is a syntax
/// error in the script, and nft has no way to quote it.
pub const NFT_KEYWORDS: &[&str] = &[
    "accept",
    "add",
    "ah",
    "all",
    "and",
    "arp",
    "auto-merge",
    "bridge",
    "cgroup",
    "chain",
    "comment",
    "comp",
    "constant",
    "continue",
    "counter",
    "cpu",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "describe",
    "destroy",
    "device",
    "devices",
    "dnat",
    "drop",
    "dst",
    "dup",
    "dynamic",
    "ecn",
    "element",
    "elements",
    "eq",
    "esp",
    "ether",
    "exists",
    "expires",
    "export",
    "exthdr",
    "fib",
    "flags",
    "flow",
    "flowtable",
    "flush",
    "frag",
    "fwd",
    "gc-interval",
    "ge",
    "geneve",
    "get",
    "goto",
    "gre",
    "gretap",
    "gt",
    "handle",
    "hbh",
    "hook",
    "hour",
    "ibriport",
    "ibrname",
    "icmp",
    "icmpv6",
    "igmp",
    "iif",
    "iifgroup",
    "iifname",
    "iiftype",
    "import",
    "include",
    "index",
    "inet",
    "insert",
    "interval",
    "ip",
    "ip6",
    "ipsec",
    "jhash",
    "jump",
    "last",
    "le",
    "limit",
    "list",
    "log",
    "lshift",
    "lt",
    "map",
    "mark",
    "masquerade",
    "meta",
    "meter",
    "mh",
    "missing",
    "monitor",
    "ne",
    "netdev",
    "nftrace",
    "not",
    "notrack",
    "numgen",
    "obriport",
    "obrname",
    "offload",
    "oif",
    "oifgroup",
    "oifname",
    "oiftype",
    "or",
    "osf",
    "pkttype",
    "policy",
    "position",
    "priority",
    "queue",
    "quota",
    "random",
    "redefine",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "rshift",
    "rt",
    "rt0",
    "rt2",
    "rtclassid",
    "rule",
    "ruleset",
    "sctp",
    "secmark",
    "set",
    "size",
    "skgid",
    "skuid",
    "snat",
    "socket",
    "srh",
    "symhash",
    "synproxy",
    "table",
    "tcp",
    "th",
    "time",
    "timeout",
    "tproxy",
    "tunnel",
    "type",
    "typeof",
    "udp",
    "udplite",
    "undefine",
    "update",
    "vlan",
    "vmap",
    "vni",
    "vxlan",
    "xor",
    "xt",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prefixes_are_what_nft_writes_literally() {
        assert!(check_log_prefix("ssh: ").is_ok());
        assert!(check_log_prefix(&"x".repeat(127)).is_ok());
        assert!(check_log_prefix(&"x".repeat(128)).is_err());
        assert_eq!(check_log_prefix("a\nb").unwrap_err().at, Some(1..2));
        for bad in ["é", "say \"hi\"", "cost $5", "back\\slash"] {
            assert!(check_log_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interface_names() {
        assert!(check_interface("eth0").is_ok());
        assert!(check_interface("wg0.100").is_ok());
        assert!(check_interface("abcdefghijklmno").is_ok());
        for bad in ["", "abcdefghijklmnop", "..", "eth*", "a b", "eth\"0"] {
            assert!(check_interface(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_names_are_words_nft_reads_as_names() {
        assert_eq!(TableName::new("portcullis").unwrap().as_str(), "portcullis");
        assert!(TableName::new("my-fw_2").is_ok());
        assert!(TableName::new("accepted").is_ok());
        for bad in [
            "2fw", "", "a b", "fw;flush", "ip", "inet", "table", "counter", "accept",
        ] {
            assert!(TableName::new(bad).is_err(), "{bad}");
        }
        assert!(TableName::new(&"a".repeat(33)).is_err());
        let mut sorted = NFT_KEYWORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, NFT_KEYWORDS, "sorted, without repeats");
    }
}
