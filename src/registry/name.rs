//! Looking services up by name: case-insensitive, through netbase aliases.

use super::table::{self, NameIndex};
use super::Entry;
use crate::model::Protocol;

/// The name index a query resolves to: the name itself, else the alias's target.
fn resolve(name: &str) -> Option<&'static NameIndex> {
    table::name_index(name).or_else(|| {
        let alias = table::alias(name)?;
        table::name_index(alias.target)
    })
}

/// Every entry registered under `name` (any case; `www` finds `http`'s entries), sorted by
/// protocol then port. Empty when the name is unknown.
pub fn by_name(name: &str) -> Vec<&'static Entry> {
    resolve(name)
        .map(|index| table::entries_of(index).collect())
        .unwrap_or_default()
}

/// The registry's spelling of `name` after case folding and aliases: `SSH` -> `ssh`,
/// `www` -> `http`. `None` when the name is unknown.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    resolve(name).map(|index| index.name)
}

/// The protocols Debian's netbase `/etc/services` lists `name` on: where the service actually
/// runs, as opposed to IANA's registrations, which reserve most names on both TCP and UDP.
/// `ssh` gives `[tcp]`, `domain` gives `[tcp, udp]`. `None` when netbase does not list the name.
pub fn in_use_protocols(name: &str) -> Option<&'static [Protocol]> {
    // Netbase may list a registry name that is also an alias target (`auth` and its `tap`), so
    // the name is tried as given before following an alias.
    table::in_use(name)
        .or_else(|| table::in_use(resolve(name)?.key))
        .map(|in_use| in_use.protocols)
}

/// Every distinct service name and alias, for "did you mean" suggestions. Names netbase lists
/// (the ones people use) come first, so that ties go to a familiar name.
///
/// The names are `'static`; the lifetime is left to the caller so that the iterator chains with
/// borrowed candidates (`defs.chain(overlay.names()).chain(registry::names())`), which an
/// `Item = &'static str` would refuse.
pub fn names<'a>() -> impl Iterator<Item = &'a str> {
    let familiar = table::IN_USE
        .iter()
        .filter_map(|u| table::name_index(u.key).map(|n| n.name));
    let rest = table::NAMES
        .iter()
        .filter(|n| table::in_use(n.key).is_none())
        .map(|n| n.name);
    familiar
        .chain(rest)
        .chain(table::ALIASES.iter().map(|a| a.alias))
        .map(|name: &'static str| -> &'a str { name })
}
