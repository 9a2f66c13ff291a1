use super::*;
#[test]
fn scratch() {
    let cases = std::fs::read_to_string("/tmp/cases.txt").unwrap();
    for case in cases.split("\n---\n") {
        let (yaml, case) = match case.strip_prefix("YAML ") {
            Some(c) => (true, c.replace("\\n", "\n")),
            None => (false, case.replace("\\n", "\n")),
        };
        let (ast, diags) = if yaml {
            crate::syntax::parse_yaml(FILE, &case)
        } else {
            crate::syntax::parse_text(FILE, &case)
        };
        println!("=== {:?}  items={}", case, ast.items.len());
        for f in found(&case, &diags) {
            println!(
                "  {}:{} [{}] {} | {:?} | help={:?}",
                f.line, f.column, f.rule, f.message, f.text, f.help
            );
        }
    }
}
