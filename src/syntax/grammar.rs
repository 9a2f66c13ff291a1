//! The pest parser generated from `grammar/portcullis.pest`.

use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/portcullis.pest"]
pub(crate) struct PolicyParser;
