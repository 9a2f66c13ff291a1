//! Parsing a large file on two threads, in parts.
//!
//! A large policy is nearly always one long chain. Its body is cut into parts at lines between
//! two statements, and each part is parsed as a text of its own: the first is the file without
//! the body after the first part; each other is the file up to the body's `{`, followed by its
//! part and by the `}` that close the chain and the blocks around it. Each is a valid file exactly
//! when the whole file is valid in that part, and each is parsed with an [`Origin`] that puts the
//! positions after its gap back where they are in the file. The first tree gets the other parts'
//! rules and expectations appended to that chain; the other trees contribute nothing else, and of
//! their findings only those in their part.
//!
//! Two threads take half of the parts each, one part after the other: pest holds some fifty
//! bytes of tokens per byte of the text it parses, so parts of [`PART_BYTES`] bound that memory
//! where two halves of a file of a million rules held gigabytes of it.
//!
//! Anything unexpected (a syntax error in any part, no chain to cut) gives up and leaves the
//! file to the ordinary one-thread parse, which reports errors with recovery.

use pest::Parser;

use super::ast::{ChainBlock, Expect, HostItem, Item, Rule as RuleStmt};
use super::grammar::{PolicyParser, Rule};
use super::parser::{Builder, Origin};
use super::scan::{Place, Scanner};
use crate::diagnostic::Diagnostic;
use crate::source::FileId;

/// Files smaller than this are parsed on one thread: a second thread would cost more than it saves.
pub(super) const MIN_SPLIT_BYTES: usize = 256 * 1024;

/// About how many bytes of a chain's body one part holds: its tokens take some 50 MB while it
/// is parsed, and each part parses the text before the body again, which is nearly always short.
pub(super) const PART_BYTES: usize = 1024 * 1024;

/// The file parsed in parts on two threads, or `None` to parse it whole.
pub(super) fn parse_in_two(
    file: FileId,
    text: &str,
    min_bytes: usize,
) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    if text.len() < min_bytes {
        return None;
    }
    parse_in_parts(file, text, PART_BYTES)
}

/// The file parsed in parts of about `part_bytes` of its longest chain's body.
fn parse_in_parts(
    file: FileId,
    text: &str,
    part_bytes: usize,
) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    let cut = find_cut(text, part_bytes)?;
    // The threads share the parts evenly, the first (with the rest of the file) on this one.
    let parts = cut.ats.len() + 1;
    let half = parts.div_ceil(2);
    let (mine, theirs) = crate::parallel::join(
        || {
            let first = parse_first(file, text, &cut);
            (first, parse_parts(file, text, &cut, 1..half))
        },
        || parse_parts(file, text, &cut, half..parts),
    );
    let (first, mine) = mine;
    let (mut items, mut diagnostics) = first?;
    let mut rest = mine?;
    rest.extend(theirs?);
    let chain = chain_at(&mut items, text, cut.open)?;
    // Exactly the room for all parts: extending part by part would double the vector.
    chain
        .rules
        .reserve_exact(rest.iter().map(|part| part.rules.len()).sum());
    let mut found = Vec::new();
    for part in rest {
        chain.rules.extend(part.rules);
        chain.expectations.extend(part.expectations);
        found.extend(part.diagnostics);
    }
    // The other parts' findings go where the one-thread parse reports them: after those of the
    // statements before them, before those of the statements after the chain.
    let at = diagnostics
        .iter()
        .position(|d| d.primary.span.start >= cut.ats[0])
        .unwrap_or(diagnostics.len());
    diagnostics.splice(at..at, found);
    Some((items, diagnostics))
}

/// What a part other than the first gives the file: its statements of the chain, and its findings.
struct Part {
    rules: Vec<RuleStmt>,
    expectations: Vec<Expect>,
    diagnostics: Vec<Diagnostic>,
}

