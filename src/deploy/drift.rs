//! Whether the live table is what was applied, without parsing arbitrary nft.
//!
//! The recorded ruleset is loaded into a scratch network namespace, and the table is listed
//! there and on the host by the same kernel and the same nft, statelessly (`nft -s`: counters
//! count on the host and not in the scratch namespace) and as JSON. The two listings are
//! compared as JSON values without the rule handles and nft's metadata: equal values are the same
//! table. When they differ, the text listings are compared line by line to show the rules.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::DeployError;
use crate::nft::Nft;

/// How the live table compares with a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The same table.
    Same,
    /// The table does not exist on the host.
    Missing,
    /// The table differs: lines of the recorded table's listing (`-`) and of the live one (`+`).
    Differs(Vec<String>),
}

/// Compares the live table `table` with what loading `ruleset` gives.
pub fn compare(nft: &Nft, table: &str, ruleset: &str) -> Result<Comparison, DeployError> {
    let Some(live) = nft.table(table, true, true)? else {
        return Ok(Comparison::Missing);
    };
    let scratch = Scratch::new()?;
    let there = nft.clone().in_netns(&scratch.name);
    there.load(ruleset, false)?;
    let recorded = there.table(table, true, true)?.unwrap_or_default();
    if normalised(&recorded) == normalised(&live) {
        return Ok(Comparison::Same);
    }
    let recorded_text = there.table(table, false, true)?.unwrap_or_default();
    let live_text = nft.table(table, false, true)?.unwrap_or_default();
    Ok(Comparison::Differs(changed_lines(
        &recorded_text,
        &live_text,
    )))
}

/// The listing of the table that loading `ruleset` gives, as text without counter values.
pub fn listing_of(nft: &Nft, table: &str, ruleset: &str) -> Result<String, DeployError> {
    let scratch = Scratch::new()?;
    let there = nft.clone().in_netns(&scratch.name);
    there.load(ruleset, false)?;
    Ok(there.table(table, false, true)?.unwrap_or_default())
}

/// The lines that differ between two listings: `-` for lines only in `old`, `+` for lines only
/// in `new`, in order, without their indentation, with the chain, set or map each is in (on its
/// own side), and without braces and blank lines.
pub fn changed_lines(old: &str, new: &str) -> Vec<String> {
    let diff = similar::TextDiff::from_lines(old, new);
    // The block each side is in: old's for deleted lines, new's for inserted ones.
    let mut within = [String::new(), String::new()];
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim();
        let sides: &[usize] = match change.tag() {
            similar::ChangeTag::Delete => &[0],
            similar::ChangeTag::Insert => &[1],
            similar::ChangeTag::Equal => &[0, 1],
        };
        let header = ["chain ", "set ", "map ", "flowtable "]
            .iter()
            .any(|kind| line.starts_with(kind))
            && line.ends_with('{');
        if header {
            for &side in sides {
                within[side] = line.trim_end_matches('{').trim_end().to_string();
            }
        }
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => continue,
        };
        if line.is_empty() || line == "}" {
            continue;
        }
        let block = &within[sides[0]];
        out.push(match block.is_empty() || header {
            true => format!("{sign} {line}"),
            false => format!("{sign} {block}: {line}"),
        });
    }
    out
}

/// A listing as a JSON value without what differs between equal tables: the `metainfo` object
/// (nft's version) and every `handle`. `None` when it is not JSON.
fn normalised(listing: &str) -> Option<Value> {
    let mut value: Value = serde_json::from_str(listing).ok()?;
    if let Some(items) = value.get_mut("nftables").and_then(Value::as_array_mut) {
        items.retain(|item| item.get("metainfo").is_none());
    }
    strip_handles(&mut value);
    Some(value)
}

fn strip_handles(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("handle");
            map.values_mut().for_each(strip_handles);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_handles),
        _ => {}
    }
}

/// A network namespace of its own, deleted when dropped.
struct Scratch {
    name: String,
}

impl Scratch {
    fn new() -> Result<Scratch, DeployError> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "portcullis-scratch-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                DeployError::Scratch(format!("cannot run `ip`: {}", crate::fsio::reason(&e)))
            })?;
        if !out.status.success() {
            return Err(DeployError::Scratch(format!(
                "`ip netns add` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Scratch { name })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_metadata_do_not_count() {
        let a = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 4, "expr": [{"accept": null}]}}]}"#;
        let b = r#"{"nftables": [{"metainfo": {"version": "1.0.9"}}, {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 9, "expr": [{"accept": null}]}}]}"#;
        let c = r#"{"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 4, "expr": [{"drop": null}]}}]}"#;
        assert_eq!(normalised(a), normalised(b));
        assert_ne!(normalised(a), normalised(c));
        assert_eq!(normalised("not json"), None);
    }

    #[test]
    fn each_line_is_named_by_its_own_block() {
        let old = "table inet t {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n";
        let new = "table inet t {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n\n\tchain aaa {\n\t\ttcp dport 1 drop\n\t}\n\tset bl {\n\t\ttype ipv4_addr\n\t}\n}\n";
        assert_eq!(
            changed_lines(old, new),
            [
                "+ chain aaa {",
                "+ chain aaa: tcp dport 1 drop",
                "+ set bl {",
                "+ set bl: type ipv4_addr"
            ]
        );
    }

    #[test]
    fn only_changed_lines_are_shown() {
        let old = "table inet t {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n";
        let new = "table inet t {\n\tchain input {\n\t\ttcp dport 22 accept\n\t\ttcp dport 23 accept\n\t}\n}\n";
        assert_eq!(
            changed_lines(old, new),
            ["+ chain input: tcp dport 23 accept"]
        );
    }
}
