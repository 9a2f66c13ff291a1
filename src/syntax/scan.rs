//! Where each byte of policy text stands, code, string or comment, as the grammar reads it: a
//! string runs from `"` to the next unescaped `"` or the end of the line, `\` escapes the next
//! byte in a string, and a comment runs from `#` outside a string to the end of the line.
//!
//! The recovery (blanking statements, refusing deep blocks), the two-thread split and the error
//! messages all find braces this way; they share this one scanner so they always agree.

/// Where a byte stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Outside strings and comments: a `{` here opens a block.
    Code,
    /// Part of a string, its quotes included.
    String,
    /// Part of a comment, its `#` included.
    Comment,
    /// `\n` or `\r`: ends any string or comment.
    LineEnd,
}

/// The state between bytes. Feed it every byte of the text in order.
#[derive(Debug, Default, Clone)]
pub(super) struct Scanner {
    in_string: bool,
    in_comment: bool,
    escaped: bool,
}

impl Scanner {
    /// Where `b`, the next byte, stands.
    pub(super) fn place(&mut self, b: u8) -> Place {
        match b {
            b'\n' | b'\r' => {
                *self = Scanner::default();
                Place::LineEnd
            }
            _ if self.in_comment => Place::Comment,
            _ if self.in_string => {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                Place::String
            }
            b'#' => {
                self.in_comment = true;
                Place::Comment
            }
            b'"' => {
                self.in_string = true;
                Place::String
            }
            _ => Place::Code,
        }
    }

    /// Whether the scanner is inside a string (an unclosed one, at a line's end).
    pub(super) fn in_string(&self) -> bool {
        self.in_string
    }

    /// Whether the next ordinary byte would be code.
    pub(super) fn in_code(&self) -> bool {
        !self.in_string && !self.in_comment
    }
}

/// The place of every byte of `text`, with its offset.
pub(super) fn places(text: &str) -> impl Iterator<Item = (usize, u8, Place)> + '_ {
    let mut scanner = Scanner::default();
    text.bytes()
        .enumerate()
        .map(move |(i, b)| (i, b, scanner.place(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_in_strings_and_comments_are_not_code() {
        let text = "a { \"x { \\\" }\" # } {\n}";
        let code: String = places(text)
            .filter(|&(_, b, p)| p == Place::Code && (b == b'{' || b == b'}'))
            .map(|(_, b, _)| b as char)
            .collect();
        assert_eq!(code, "{}");
    }

    #[test]
    fn a_string_ends_at_the_line_end() {
        let places: Vec<Place> = places("\"ab\n{").map(|(_, _, p)| p).collect();
        assert_eq!(places.last(), Some(&Place::Code));
    }
}
