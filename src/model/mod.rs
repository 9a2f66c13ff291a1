//! The one semantic model of a policy: what `check`, `explain` and `compile` all ask.

mod interval_set;
mod port_range;
mod protocol;

pub use interval_set::{IntervalSet, Point};
pub use port_range::PortRange;
pub use protocol::Protocol;