/// The first part: the file without the body after its first part.
fn parse_first(file: FileId, text: &str, cut: &Cut) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    let at = cut.ats[0];
    let first = [&text[..at], &text[cut.close..]].concat();
    parse_whole(
        file,
        &first,
        Origin::Spliced {
            at,
            shift: cut.close - at,
        },
    )
}

/// The parts `which` (never the first), one after the other; `None` if any fails.
fn parse_parts(
    file: FileId,
    text: &str,
    cut: &Cut,
    which: std::ops::Range<usize>,
) -> Option<Vec<Part>> {
    which
        .map(|index| parse_part(file, text, cut, index))
        .collect()
}

/// Part `index` (from 1) of the body, which starts at `cut.ats[index - 1]`: parsed after the
/// text up to the chain's `{`, and closed by as many `}` as there are blocks open there.
fn parse_part(file: FileId, text: &str, cut: &Cut, index: usize) -> Option<Part> {
    let start = cut.ats[index - 1];
    let end = cut.ats.get(index).copied().unwrap_or(cut.close);
    let closing = "}\n".repeat(cut.depth);
    let part = [&text[..=cut.open], &text[start - 1..end], &closing].concat();
    let origin = Origin::Spliced {
        at: cut.open + 1,
        shift: start - 1 - (cut.open + 1),
    };
    let (mut items, diagnostics) = parse_whole(file, &part, origin)?;
    let chain = chain_at(&mut items, text, cut.open)?;
    // Every part is held until all are joined into the chain: a part's vector of rules, grown
    // one rule at a time, would keep room for up to as many again (570 MB beside the joined
    // 336 MB at a million rules).
    chain.rules.shrink_to_fit();
    Some(Part {
        rules: std::mem::take(&mut chain.rules),
        expectations: std::mem::take(&mut chain.expectations),
        diagnostics: diagnostics
            .into_iter()
            .filter(|d| (start..end).contains(&d.primary.span.start))
            .collect(),
    })
}

fn parse_whole(file: FileId, text: &str, origin: Origin) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    let pairs = PolicyParser::parse(Rule::file, text).ok()?;
    let mut diagnostics = Vec::new();
    let items = Builder::new(file, origin, &[], &mut diagnostics).file(pairs);
    Some((items, diagnostics))
}

