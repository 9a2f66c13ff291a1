//! `unused-definition`: a `service` or `net` nothing refers to.

use crate::diagnostic::Diagnostic;
use crate::lint::LintContext;

crate::declare_lint! {
    /// A `service` or `net` is defined but never used.
    ///
    /// ## What it does
    /// Reports a `service` or `net` definition that no rule, `expect`, bind, forward or other
    /// definition refers to, in any file of the policy, included files too.
    ///
    /// ## Why it matters
    /// An unused definition is often the sign of a typo or of a rule that was deleted: the name
    /// was meant to be used somewhere and is not, so traffic the author meant to allow or block
    /// is not. Otherwise it is dead text that readers have to understand for nothing.
    ///
    /// ## Example
    /// ```text
    /// service metrics = tcp/9100
    /// net monitoring = 10.20.5.0/24
    /// input drop {
    ///   allow ssh
    /// }
    /// ```
    ///
    /// ## Fix
    /// Use the definition where it was meant to be used, or delete it. A definition kept for
    /// later can carry `# portcullis: ignore[unused-definition]`.
    pub static UNUSED_DEFINITION = {
        name: "unused-definition",
        code: "PC016",
        category: Resolution,
        default_level: Warning,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let services = ctx.policy.services.iter().filter(|d| !d.used).map(|d| {
        (
            "service",
            d.name.as_str(),
            d.name_span,
            "in a rule, an `expect` or a bind",
        )
    });
    let nets = ctx
        .policy
        .nets
        .iter()
        .filter(|d| !d.used)
        .map(|d| ("net", d.name.as_str(), d.name_span, "in a `from` or `to`"));
    for (kind, name, span, where_used) in services.chain(nets) {
        out.push(
            Diagnostic::new(
                &UNUSED_DEFINITION,
                span,
                format!("{kind} `{name}` is defined but never used"),
            )
            .label("never used")
            .help(format!(
                "use `{name}` {where_used}, or delete the definition"
            )),
        );
    }
}

#[cfg(test)]
mod tests {

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, "unused-definition")
    }

    #[test]
    fn unused_service_and_net() {
        let found = findings("service metrics = tcp/9100\nnet monitoring = 10.20.5.0/24\ninput drop {\n  allow ssh\n}\n");
        let messages: Vec<&str> = found.iter().map(|d| &*d.message).collect();
        assert_eq!(
            messages,
            [
                "service `metrics` is defined but never used",
                "net `monitoring` is defined but never used"
            ]
        );
    }

    #[test]
    fn uses_anywhere_count() {
        let text = "\
service app = tcp/8080
service web = app, https
net office = 10.10.0.0/16
net admins = office
bind app on 127.0.0.1 app as app
input drop {
  allow web from admins
}
";
        assert!(findings(text).is_empty(), "{:?}", findings(text));
    }
}
