//! RFC 6335 port number ranges.

use std::fmt;

use crate::model::PortRange;

/// The three port ranges of RFC 6335 section 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortClass {
    /// 0-1023, the System Ports ("well-known"): assigned through IETF Review or IESG Approval;
    /// binding one usually needs privileges.
    System,
    /// 1024-49151, the User Ports ("registered"): assigned by IANA through Expert Review.
    User,
    /// 49152-65535, the Dynamic and/or Private Ports: never assigned; operating systems pick
    /// ephemeral (client) ports here.
    Dynamic,
}

impl PortClass {
    pub const ALL: [PortClass; 3] = [PortClass::System, PortClass::User, PortClass::Dynamic];

    pub fn of(port: u16) -> PortClass {
        match port {
            0..=1023 => PortClass::System,
            1024..=49151 => PortClass::User,
            49152..=u16::MAX => PortClass::Dynamic,
        }
    }

    /// The ports in this class.
    pub fn range(self) -> PortRange {
        match self {
            PortClass::System => PortRange { lo: 0, hi: 1023 },
            PortClass::User => PortRange {
                lo: 1024,
                hi: 49151,
            },
            PortClass::Dynamic => PortRange {
                lo: 49152,
                hi: 65535,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PortClass::System => "system",
            PortClass::User => "user",
            PortClass::Dynamic => "dynamic",
        }
    }

    /// One sentence for users: RFC 6335's name for the range and how its ports are assigned.
    pub fn description(self) -> &'static str {
        match self {
            PortClass::System => {
                "System Ports (0-1023, RFC 6335), assigned through IETF Review or IESG Approval; \
                 binding one usually needs privileges"
            }
            PortClass::User => {
                "User Ports (1024-49151, RFC 6335), assigned by IANA through Expert Review"
            }
            PortClass::Dynamic => {
                "Dynamic/Private Ports (49152-65535, RFC 6335), never assigned; \
                 operating systems pick ephemeral ports here"
            }
        }
    }

    /// The classes `ports` touches, each with the part of `ports` inside it, in port order.
    pub fn spans(ports: PortRange) -> Vec<(PortRange, PortClass)> {
        PortClass::ALL
            .into_iter()
            .filter_map(|class| {
                let range = class.range();
                let lo = ports.lo.max(range.lo);
                let hi = ports.hi.min(range.hi);
                PortRange::new(lo, hi).map(|part| (part, class))
            })
            .collect()
    }
}

impl fmt::Display for PortClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_rfc_6335() {
        assert_eq!(PortClass::of(0), PortClass::System);
        assert_eq!(PortClass::of(1023), PortClass::System);
        assert_eq!(PortClass::of(1024), PortClass::User);
        assert_eq!(PortClass::of(49151), PortClass::User);
        assert_eq!(PortClass::of(49152), PortClass::Dynamic);
        assert_eq!(PortClass::of(65535), PortClass::Dynamic);
    }

    #[test]
    fn displays_lowercase() {
        assert_eq!(PortClass::System.to_string(), "system");
        assert_eq!(PortClass::User.to_string(), "user");
        assert_eq!(PortClass::Dynamic.to_string(), "dynamic");
        assert!(PortClass::Dynamic.description().contains("49152-65535"));
    }

    #[test]
    fn spans_split_a_range_at_class_boundaries() {
        let spans = PortClass::spans(PortRange {
            lo: 1000,
            hi: 50000,
        });
        assert_eq!(
            spans,
            vec![
                (PortRange { lo: 1000, hi: 1023 }, PortClass::System),
                (
                    PortRange {
                        lo: 1024,
                        hi: 49151
                    },
                    PortClass::User
                ),
                (
                    PortRange {
                        lo: 49152,
                        hi: 50000
                    },
                    PortClass::Dynamic
                ),
            ]
        );
    }
}
