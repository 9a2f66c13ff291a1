//! The integration test binary: every topic is a module (one binary links once, which keeps the
//! suite fast on small machines).

mod support;

mod cli;
mod coverage;
mod docs;
mod fuzz;
mod hostile;
mod kernel;
mod lints;
mod robustness;
