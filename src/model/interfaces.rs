//! The interfaces a rule matches: `on eth0, eth1`, or every interface but some, `on !wan0`.

use std::fmt;

/// Interface names, sorted and without repeats, and whether the rule matches every interface but
/// these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interfaces {
    /// Boxed: a rule holds one list, never grown (16 bytes, not 24, in every rule).
    names: Box<[String]>,
    negated: bool,
}

impl Interfaces {
    pub fn new(names: impl IntoIterator<Item = String>, negated: bool) -> Self {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names.dedup();
        Interfaces {
            names: names.into_boxed_slice(),
            negated,
        }
    }

    /// Exactly one interface.
    pub fn one(name: &str) -> Self {
        Self::new([name.to_string()], false)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// Whether a packet on `interface` matches; `None` is an interface the policy does not name,
    /// which only a negated list matches.
    pub fn matches(&self, interface: Option<&str>) -> bool {
        let named = interface.is_some_and(|i| self.names.iter().any(|n| n == i));
        named != self.negated
    }

    /// Whether the list is exactly this one interface, not negated.
    pub fn is_only(&self, name: &str) -> bool {
        !self.negated && self.names.len() == 1 && self.names[0] == name
    }
}

/// `eth0`, `eth0, eth1`, `!wan0, !wan1`: as a policy writes it.
impl fmt::Display for Interfaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bang = if self.negated { "!" } else { "" };
        let names: Vec<String> = self.names.iter().map(|n| format!("{bang}{n}")).collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_negated_lists() {
        let lan = Interfaces::new(["eth1".into(), "eth0".into(), "eth0".into()], false);
        assert_eq!(lan.to_string(), "eth0, eth1");
        assert!(lan.matches(Some("eth1")) && !lan.matches(Some("wan0")) && !lan.matches(None));
        let not_wan = Interfaces::new(["wan0".into()], true);
        assert!(!not_wan.matches(Some("wan0")) && not_wan.matches(Some("eth0")));
        assert!(not_wan.matches(None));
        assert!(Interfaces::one("lo").is_only("lo") && !not_wan.is_only("wan0"));
    }
}
