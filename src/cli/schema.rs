//! `portcullis schema policy|config`: the JSON Schema of the YAML policy form or of
//! `portcullis.yaml`.

use super::arguments::{SchemaArgs, SchemaDocument};
use super::error::CliError;
use super::output::{Outcome, Output};

pub fn run(cmd: &SchemaArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let schema = match cmd.document {
        SchemaDocument::Policy => crate::syntax::yaml_schema(),
        SchemaDocument::Config => crate::config::schema(),
    };
    out.print(&serde_json::to_string_pretty(&schema)?);
    out.print("\n");
    Ok(Outcome::Clean)
}
