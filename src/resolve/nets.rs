//! Net references -> address sets.

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;

use crate::diagnostic::Diagnostic;
use crate::model::{AddrSet, NetDefinition};
use crate::registry;
use crate::rule::{HOST_BITS_SET, UNKNOWN_NET};
use crate::source::Span;
use crate::syntax::ast::NetRef;

use super::memo::{Begin, Memo};
use super::Definitions;

pub struct NetResolver<'a> {
    defs: &'a Definitions<'a>,
    /// Each definition's addresses, shared by every rule that names it alone.
    state: Memo<Arc<AddrSet>>,
    used: Vec<bool>,
    /// Every address, shared by every rule from or to anywhere.
    any: Arc<AddrSet>,
    /// The lists of names met, each held once: most rules of a large policy name one net that
    /// many others name too.
    names: HashMap<Vec<String>, Arc<[String]>>,
    /// "Did you mean" for each unknown name met (see `ServiceResolver`).
    suggestions: HashMap<String, Option<String>>,
}

/// Unknown names past this many get no "did you mean".
const MAX_SUGGESTIONS: usize = 200;

/// A resolved list of net references.
pub struct Resolved {
    /// What the list matches: for a negated list, every address none of its members holds.
    pub addresses: Arc<AddrSet>,
    /// The net names it used, in order.
    pub names: Arc<[String]>,
    /// Written with `!`.
    pub negated: bool,
}

impl<'a> NetResolver<'a> {
    pub fn new(defs: &'a Definitions<'a>) -> Self {
        let n = defs.nets.len();
        NetResolver {
            defs,
            state: Memo::new(n),
            used: vec![false; n],
            any: Arc::new(AddrSet::any()),
            names: HashMap::new(),
            suggestions: HashMap::new(),
        }
    }

