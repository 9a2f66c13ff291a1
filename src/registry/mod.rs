//! The embedded IANA service-name and port registry.
