//! portcullis: a readable port policy in, a correct nftables firewall out.
//!
//! The pipeline, one module per stage:
//! [`syntax`] (text or YAML -> spanned AST) -> [`resolve`] (names, nets, ports -> [`model`]) ->
//! [`lint`] (findings) and [`compile`] (nftables); [`audit`] holds the sockets listening on a host
//! against its policy. [`diagnostic`] carries findings to the user and [`cli`] wires it all to
//! the command line.

pub mod audit;
pub mod cli;
pub mod compile;
pub mod config;
pub mod deploy;
pub mod diagnostic;
pub mod diff;
pub mod fsio;
pub mod lab;
pub mod lint;
pub mod load;
pub mod model;
pub mod nft;
mod parallel;
pub mod pipeline;
pub mod proof;
pub mod registry;
pub mod resolve;
pub mod rule;
pub mod source;
pub mod syntax;
pub mod yaml_words;
