//! Service references -> protocols and ports.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::model::{IntervalSet, Origin, Protocol, ServiceDefinition, ServiceUse, Traffic};
use crate::registry::{self, Overlay};
use crate::rule::{PROTOCOL_MISMATCH, UNKNOWN_SERVICE};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{ServiceDef, ServiceRef};

use super::memo::{Begin, Memo};
use super::Definitions;

pub struct ServiceResolver<'a> {
    defs: &'a Definitions<'a>,
    overlays: &'a [Overlay],
    state: Memo<Traffic>,
    used: Vec<bool>,
    parts: Vec<Vec<ServiceUse>>,
    /// Registry and overlay names already resolved without a finding, by name and protocol:
    /// large policies name the same few services thousands of times.
    known: HashMap<(String, Option<Protocol>), ServiceUse>,
    /// "Did you mean" for each unknown name met: a name can be misspelt thousands of times, and
    /// each search compares it with every registry name.
    suggestions: HashMap<String, Option<String>>,
    /// Each distinct traffic of the uses made, once: a policy of a million rules names a few
    /// dozen services.
    interned: HashMap<Traffic, Arc<Traffic>>,
    /// The one copy of each reference's text and service name.
    texts: HashSet<Arc<str>>,
}

/// Unknown names past this many get no "did you mean": a file of junk names must not cost a
/// registry search each.
const MAX_SUGGESTIONS: usize = 200;

/// What a name stands for before a protocol is picked.
struct Named {
    origin: Origin,
    name: String,
    /// Ports per protocol the name is defined or registered for.
    traffic: Traffic,
    /// For registry names: the protocols it is actually used on, when known.
    in_use: Option<Vec<Protocol>>,
}

impl<'a> ServiceResolver<'a> {
    pub fn new(defs: &'a Definitions<'a>, overlays: &'a [Overlay]) -> Self {
        let n = defs.services.len();
        ServiceResolver {
            defs,
            overlays,
            state: Memo::new(n),
            used: vec![false; n],
            parts: vec![Vec::new(); n],
            known: HashMap::new(),
            suggestions: HashMap::new(),
            interned: HashMap::new(),
            texts: HashSet::new(),
        }
    }

