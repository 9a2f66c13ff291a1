use crate::source::{FileId, SourceFile};

#[test]
fn scratch() {
    let cases = std::fs::read_to_string("/tmp/cases.txt").unwrap();
    for case in cases.split("\n---\n") {
        let case = case.replace("\\n", "\n");
        let (ast, diags) = super::parse_text(FileId(0), &case);
        let src = SourceFile::new("t", "t", case.clone());
        println!("=== {:?}  items={}", case, ast.items.len());
        for d in diags {
            let (l, c) = src.line_col(d.primary.span.start);
            println!("  {l}:{c} [{}] {} | label={:?} help={:?} sec={:?}", d.rule, d.message, d.primary.message, d.help, d.secondary.iter().map(|s| src.line_col(s.span.start)).collect::<Vec<_>>());
        }
    }
}
