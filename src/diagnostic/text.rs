//! The texts a finding keeps: borrowed when constant, shared when many findings say the same.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A label's or a help's text. A million findings need not each own a copy of the same words: a
/// constant is borrowed, and a text built once at run time can be shared by every finding that
/// says it (`Text::from(Arc<str>)`, cloned).
#[derive(Clone)]
pub enum Text {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Static(text) => text,
            Text::Shared(text) => text,
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Static("")
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Self {
        Text::Static(text)
    }
}

/// Built by `format!`: kept in an allocation of exactly its length.
impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::Shared(Arc::from(text))
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Self {
        Text::Shared(text)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Text;
    use std::sync::Arc;

    #[test]
    fn texts_compare_by_their_words_whatever_holds_them() {
        let shared: Arc<str> = Arc::from("delete this rule");
        assert_eq!(Text::from("delete this rule"), Text::from(shared.clone()));
        assert_eq!(
            Text::from(String::from("delete this rule")),
            "delete this rule"
        );
        let again = Text::from(shared.clone());
        assert_eq!(
            Arc::strong_count(&shared),
            2,
            "a clone of the text, not of its words"
        );
        assert_eq!(
            format!("{again} / {again:?}"),
            "delete this rule / \"delete this rule\""
        );
    }
}
