//! Project configuration.