    /// Resolves one reference; `None` when it does not resolve (a finding has been reported).
    pub fn resolve(
        &mut self,
        r: &ServiceRef,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ServiceUse> {
        let ServiceRef::Name {
            name,
            protocol,
            span,
        } = r
        else {
            return self.resolve_uncached(r, diagnostics);
        };
        let key = (name.node.clone(), protocol.as_ref().map(|p| p.node));
        if let Some(known) = self.known.get(&key) {
            return Some(ServiceUse {
                span: *span,
                ..known.clone()
            });
        }
        let reported = diagnostics.len();
        let found = self.resolve_uncached(r, diagnostics)?;
        let from_outside = matches!(found.origin, Origin::Registry | Origin::Overlay { .. });
        if from_outside && diagnostics.len() == reported {
            self.known.insert(key, found.clone());
        }
        Some(found)
    }

    fn resolve_uncached(
        &mut self,
        r: &ServiceRef,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ServiceUse> {
        match r {
            ServiceRef::Error(_) => None,
            ServiceRef::Spec(spec) => {
                let traffic = match spec.ports {
                    Some(ports) => Traffic::ports(spec.protocol.node, ports.node),
                    None => Traffic::protocol(spec.protocol.node),
                };
                let text = match spec.ports {
                    Some(ports) => format!("{}/{}", spec.protocol.node, ports.node),
                    None => spec.protocol.node.to_string(),
                };
                Some(written_use(
                    self.text(text),
                    spec.span,
                    self.intern(traffic),
                ))
            }
            ServiceRef::Icmp {
                family,
                icmp_type,
                span,
            } => {
                let keyword = crate::model::icmp::keyword(*family);
                let (text, types) = match icmp_type {
                    Some(t) => (
                        format!(
                            "{keyword}/{}",
                            crate::model::icmp::type_text(*family, t.node)
                        ),
                        IntervalSet::range(t.node, t.node),
                    ),
                    None => (keyword.to_string(), IntervalSet::full()),
                };
                let traffic = self.intern(Traffic::icmp_types(*family, types));
                Some(written_use(self.text(text), *span, traffic))
            }
            ServiceRef::IpProtocol { number, span } => {
                let traffic = self.intern(Traffic::ip_protocol(*number));
                Some(written_use(self.text(traffic.to_string()), *span, traffic))
            }
            ServiceRef::Name {
                name,
                protocol,
                span,
            } => {
                let named = self.lookup(&name.node, name.span, diagnostics)?;
                let registered: Vec<Protocol> = named.traffic.protocols().collect();
                let text = match protocol {
                    Some(p) => format!("{}/{}", name.node, p.node),
                    None => name.node.clone(),
                };
                let traffic = named_traffic(&named, protocol.as_ref(), &registered, diagnostics);
                let traffic = self.intern(traffic);
                Some(ServiceUse {
                    text: self.text(text),
                    span: *span,
                    origin: named.origin,
                    name: Some(self.text(named.name)),
                    explicit_protocol: protocol.is_some(),
                    traffic,
                })
            }
        }
    }

    /// The shared copy of `text`.
    fn text(&mut self, text: String) -> Arc<str> {
        if let Some(shared) = self.texts.get(text.as_str()) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(Arc::clone(&shared));
        shared
    }

    /// The shared copy of `traffic`.
    pub fn intern(&mut self, traffic: Traffic) -> Arc<Traffic> {
        if let Some(shared) = self.interned.get(&traffic) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(traffic.clone());
        self.interned.insert(traffic, Arc::clone(&shared));
        shared
    }

    /// A definition a reference names: marked used, and resolved (once).
    fn use_definition(
        &mut self,
        index: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Traffic> {
        self.used[index] = true;
        self.definition(index, diagnostics)
    }

    fn lookup(
        &mut self,
        name: &str,
        span: Span,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Named> {
        if let Some(index) = self.defs.service(name) {
            let def = self.defs.services[index];
            let traffic = self.use_definition(index, diagnostics)?;
            return Some(Named {
                origin: Origin::Policy(def.name.span),
                name: name.to_string(),
                traffic,
                in_use: None,
            });
        }
        for overlay in self.overlays {
            let entries = overlay.by_name(name);
            if entries.is_empty() {
                continue;
            }
            let traffic = entries.iter().fold(Traffic::empty(), |t, e| {
                t.union(&Traffic::ports(e.protocol, e.ports))
            });
            return Some(Named {
                origin: Origin::Overlay {
                    file: Arc::from(overlay.name()),
                    line: entries[0].line,
                },
                name: entries[0].name.clone(),
                traffic,
                in_use: None,
            });
        }
        let entries = registry::by_name(name);
        if !entries.is_empty() {
            let traffic = entries.iter().fold(Traffic::empty(), |t, e| {
                t.union(&Traffic::ports(e.protocol, e.ports))
            });
            return Some(Named {
                origin: Origin::Registry,
                name: entries[0].name.to_string(),
                traffic,
                in_use: registry::in_use_protocols(name).map(|p| p.to_vec()),
            });
        }
        diagnostics.push(self.unknown(name, span));
        None
    }

    fn unknown(&mut self, name: &str, span: Span) -> Diagnostic {
        let suggestion = match self.suggestions.get(name) {
            Some(known) => known.clone(),
            None if self.suggestions.len() >= MAX_SUGGESTIONS => None,
            None => {
                let found = self.suggest(name);
                self.suggestions.insert(name.to_string(), found.clone());
                found
            }
        };
        let mut d = Diagnostic::new(&UNKNOWN_SERVICE, span, format!("unknown service `{name}`"))
            .label("not a service of this policy, its overlays or the IANA registry");
        d = match suggestion {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "define it (`service {name} = tcp/PORT`) or write the port (`tcp/PORT`)"
            )),
        };
        d
    }

    /// The closest name of the policy, its overlays or the registry.
    fn suggest(&self, name: &str) -> Option<String> {
        let overlay_names: Vec<String> = self
            .overlays
            .iter()
            .flat_map(|o| o.names().map(str::to_string).collect::<Vec<_>>())
            .collect();
        let candidates = self
            .defs
            .services
            .iter()
            .map(|d| d.name.node.as_str())
            .chain(overlay_names.iter().map(String::as_str))
            // Re-borrow the registry's `'static` names at the local lifetime so the chain types agree.
            .chain(registry::names().map(|n| -> &str { n }));
        registry::suggest(name, candidates)
    }

    /// The traffic of a policy definition, resolving it on first use.
    fn definition(&mut self, index: usize, diagnostics: &mut Vec<Diagnostic>) -> Option<Traffic> {
        match self.state.begin(index) {
            Begin::Known(t) => return t,
            Begin::Cycle => {
                let def = self.defs.services[index];
                diagnostics.push(
                    Diagnostic::new(
                        &UNKNOWN_SERVICE,
                        def.name.span,
                        format!("service `{}` is defined in terms of itself", def.name.node),
                    )
                    .label("this definition refers back to itself")
                    .help("define the service with port specs such as `tcp/8080`"),
                );
                return None;
            }
            Begin::TooDeep => {
                let def = self.defs.services[index];
                diagnostics.push(
                    Diagnostic::new(
                        &UNKNOWN_SERVICE,
                        def.name.span,
                        format!(
                            "service `{}` is defined through more than {} nested definitions",
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
        let def: &ServiceDef = self.defs.services[index];
        let mut complete = true;
        let mut parts: Vec<ServiceUse> = Vec::new();
        for part in &def.ports {
            match self.resolve(part, diagnostics) {
                Some(u) => parts.push(u),
                None => complete = false,
            }
        }
        let traffic = complete.then(|| Traffic::union_all(parts.iter().map(|u| &*u.traffic)));
        self.parts[index] = parts;
        self.state.end(index, traffic)
    }

    /// Resolves the definitions nothing used (to report their mistakes too) and returns them all.
    pub fn finish(mut self, diagnostics: &mut Vec<Diagnostic>) -> Vec<ServiceDefinition> {
        for index in 0..self.defs.services.len() {
            self.definition(index, diagnostics);
        }
        (0..self.defs.services.len())
            .map(|index| {
                let def = self.defs.services[index];
                ServiceDefinition {
                    name: def.name.node.clone(),
                    span: def.span,
                    name_span: def.name.span,
                    traffic: self.state.get(index).cloned().unwrap_or_default(),
                    parts: std::mem::take(&mut self.parts[index]),
                    used: self.used[index],
                }
            })
            .collect()
    }
}

/// A use of traffic written out rather than named (`tcp/22`, `icmp/echo-request`, `gre`): its
/// protocol is explicit and no registration applies.
fn written_use(text: Arc<str>, span: Span, traffic: Arc<Traffic>) -> ServiceUse {
    ServiceUse {
        text,
        span,
        origin: Origin::Spec,
        name: None,
        explicit_protocol: true,
        traffic,
    }
}

/// The traffic a name stands for with the protocol it is given (`dns/udp`): that protocol's ports,
/// reported when the name is not registered for it (then all of its ports, on that protocol) or
/// not used on it. Without a protocol, the protocols it is used on, when known and registered.
fn named_traffic(
    named: &Named,
    protocol: Option<&Spanned<Protocol>>,
    registered: &[Protocol],
    diagnostics: &mut Vec<Diagnostic>,
) -> Traffic {
    match protocol {
        Some(p) => {
            if !registered.contains(&p.node) {
                let ports = all_ports(&named.traffic);
                diagnostics.push(protocol_mismatch(named, p.node, p.span, registered, &ports));
                let mut t = Traffic::empty();
                t.ports[p.node.index()] = ports;
                t
            } else {
                if let Some(in_use) = named.in_use.as_ref().filter(|u| !u.contains(&p.node)) {
                    diagnostics.push(unusual_protocol(named, p.node, p.span, in_use));
                }
                named.traffic.only(&[p.node])
            }
        }
        None => match &named.in_use {
            Some(in_use) => {
                let chosen = named.traffic.only(in_use);
                if chosen.is_empty() {
                    named.traffic.clone()
                } else {
                    chosen
                }
            }
            None => named.traffic.clone(),
        },
    }
}

fn all_ports(traffic: &Traffic) -> IntervalSet<u16> {
    IntervalSet::union_all(traffic.ports.iter())
}

fn protocol_mismatch(
    named: &Named,
    protocol: Protocol,
    span: Span,
    registered: &[Protocol],
    ports: &IntervalSet<u16>,
) -> Diagnostic {
    let list = registered
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let source = match named.origin {
        Origin::Registry => "registered",
        _ => "defined",
    };
    let mut spec = Traffic::empty();
    spec.ports[protocol.index()] = ports.clone();
    Diagnostic::new(
        &PROTOCOL_MISMATCH,
        span,
        format!(
            "`{}` is not {source} for {protocol}; it is {source} for {list}",
            named.name
        ),
    )
    .label(format!("{source} for {list} only"))
    .help(format!(
        "if {protocol} is really meant, write the port explicitly (`{spec}`); otherwise drop `/{protocol}`"
    ))
}

/// A registry name used with a protocol it is registered for but not actually used on.
fn unusual_protocol(
    named: &Named,
    protocol: Protocol,
    span: Span,
    in_use: &[Protocol],
) -> Diagnostic {
    let list = in_use
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic::new(
        &PROTOCOL_MISMATCH,
        span,
        format!(
            "`{}` is registered for {protocol} but used on {list} only",
            named.name
        ),
    )
    .label(format!("`{}` runs over {list}", named.name))
    .help(format!(
        "write `{}` (or `{}/{}`) unless {protocol} is really meant",
        named.name, named.name, in_use[0]
    ))
}
