//! serde-saphyr's errors in the project's words: one lowercase phrase, without the library's
//! position (the caller has one), type names or option names. And the words it reads as booleans,
//! for the JSON Schemas.

/// The message of a YAML error, for "invalid YAML: ..." and configuration errors.
pub fn phrase(error: &serde_saphyr::Error) -> String {
    let full = error.without_snippet().to_string();
    let mut message = full.lines().next().unwrap_or("").trim();
    if let Some(rest) = message.strip_prefix("error: ") {
        message = rest;
    }
    // "line 2 column 3: ..." and "... at line 2 column 3": the caller shows the position.
    if message.starts_with("line ") {
        if let Some(i) = message.find(": ") {
            message = &message[i + 2..];
        }
    }
    if let Some(i) = message.rfind(" at line ") {
        message = &message[..i];
    }
    translate(message)
}

fn translate(message: &str) -> String {
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        let kind: String = breach
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        return match kind.as_str() {
            "Depth" => "it nests deeper than a policy ever does".to_string(),
            "" => "it is larger than a policy ever is".to_string(),
            kind => format!(
                "it has more {} than a policy ever does",
                kind.to_ascii_lowercase()
            ),
        };
    }
    if message.contains("recursion limit exceeded") || message.contains("stack depth exceeded") {
        return "it nests deeper than a policy ever does".to_string();
    }
    if message.starts_with("alias ") && message.contains("limit exceeded") {
        return "its aliases expand to more than a policy ever holds".to_string();
    }
    if message.contains("weak recursion") {
        return "an alias refers to the node that holds it".to_string();
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        return match rest
            .strip_prefix(": ")
            .and_then(|k| k.split(", set ").next())
        {
            Some(key) => format!(
                "the key `{}` appears twice in one mapping",
                key.trim_matches('`')
            ),
            None => "a key appears twice in one mapping".to_string(),
        };
    }
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "the text cannot be read as YAML".to_string(),
    }
}

/// A boolean as the YAML reader takes one, for JSON Schemas: `true` and `false`, and YAML 1.1's
/// words `yes`, `no`, `on`, `off`, `y` and `n` in any case. Editors read YAML 1.2, where those
/// words are strings, so the schema accepts them as such strings too. (Quoted, `"yes"` is still a
/// boolean to the configuration, but text to a policy's `counter`, where it is an error; an
/// editor cannot tell the two apart.)
pub struct Boolean;

impl schemars::JsonSchema for Boolean {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Boolean".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`true` or `false` (or YAML 1.1's `yes`, `no`, `on`, `off`, `y`, `n`).",
            "anyOf": [
                {"type": "boolean"},
                {
                    "type": "string",
                    "pattern": "^([yY]|[yY][eE][sS]|[nN]|[nN][oO]|[oO][nN]|[oO][fF][fF]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])$"
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn library_words_do_not_reach_the_user() {
        assert_eq!(
            translate("budget breached: Nodes { nodes: 250001 }"),
            "it has more nodes than a policy ever does"
        );
        assert_eq!(
            translate("budget breached: Depth { depth: 65 }"),
            "it nests deeper than a policy ever does"
        );
        assert_eq!(
            translate(
                "duplicate mapping key: input, set DuplicateKeyPolicy in Options if acceptable"
            ),
            "the key `input` appears twice in one mapping"
        );
        assert_eq!(
            translate("recursive references require weak recursion types"),
            "an alias refers to the node that holds it"
        );
        assert_eq!(translate("Simple key expected"), "simple key expected");
    }
}
