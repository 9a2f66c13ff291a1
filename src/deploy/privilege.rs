//! Whether this process may change the firewall: root, or the CAP_NET_ADMIN capability.

use super::DeployError;

/// The bit of CAP_NET_ADMIN in the capability sets of `/proc/self/status`.
const CAP_NET_ADMIN: u32 = 12;

/// Refuses, naming `command`, when this process can change no firewall.
pub fn require_net_admin(command: &'static str) -> Result<(), DeployError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 || effective_capabilities().is_some_and(has_net_admin) {
        Ok(())
    } else {
        Err(DeployError::NotPermitted { command })
    }
}

fn has_net_admin(capabilities: u64) -> bool {
    capabilities & (1 << CAP_NET_ADMIN) != 0
}

/// `CapEff` of `/proc/self/status`.
fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_cap_eff(&status)
}

fn parse_cap_eff(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capability_is_read_from_proc() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000001000\n";
        assert_eq!(parse_cap_eff(status), Some(0x1000));
        assert!(has_net_admin(0x1000));
        assert!(!has_net_admin(0x0fff));
        assert_eq!(parse_cap_eff("Name:\tx\n"), None);
    }
}