/// The chain block whose `{` is at `open`: between its default policy and `open` there is only
/// whitespace.
fn chain_at<'i>(items: &'i mut [Item], text: &str, open: usize) -> Option<&'i mut ChainBlock> {
    let contains = |chain: &ChainBlock| {
        let end = chain.policy.span.end;
        end <= open
            && open < chain.span.end
            && text.as_bytes()[end..open]
                .iter()
                .all(|b| b" \t\\\r\n".contains(b))
    };
    let mut found = None;
    for item in items {
        let chains: Vec<&mut ChainBlock> = match item {
            Item::HostItem(HostItem::Chain(chain)) => vec![chain],
            Item::Host(host) => host
                .items
                .iter_mut()
                .filter_map(|i| match i {
                    HostItem::Chain(chain) => Some(chain),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for chain in chains {
            if contains(chain) {
                found = Some(chain);
            }
        }
    }
    found
}

/// Where to cut: the block's `{`, the start of the line each part but the first begins with (in
/// order, at least one), the block's `}`, and how many blocks are open inside it (the block
/// itself included).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cut {
    open: usize,
    ats: Vec<usize>,
    close: usize,
    depth: usize,
}

/// The bytes [`find_cut`] acts on: line breaks, strings, comments, braces and continuations.
/// Any other byte outside a string or comment only becomes the line's last byte.
const SPECIAL: [bool; 256] = {
    let mut special = [false; 256];
    let mut k = 0;
    let bytes = b"\n\r\"#{}\\";
    while k < bytes.len() {
        special[bytes[k] as usize] = true;
        k += 1;
    }
    special
};

/// Line starts that cut the block with the most lines of its own into parts of about
/// `part_bytes` (two at least), at the block's depth (not inside a block nested in it) and not
/// continuing the line before it. Strings, comments and braces are read as the grammar reads
/// them; if this reading were ever wrong, a part would fail to parse or the block would not be a
/// chain, and the file would be parsed whole.
fn find_cut(text: &str, part_bytes: usize) -> Option<Cut> {
    scan_for_cut(text, true, part_bytes)
}

/// [`find_cut`]; with `skip_ordinary`, runs of bytes that change nothing are passed over at
/// once instead of one by one.
fn scan_for_cut(text: &str, skip_ordinary: bool, part_bytes: usize) -> Option<Cut> {
    let bytes = text.as_bytes();
    // Open blocks: where their `{` is, and how many lines start directly inside them.
    let mut open_braces: Vec<(usize, usize)> = Vec::new();
    let mut blocks: Vec<(usize, usize, usize, usize)> = Vec::new(); // (open, close, depth, lines)
    let mut line_starts: Vec<(usize, usize)> = Vec::new(); // (position, depth) of cuttable lines
    let mut scanner = Scanner::default();
    // The last byte of the line so far: a line after one ending in `\\` continues it. (Also
    // after a comment ending in `\\`, which does not continue: a harmless miss.)
    let mut last_visible = b'\n';
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if skip_ordinary && !SPECIAL[usize::from(b)] && scanner.in_code() {
            // Most lines hold none of the bytes that matter here: skip to the next that does.
            let run = bytes[i..]
                .iter()
                .position(|&b| SPECIAL[usize::from(b)])
                .unwrap_or(bytes.len() - i);
            last_visible = bytes[i + run - 1];
            i += run;
            continue;
        }
        let at = i;
        i += 1;
        let in_string = scanner.in_string();
        match scanner.place(b) {
            Place::LineEnd => {
                if b == b'\n' && !in_string && last_visible != b'\\' {
                    line_starts.push((at + 1, open_braces.len()));
                    if let Some((_, lines)) = open_braces.last_mut() {
                        *lines += 1;
                    }
                }
                if b == b'\n' {
                    last_visible = b'\n';
                }
                continue;
            }
            Place::Code => match b {
                b'{' => open_braces.push((at, 0)),
                b'}' => {
                    let (open, lines) = open_braces.pop()?;
                    blocks.push((open, at, open_braces.len() + 1, lines));
                }
                _ => {}
            },
            Place::String | Place::Comment => {}
        }
        last_visible = b;
    }
    if !open_braces.is_empty() {
        return None;
    }
    let &(open, close, depth, _) = blocks
        .iter()
        .filter(|block| after_chain_header(bytes, block.0))
        .max_by_key(|block| block.3)?;
    let from = line_starts.partition_point(|&(pos, _)| pos <= open);
    let to = line_starts.partition_point(|&(pos, _)| pos < close);
    let candidates: Vec<usize> = line_starts[from..to]
        .iter()
        .filter(|&&(_, d)| d == depth)
        .map(|&(pos, _)| pos)
        .collect();
    // Every part but the first parses the text before the body again: a part is never shorter
    // than that text, so the repeats cost no more than the parts themselves.
    let body = close - open;
    let parts = (body / part_bytes.max(open).max(1)).max(2);
    let mut ats: Vec<usize> = Vec::with_capacity(parts - 1);
    for k in 1..parts {
        let target = open + body / parts * k + body % parts * k / parts;
        let Some(at) = nearest(&candidates, target) else {
            break;
        };
        if ats.last().is_none_or(|&last| last < at) {
            ats.push(at);
        }
    }
    if ats.is_empty() {
        return None;
    }
    Some(Cut {
        open,
        ats,
        close,
        depth,
    })
}

