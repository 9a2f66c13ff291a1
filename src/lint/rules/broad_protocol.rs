//! `broad-protocol`: a registry name that opens more protocols than the service runs on.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::join_and;
use crate::lint::LintContext;
use crate::model::{Origin, Protocol, ServiceUse};
use crate::registry;

crate::declare_lint! {
    /// A service name without a protocol opens several protocols, though the service uses one.
    ///
    /// ## What it does
    /// Reports a registry name written without a protocol (`rfb`, not `rfb/tcp`) in a rule, a
    /// bind or a definition when it resolves to more than one protocol and Debian's netbase
    /// `/etc/services` does not list the service on all of them: either netbase lists it on one
    /// protocol only, or netbase does not know the name and IANA registers it on several (as it
    /// does for most names, whatever the service really uses). Names netbase lists on several
    /// protocols (`domain` on TCP and UDP) are not reported, nor are names it narrows to one
    /// (`ssh` resolves to tcp/22 only).
    ///
    /// ## Why it matters
    /// IANA reserves most names on both TCP and UDP, but a service almost always uses one of
    /// them. `allow rfb` opens udp/5900 as well as VNC's tcp/5900: a port nothing should answer
    /// on is open, and the policy says less precisely what it means.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow rfb from office
    /// }
    /// ```
    ///
    /// ## Fix
    /// Name the protocol the service runs on: `rfb/tcp`, or the port itself, `tcp/5900`.
    pub static BROAD_PROTOCOL = {
        name: "broad-protocol",
        code: "PC106",
        category: Ports,
        default_level: Info,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let policy = ctx.policy;
    let definitions = policy.services.iter().flat_map(|d| d.parts.iter());
    let binds = policy
        .hosts
        .iter()
        .flat_map(|h| h.binds.iter().flat_map(|b| b.services.iter()));
    let rules = policy.hosts.iter().flat_map(|h| {
        h.chains.iter().flat_map(|c| {
            c.rules
                .iter()
                .filter(|r| r.resolved)
                .flat_map(|r| r.services.iter())
        })
    });
    for service in definitions.chain(binds).chain(rules) {
        if let Some(d) = broad(service) {
            out.push(d);
        }
    }
}

fn broad(service: &ServiceUse) -> Option<Diagnostic> {
    if service.origin != Origin::Registry || service.explicit_protocol {
        return None;
    }
    let name = service.name.as_deref()?;
    let opened: Vec<Protocol> = service.traffic.protocols().collect();
    if opened.len() < 2 {
        return None;
    }
    let in_use = registry::in_use_protocols(name);
    if let Some(in_use) = in_use {
        if opened.iter().all(|p| in_use.contains(p)) {
            return None; // genuinely used on several protocols, like `domain`
        }
    }
    // The protocol to suggest: the one netbase names, else TCP, which most services use.
    let suggested = in_use
        .and_then(|u| u.iter().find(|p| opened.contains(p)).copied())
        .unwrap_or(if opened.contains(&Protocol::Tcp) {
            Protocol::Tcp
        } else {
            opened[0]
        });
    let why = match in_use {
        Some(in_use) => format!(
            "netbase lists `{name}` on {} only",
            join_and(&in_use.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        ),
        None => "netbase does not say which one it runs on".to_string(),
    };
    let parts: Vec<String> = opened
        .iter()
        .map(|&p| service.traffic.only(&[p]).to_string())
        .collect();
    let written = &service.text;
    let spec = &service.traffic.only(&[suggested]);
    Some(
        Diagnostic::new(
            &BROAD_PROTOCOL,
            service.span,
            format!(
                "`{written}` opens {}: the registry lists it on {}, and {why}",
                join_and(&parts),
                if opened.len() == 2 {
                    "both"
                } else {
                    "all of them"
                },
            ),
        )
        .label(format!(
            "opens {}",
            join_and(&opened.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        ))
        .help(format!(
            "name the protocol the service runs on: `{written}/{suggested}` (or `{spec}`)"
        )),
    )
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "broad-protocol")
    }

    #[test]
    fn a_name_netbase_does_not_know() {
        let found = findings("input drop {\n  allow rfb\n}\n");
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!(
            &*d.message,
            "`rfb` opens tcp/5900 and udp/5900: the registry lists it on both, and netbase does not say which one it runs on"
        );
        assert!(d
            .help
            .as_deref()
            .unwrap()
            .contains("`rfb/tcp` (or `tcp/5900`)"));
    }

    #[test]
    fn binds_and_definitions_are_checked_too() {
        let found = findings(
            "service vnc = rfb\nbind x on 0.0.0.0 rfb as x\ninput drop {\n  allow vnc\n}\n",
        );
        // The definition's part and the bind; `allow vnc` names the policy's own service.
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn explicit_protocols_and_names_used_on_several_are_not_reported() {
        for text in [
            "input drop {\n  allow rfb/tcp\n}\n",
            "input drop {\n  allow domain\n}\n",
            "input drop {\n  allow ssh, http, postgresql\n}\n",
            "input drop {\n  allow tcp/5900, udp/5900\n}\n",
        ] {
            assert!(findings(text).is_empty(), "{text}: {:?}", findings(text));
        }
    }
}
