//! The `service` and `net` definitions of all files of a policy, by name.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::rule::DUPLICATE_DEFINITION;
use crate::source::Span;
use crate::syntax::ast::{Item, NetDef, PolicyFile, ServiceDef};

/// Definitions in the order written; the first definition of a name is the one that counts.
#[derive(Debug, Default)]
pub struct Definitions<'a> {
    pub services: Vec<&'a ServiceDef>,
    pub nets: Vec<&'a NetDef>,
    service_index: HashMap<&'a str, usize>,
    net_index: HashMap<&'a str, usize>,
}

impl<'a> Definitions<'a> {
    pub fn collect(files: &'a [PolicyFile], diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut defs = Definitions::default();
        for file in files {
            for item in &file.items {
                match item {
                    Item::Service(def) => {
                        if let Some(&first) = defs.service_index.get(def.name.node.as_str()) {
                            diagnostics.push(duplicate(
                                "service",
                                &def.name.node,
                                def.name.span,
                                defs.services[first].name.span,
                            ));
                        } else {
                            defs.service_index
                                .insert(&def.name.node, defs.services.len());
                            defs.services.push(def);
                        }
                    }
                    Item::Net(def) => {
                        if let Some(&first) = defs.net_index.get(def.name.node.as_str()) {
                            diagnostics.push(duplicate(
                                "net",
                                &def.name.node,
                                def.name.span,
                                defs.nets[first].name.span,
                            ));
                        } else {
                            defs.net_index.insert(&def.name.node, defs.nets.len());
                            defs.nets.push(def);
                        }
                    }
                    _ => {}
                }
            }
        }
        defs
    }

    pub fn service(&self, name: &str) -> Option<usize> {
        self.service_index.get(name).copied()
    }

    pub fn net(&self, name: &str) -> Option<usize> {
        self.net_index.get(name).copied()
    }
}

/// A second definition of `name`, pointing at both.
pub fn duplicate(kind: &str, name: &str, again: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        &DUPLICATE_DEFINITION,
        again,
        format!("{kind} `{name}` is defined more than once"),
    )
    .label("defined again here")
    .secondary(first, "first defined here")
    .help(format!(
        "keep one definition of `{name}`, or rename one of them"
    ))
}