    /// A definition a reference names: marked used, and resolved (once).
    fn use_definition(
        &mut self,
        index: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Arc<AddrSet>> {
        self.used[index] = true;
        self.definition(index, diagnostics)
    }

    /// Resolves a `from`/`to` list; `None` when any member does not resolve.
    pub fn resolve_list(
        &mut self,
        refs: &[NetRef],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Resolved> {
        let mut sets: Vec<Arc<AddrSet>> = Vec::with_capacity(refs.len());
        let mut complete = true;
        let mut names = Vec::new();
        let mut negated = false;
        for r in refs {
            let r = match r {
                NetRef::Not(inner, _) => {
                    negated = true;
                    inner
                }
                r => r,
            };
            if let NetRef::Name(name) = r {
                names.push(name.node.clone());
            }
            match self.resolve(r, diagnostics) {
                Some(set) => sets.push(set),
                None => complete = false,
            }
        }
        let addresses = complete.then(|| match sets.as_slice() {
            [one] => one.clone(),
            many => Arc::new(AddrSet::union_all(many.iter().map(|set| &**set))),
        });
        let addresses = addresses.map(|addresses| match negated {
            true => Arc::new(addresses.complement()),
            false => addresses,
        })?;
        Some(Resolved {
            addresses,
            names: self.names_held(names),
            negated,
        })
    }

    /// `names`, as the one copy of that list.
    pub fn names_held(&mut self, names: Vec<String>) -> Arc<[String]> {
        if let Some(held) = self.names.get(&names) {
            return held.clone();
        }
        let held: Arc<[String]> = Arc::from(names.clone());
        self.names.insert(names, held.clone());
        held
    }

    /// The empty list of names, the one copy (an empty `Arc<[String]>` is an allocation too).
    pub fn no_names(&mut self) -> Arc<[String]> {
        self.names_held(Vec::new())
    }

    /// Every address, the one copy.
    pub fn any(&self) -> Arc<AddrSet> {
        self.any.clone()
    }

    fn resolve(&mut self, r: &NetRef, diagnostics: &mut Vec<Diagnostic>) -> Option<Arc<AddrSet>> {
        match r {
            NetRef::Any(_) => Some(self.any()),
            NetRef::Error(_) => None,
            NetRef::Not(inner, _) => self
                .resolve(inner, diagnostics)
                .map(|set| Arc::new(set.complement())),
            NetRef::Prefix(prefix) => {
                check_host_bits(prefix.node, prefix.span, diagnostics);
                Some(Arc::new(AddrSet::prefix(prefix.node)))
            }
            NetRef::Name(name) => match self.defs.net(&name.node) {
                Some(index) => self.use_definition(index, diagnostics),
                None => {
                    let suggestion = match self.suggestions.get(name.node.as_str()) {
                        Some(known) => known.clone(),
                        None if self.suggestions.len() >= MAX_SUGGESTIONS => None,
                        None => {
                            let candidates = self.defs.nets.iter().map(|d| d.name.node.as_str());
                            let found = registry::suggest(&name.node, candidates);
                            self.suggestions.insert(name.node.clone(), found.clone());
                            found
                        }
                    };
                    let mut d = Diagnostic::new(
                        &UNKNOWN_NET,
                        name.span,
                        format!("unknown net `{}`", name.node),
                    )
                    .label("no net of this name is defined");
                    d = match suggestion {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("define it: `net {} = 192.0.2.0/24`", name.node)),
                    };
                    diagnostics.push(d);
                    None
                }
            },
        }
    }

    fn definition(
        &mut self,
        index: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Arc<AddrSet>> {
        match self.state.begin(index) {
            Begin::Known(set) => return set,
            Begin::Cycle => {
                let def = self.defs.nets[index];
                diagnostics.push(
                    Diagnostic::new(
                        &UNKNOWN_NET,
                        def.name.span,
                        format!("net `{}` is defined in terms of itself", def.name.node),
                    )
                    .label("this definition refers back to itself")
                    .help(
                        "break the cycle: list addresses instead of the net that leads back here",
                    ),
                );
                return None;
            }
            Begin::TooDeep => {
                let def = self.defs.nets[index];
                diagnostics.push(
                    Diagnostic::new(
                        &UNKNOWN_NET,
                        def.name.span,
                        format!(
                            "net `{}` is defined through more than {} nested definitions",
                            def.name.node,
                            super::memo::MAX_DEPTH
                        ),
                    )
                    .label("too deep to resolve")
                    .help("define it with fewer steps: list what the inner definitions hold"),
                );
                return None;
            }
            Begin::Start => {}
        }
        let def = self.defs.nets[index];
        let resolved = self
            .resolve_list(&def.members, diagnostics)
            .map(|r| r.addresses);
        self.state.end(index, resolved)
    }

    /// Resolves the nets nothing used (to report their mistakes too) and returns them all.
    pub fn finish(mut self, diagnostics: &mut Vec<Diagnostic>) -> Vec<NetDefinition> {
        for index in 0..self.defs.nets.len() {
            self.definition(index, diagnostics);
        }
        (0..self.defs.nets.len())
            .map(|index| {
                let def = self.defs.nets[index];
                NetDefinition {
                    name: def.name.node.clone(),
                    span: def.span,
                    name_span: def.name.span,
                    addresses: self
                        .state
                        .get(index)
                        .map(|set| AddrSet::clone(set))
                        .unwrap_or_default(),
                    used: self.used[index],
                }
            })
            .collect()
    }
}

fn check_host_bits(prefix: IpNet, span: Span, diagnostics: &mut Vec<Diagnostic>) {
    let network = prefix.trunc();
    if network != prefix {
        let host = IpNet::new(prefix.addr(), prefix.max_prefix_len()).unwrap_or(prefix);
        diagnostics.push(
            Diagnostic::new(
                &HOST_BITS_SET,
                span,
                format!("`{prefix}` has host bits set; it matches all of `{network}`"),
            )
            .label(format!("the network is `{network}`"))
            .help(format!(
                "write `{network}` for the network, or `{}` for the single host",
                host.addr()
            )),
        );
    }
}
