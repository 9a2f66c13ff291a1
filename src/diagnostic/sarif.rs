//! Findings as SARIF 2.1.0, the format code-scanning services read.

use serde_sarif::sarif;

use super::{Diagnostic, Severity};
use crate::rule::{docs_markdown, Level, LintRule};
use crate::source::{Sources, Span};

fn level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    }
}

fn default_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
        Level::Off => "none",
    }
}

/// SARIF URIs are relative references with forward slashes.
fn uri(name: &str) -> String {
    name.replace('\\', "/")
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn location(sources: &Sources, span: Span, message: Option<&str>) -> sarif::Location {
    let file = sources.get(span.file);
    let (start_line, start_column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end.max(span.start));
    let region = sarif::Region::builder()
        .start_line(start_line as i64)
        .start_column(start_column as i64)
        .end_line(end_line as i64)
        .end_column(end_column as i64)
        .build();
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(
            sarif::ArtifactLocation::builder()
                .uri(uri(&file.name))
                .build(),
        )
        .region(region)
        .build();
    match message {
        Some(text) if !text.is_empty() => sarif::Location::builder()
            .physical_location(physical)
            .message(sarif::Message::builder().text(text).build())
            .build(),
        _ => sarif::Location::builder()
            .physical_location(physical)
            .build(),
    }
}

/// One log for the findings of several runs, each with the sources its spans point into; `rules`
/// is the catalogue of every rule, which the log describes and the results point into.
pub fn render_sarif(runs: &[(&Sources, &[Diagnostic])], rules: &[&LintRule]) -> String {
    let catalogue = rules;
    let rules: Vec<sarif::ReportingDescriptor> = catalogue
        .iter()
        .map(|rule| {
            sarif::ReportingDescriptor::builder()
                .id(rule.name)
                .name(rule.code)
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(rule.summary)
                        .build(),
                )
                .full_description(
                    sarif::MultiformatMessageString::builder()
                        .text(rule.summary)
                        .markdown(docs_markdown(rule))
                        .build(),
                )
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(serde_json::Value::from(default_level(rule.default_level)))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<sarif::Result> = runs
        .iter()
        .flat_map(|&(sources, ds)| ds.iter().map(move |d| (sources, d)))
        .map(|(sources, d)| {
            let mut text = d.message.to_string();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let rule_index = catalogue
                .iter()
                .position(|r| r.name == d.rule.name)
                .unwrap_or(0);
            let base = sarif::Result::builder()
                .rule_id(d.rule.name)
                .rule_index(rule_index as i64)
                .level(level(d.severity))
                .message(sarif::Message::builder().text(text).build())
                .locations(vec![location(
                    sources,
                    d.primary.span,
                    Some(&d.primary.message),
                )]);
            if d.secondary.is_empty() {
                base.build()
            } else {
                base.related_locations(
                    d.secondary
                        .iter()
                        .map(|l| location(sources, l.span, Some(&l.message)))
                        .collect::<Vec<_>>(),
                )
                .build()
            }
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("portcullis")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log).expect("plain data serialises");
    text.push('\n');
    text
}
