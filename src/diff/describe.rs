//! Address sets as a person reads them: `any`, a net of the policy, else prefixes.

use crate::model::{AddrSet, Policy};

use super::Addresses;

/// The nets both versions of a policy define, to name address sets by.
pub struct Names {
    nets: Vec<(String, AddrSet)>,
}

impl Names {
    /// The nets of the policies, the newer version's first where both define a name.
    pub fn of(policies: &[&Policy]) -> Names {
        let mut nets: Vec<(String, AddrSet)> = Vec::new();
        for policy in policies.iter().rev() {
            for net in &policy.nets {
                if !nets.iter().any(|(name, _)| *name == net.name) {
                    nets.push((net.name.clone(), net.addresses.clone()));
                }
            }
        }
        Names { nets }
    }

    /// `any`, `any IPv4`, `office`, `office (IPv6)`, the prefixes, or `any except` one of
    /// those, whichever reads shorter.
    pub fn describe(&self, set: &AddrSet) -> Addresses {
        let prefixes: Vec<String> = set.prefixes().iter().map(|p| p.to_string()).collect();
        if set.is_any() {
            return Addresses {
                text: "any".to_string(),
                prefixes: Vec::new(),
            };
        }
        let (v4, v6) = (!set.v4.is_empty(), !set.v6.is_empty());
        let text = self.name(set).unwrap_or_else(|| prefixes.join(", "));
        // What is left out, within the families the set has.
        let left_out = AddrSet {
            v4: if v4 {
                set.v4.complement()
            } else {
                Default::default()
            },
            v6: if v6 {
                set.v6.complement()
            } else {
                Default::default()
            },
        };
        let except = self.name(&left_out).unwrap_or_else(|| {
            left_out
                .prefixes()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let family = match (v4, v6) {
            (true, false) => "any IPv4",
            (false, true) => "any IPv6",
            _ => "any",
        };
        let text = if !left_out.is_empty() && except.len() + 12 < text.len() {
            format!("{family} except {except}")
        } else {
            text
        };
        Addresses { text, prefixes }
    }

    /// Like [`Names::describe`], but `any` when the set holds every address of each family the
    /// other end of the region has (the families always match at both ends).
    pub fn describe_against(&self, set: &AddrSet, other: &AddrSet) -> Addresses {
        let full_where_needed =
            (other.v4.is_empty() || set.v4.is_full()) && (other.v6.is_empty() || set.v6.is_full());
        if full_where_needed {
            return Addresses {
                text: "any".to_string(),
                prefixes: Vec::new(),
            };
        }
        self.describe(set)
    }

    /// A name for the set: `any IPv4`, a net, or a net's addresses of one family.
    fn name(&self, set: &AddrSet) -> Option<String> {
        let v4_only = set.v6.is_empty();
        let v6_only = set.v4.is_empty();
        if v4_only && set.v4.is_full() {
            return Some("any IPv4".to_string());
        }
        if v6_only && set.v6.is_full() {
            return Some("any IPv6".to_string());
        }
        if let Some((name, _)) = self.nets.iter().find(|(_, net)| net == set) {
            return Some(name.clone());
        }
        self.nets
            .iter()
            .find(|(_, net)| {
                (v4_only && net.v4 == set.v4 && !net.v6.is_empty())
                    || (v6_only && net.v6 == set.v6 && !net.v4.is_empty())
            })
            .map(|(name, _)| format!("{name} ({})", if v4_only { "IPv4" } else { "IPv6" }))
    }
}