/// The position in `sorted` nearest to `target`, the earlier of two as near.
fn nearest(sorted: &[usize], target: usize) -> Option<usize> {
    let after = sorted.partition_point(|&pos| pos < target);
    let before = after.checked_sub(1).map(|i| sorted[i]);
    match (before, sorted.get(after).copied()) {
        (Some(b), Some(a)) if a - target < target - b => Some(a),
        (Some(b), _) => Some(b),
        (None, a) => a,
    }
}

/// Whether the `{` at `open` follows a chain's default policy (`input drop {`), possibly over
/// continued lines. Checked again on the parsed tree; this only picks the block.
fn after_chain_header(bytes: &[u8], open: usize) -> bool {
    let mut end = open;
    loop {
        while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        if end > 0 && bytes[end - 1] == b'\n' {
            let mut before = end - 1;
            if before > 0 && bytes[before - 1] == b'\r' {
                before -= 1;
            }
            if before > 0 && bytes[before - 1] == b'\\' {
                end = before - 1;
                continue;
            }
            return false;
        }
        break;
    }
    let head = &bytes[..end];
    ["accept", "drop", "reject"].iter().any(|policy| {
        head.ends_with(policy.as_bytes())
            && head
                .len()
                .checked_sub(policy.len() + 1)
                .is_some_and(|i| matches!(bytes[i], b' ' | b'\t'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_the_largest_block_between_statements() {
        let text = "net a = 10.0.0.0/8\ninput drop {\n  allow ssh\n  allow http # {\n  deny tcp/1-2 \\\n    from a\n  allow https log \"}\"\n}\n";
        let cut = find_cut(text, PART_BYTES).unwrap();
        let [at] = cut.ats[..] else {
            panic!("one cut in a short chain: {cut:?}")
        };
        assert_eq!(&text[cut.open..=cut.open], "{");
        assert_eq!(&text[cut.close..=cut.close], "}");
        assert_eq!(cut.close, text.len() - 2);
        // Never inside the continued statement.
        assert_ne!(&text[at..at + 6], "    fr");
        assert!(text[..at].ends_with('\n'));
    }

    #[test]
    fn both_halves_give_the_whole_parse() {
        let mut text = String::from(
            "net a = 10.0.0.0/8\nhost web {\n  bind sshd on 0.0.0.0 ssh\n  input drop {\n",
        );
        for i in 0..200 {
            text.push_str(&format!("    allow tcp/{} from a\n", 1000 + i));
            if i == 150 {
                text.push_str("    allow tcp/99999\n"); // an invalid port, reported once
            }
            if i % 40 == 0 {
                text.push_str(&format!("    expect open tcp/{} from a\n", 1000 + i));
            }
        }
        text.push_str("  }\n}\n");
        let (whole, whole_diagnostics) = super::super::recovery::parse_serial(FileId(0), &text);
        let (split, split_diagnostics) = parse_in_two(FileId(0), &text, 0).unwrap();
        assert_eq!(split, whole);
        assert_eq!(split_diagnostics, whole_diagnostics);
        // In many parts, of a chain in a host: each part closes both blocks.
        assert!(find_cut(&text, 100).unwrap().ats.len() > 20);
        let parts = parse_in_parts(FileId(0), &text, 100).unwrap();
        assert_eq!(parts, (whole.clone(), whole_diagnostics.clone()));
        assert_eq!(split_diagnostics.len(), 1);
        // Expectations from both halves, in the order written.
        let Some(Item::Host(host)) = split.get(1) else {
            panic!("the host")
        };
        let Some(HostItem::Chain(chain)) = host.items.get(1) else {
            panic!("the chain")
        };
        let ports: Vec<u16> = chain
            .expectations
            .iter()
            .filter_map(|e| match &e.services[..] {
                [super::super::ast::ServiceRef::Spec(spec)] => spec.ports.map(|p| p.node.lo),
                _ => None,
            })
            .collect();
        assert_eq!(ports, [1000, 1040, 1080, 1120, 1160]);
    }

    #[test]
    fn spliced_positions_go_back_where_they_are_in_the_file() {
        // The text is the file with bytes 10..15 left out.
        let origin = Origin::Spliced { at: 10, shift: 5 };
        let span = |start, end| {
            let span = origin.span(FileId(0), start, end);
            (span.start, span.end)
        };
        assert_eq!(span(2, 8), (2, 8));
        assert_eq!(span(8, 10), (8, 10)); // ends where the gap is: before it
        assert_eq!(span(10, 10), (15, 15));
        assert_eq!(span(8, 12), (8, 17)); // across the gap
        assert_eq!(span(10, 12), (15, 17));
    }

    #[test]
    fn a_syntax_error_leaves_the_file_to_the_whole_parse() {
        let text = "input drop {\n  allow ssh\n  allow http\n  alow https\n  allow smtp\n}\n";
        assert!(parse_in_two(FileId(0), text, 0).is_none());
        assert!(parse_in_two(FileId(0), "allow ssh\n", 0).is_none());
    }

    proptest::proptest! {
        /// Whenever the two-thread parse gives an answer, it is the one-thread parse's answer, on
        /// texts full of what could mislead the cut: braces in comments and strings, headerless
        /// blocks, continued lines, carriage returns, and now and then a mistake.
        #[test]
        fn agrees_with_the_whole_parse(lines in proptest::collection::vec(
            proptest::prop_oneof![
                30 => proptest::sample::select(vec![
                    "  allow ssh", "  deny tcp/1-9 from a", "  allow http # { not a block",
                    "  allow https log \"} {\"", "  allow tcp/5 \\\n    from a",
                    "  {\n  allow ssh\n  }", "  reject udp/53\r", "  allow tcp/99999", "# }", "",
                    "  allow ssh log \"a\\\"{\"", "  allow ssh # \\",
                    "  expect open ssh from a", "  expect closed tcp/1-9 \\\n    on eth0",
                    "  expect limited ssh log", "  expect open tcp/99999",
                ]),
                1 => proptest::sample::select(vec![
                    "  alow ssh", "  }", "  allow tcp/7 \\", "  {", "  expect ssh", "  expect open",
                ]),
            ],
            0..40,
        )) {
            // Something after the chain too, with a mistake: its positions are past the gap in
            // the first text.
            let text = format!(
                "net a = 10.0.0.0/8\ninput drop {{\n{}\n}}\noutput accept {{\n  deny tcp/70000\n}}\n",
                lines.join("\n")
            );
            let whole = super::super::recovery::parse_serial(FileId(0), &text);
            if let Some(split) = parse_in_two(FileId(0), &text, 0) {
                proptest::prop_assert_eq!(split, whole.clone(), "{}", text);
            }
            // In parts of a line or two.
            if let Some(split) = parse_in_parts(FileId(0), &text, 16) {
                proptest::prop_assert_eq!(split, whole, "{}", text);
            }
        }

        /// The scan that skips runs of ordinary bytes cuts where a byte-by-byte scan cuts.
        #[test]
        fn the_fast_scan_cuts_where_the_bytewise_scan_cuts(lines in proptest::collection::vec(
            proptest::sample::select(vec![
                "  allow ssh", "  deny tcp/1-9 from a", "  allow http # { not a block",
                "  allow https log \"} {\"", "  allow tcp/5 \\\n    from a", "  {\n  allow ssh\n  }",
                "  reject udp/53\r", "# }", "", "  allow ssh log \"a\\\"{\"", "  allow ssh # \\",
                "  log \"\\n{\"", "  log \"\\n\" {", "  log \"\\t\" }", "  }", "  {", "\"",
                "  allow tcp/7 \\",
            ]),
            0..40,
        )) {
            let text = format!("net a = 10.0.0.0/8\ninput drop {{\n{}\n}}\n", lines.join("\n"));
            proptest::prop_assert_eq!(scan_for_cut(&text, true, 64), scan_for_cut(&text, false, 64), "{}", text);
        }
    }
}
