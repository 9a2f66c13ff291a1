//! The shipped examples parse cleanly, and the YAML example says what the text one says.

use super::*;

fn example(name: &str) -> String {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_example_parses_without_diagnostics() {
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".pcl") || name.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let text = example(&name);
        let (policy, diagnostics) = crate::syntax::parse(FILE, &name, &text);
        assert!(
            diagnostics.is_empty(),
            "{name}:\n{}",
            render(&text, &diagnostics)
        );
        assert!(!policy.items.is_empty(), "{name} is empty");
    }
}

#[test]
fn web_pcl_reads_as_written() {
    let policy = parse_ok(&example("web.pcl"));
    assert_eq!(policy.items.len(), 8);
    let Item::Host(host) = &policy.items[7] else {
        panic!("the host comes last")
    };
    assert_eq!(host.name.node, "web-1");
    let kinds: Vec<&str> = host
        .items
        .iter()
        .map(|item| match item {
            HostItem::Bind(_) => "bind",
            HostItem::Chain(_) => "chain",
            HostItem::ForwardPort(_) => "forward-port",
            HostItem::SourceNat(_) => "source-nat",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "bind",
            "bind",
            "bind",
            "bind",
            "chain",
            "chain",
            "forward-port"
        ]
    );
    let HostItem::Chain(input) = &host.items[4] else {
        panic!("input")
    };
    assert_eq!(input.rules.len(), 7);
}

#[test]
fn web_yaml_is_web_pcl() {
    let text = parse_ok(&example("web.pcl"));
    let yaml = parse_yaml_ok(&example("web.yaml"));
    assert_eq!(erase_spans(&text), erase_spans(&yaml));
}
