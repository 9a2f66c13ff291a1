//! The integration test binary: every topic is a module (one binary links once, which keeps the
//! suite fast on small machines). The kernel tests are a target of their own (`tests/kernel/`).

mod support;

mod audit;
mod cli;
mod compare;
mod coverage;
mod diff;
mod docs;
mod fuzz;
mod hostile;
mod lints;
mod packaging;
mod robustness;
mod schema;
