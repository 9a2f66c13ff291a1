//! The words a policy and its model share: chains, verdicts, rate units.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Input,
    Output,
    Forward,
}

impl ChainKind {
    pub const ALL: [ChainKind; 3] = [ChainKind::Input, ChainKind::Output, ChainKind::Forward];

    pub fn as_str(self) -> &'static str {
        match self {
            ChainKind::Input => "input",
            ChainKind::Output => "output",
            ChainKind::Forward => "forward",
        }
    }
}

impl std::fmt::Display for ChainKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a packet: the verdict of a rule or the default of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// `allow` in a rule, `accept` as a chain default.
    Accept,
    /// `deny` in a rule: dropped silently.
    Drop,
    /// `reject`: refused with a TCP reset or an ICMP port-unreachable.
    Reject,
}

impl Verdict {
    /// How the verdict reads in a rule.
    pub fn rule_word(self) -> &'static str {
        match self {
            Verdict::Accept => "allow",
            Verdict::Drop => "deny",
            Verdict::Reject => "reject",
        }
    }

    /// What happens to a packet: `allowed`, `denied`, `rejected`.
    pub fn past_tense(self) -> &'static str {
        match self {
            Verdict::Accept => "allowed",
            Verdict::Drop => "denied",
            Verdict::Reject => "rejected",
        }
    }

    /// How the verdict reads as a chain default.
    pub fn policy_word(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
            Verdict::Reject => "reject",
        }
    }

    /// Whether the packet gets through.
    pub fn admits(self) -> bool {
        self == Verdict::Accept
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
}

impl RateUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
        }
    }
}
