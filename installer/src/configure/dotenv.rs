//! The syntax of a `.env` line as Docker Compose v2 reads it: `KEY=value`, an optional
//! `export ` in front, values bare, in single quotes (taken literally) or in double quotes (with
//! backslash escapes and `$$`). Only what Compose accepts is modelled; anything else is kept as
//! text and never interpreted.
//!
//! Variable references (`$OTHER`, `${OTHER}`) are left as written: Compose expands them, this
//! module does not.

/// One `KEY=value` entry read from the file, with the number of physical lines it spans (a quoted
/// value may continue over several lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedEntry {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) export: bool,
    pub(crate) line_count: usize,
}

/// Whether `key` is a name that Compose accepts on the left of `=`.
pub(crate) fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Reads the entry that starts at `lines[0]`, or `None` when that line is blank, a comment or
/// something that is not an entry.
pub(crate) fn parse_entry(lines: &[&str]) -> Option<ParsedEntry> {
    let first = lines.first()?.trim_end_matches('\r');
    let text = first.trim_start();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }

    let (export, text) = match text.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => (true, rest.trim_start()),
        _ => (false, text),
    };
    let (key, rest) = text.split_once('=')?;
    let key = key.trim_end();
    if !is_valid_key(key) {
        return None;
    }
    let rest = rest.trim_start_matches([' ', '\t']);

    let (value, line_count) = match rest.chars().next() {
        Some(quote @ ('\'' | '"')) => parse_quoted(&rest[1..], &lines[1..], quote)?,
        _ => (parse_bare(rest), 1),
    };
    Some(ParsedEntry {
        key: key.to_string(),
        value,
        export,
        line_count,
    })
}

/// A bare value ends at a `#` that follows whitespace; surrounding whitespace is dropped.
fn parse_bare(text: &str) -> String {
    let mut end = text.len();
    let mut previous_is_space = true;
    for (index, c) in text.char_indices() {
        if c == '#' && previous_is_space {
            end = index;
            break;
        }
        previous_is_space = c == ' ' || c == '\t';
    }
    unescape_dollars(text[..end].trim())
}

/// Reads a quoted value that may continue on the following lines. Returns `None` when the closing
/// quote never comes, which Compose refuses as well.
fn parse_quoted(first: &str, following: &[&str], quote: char) -> Option<(String, usize)> {
    let mut raw = String::new();
    let mut line_count = 1;
    let mut current = first;
    loop {
        if let Some(end) = closing_quote(current, quote) {
            raw.push_str(&current[..end]);
            let value = if quote == '"' {
                unescape_double_quoted(&raw)
            } else {
                raw
            };
            return Some((value, line_count));
        }
        raw.push_str(current);
        raw.push('\n');
        current = following.get(line_count - 1)?.trim_end_matches('\r');
        line_count += 1;
    }
}

/// The byte index of the closing quote in `text`, skipping escaped quotes inside double quotes.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Some(index);
        }
    }
    None
}

fn unescape_double_quoted(raw: &str) -> String {
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some('t') => value.push('\t'),
                Some(escaped @ ('\\' | '"' | '$')) => value.push(escaped),
                // Compose keeps any other backslash as it is, `\'` included.
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                value.push('$');
            }
            other => value.push(other),
        }
    }
    value
}

fn unescape_dollars(text: &str) -> String {
    text.replace("$$", "$")
}

/// Whether a value can be written bare and still read back unchanged.
fn is_bare_safe(value: &str) -> bool {
    value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-' | '.' | ',' | ':' | '/' | '@' | '+' | '=')
    })
}

/// Writes `value` so that Compose reads it back exactly: bare when that is safe, otherwise in
/// double quotes with `\`, `"`, `$` and line breaks escaped.
pub(crate) fn quote_value(value: &str) -> String {
    if is_bare_safe(value) {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '$' => quoted.push_str("\\$"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// Whether `line` is a commented-out entry for `key`, such as `# KEY=` or `#KEY=value`.
pub(crate) fn is_commented_entry(line: &str, key: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('#') else {
        return false;
    };
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix("export") {
        Some(after) if after.starts_with([' ', '\t']) => after.trim_start(),
        _ => rest,
    };
    rest.strip_prefix(key)
        .is_some_and(|after| after.trim_start().starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(line: &str) -> String {
        parse_entry(&[line]).expect("an entry").value
    }

    #[test]
    fn bare_values_drop_inline_comments_and_whitespace() {
        assert_eq!(value_of("A=plain # note"), "plain");
        assert_eq!(value_of("A=a#b"), "a#b");
        assert_eq!(value_of("A =  spaced value  "), "spaced value");
        assert_eq!(value_of("A=a$$b"), "a$b");
        assert_eq!(value_of("A=$HOME/x"), "$HOME/x");
        assert_eq!(value_of("A="), "");
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(value_of("A='a$b \\n' # note"), "a$b \\n");
    }

    #[test]
    fn double_quotes_follow_compose_escapes() {
        assert_eq!(value_of(r#"A="Subject Identifier""#), "Subject Identifier");
        assert_eq!(value_of(r#"A="a\"b\\c\$d$$e""#), "a\"b\\c$d$e");
        assert_eq!(value_of(r#"A="x\ny\tz\'""#), "x\ny\tz\\'");
    }

    #[test]
    fn quoted_values_may_span_lines() {
        let entry = parse_entry(&["A=\"one", "two\"", "B=c"]).expect("an entry");
        assert_eq!(entry.value, "one\ntwo");
        assert_eq!(entry.line_count, 2);
        assert_eq!(parse_entry(&["A=\"never closed", "B=c"]), None);
    }

    #[test]
    fn export_prefix_and_invalid_keys() {
        let entry = parse_entry(&["export KEY=v"]).expect("an entry");
        assert!(entry.export);
        assert_eq!(entry.key, "KEY");
        assert_eq!(parse_entry(&["# KEY=v"]), None);
        assert_eq!(parse_entry(&["1KEY=v"]), None);
        assert_eq!(parse_entry(&["just text"]), None);
    }

    #[test]
    fn quoting_reads_back_unchanged() {
        for value in [
            "",
            "plain",
            "Subject Identifier",
            "p\"a\\s$s'w#o rd",
            "two\nlines",
            "$$",
            "trailing\\",
            "https://login.example.org/realms/jim",
            "é ü",
        ] {
            let line = format!("K={}", quote_value(value));
            assert_eq!(value_of(&line), value, "through `{line}`");
        }
        assert_eq!(quote_value("Subject Identifier"), "\"Subject Identifier\"");
        assert_eq!(quote_value("jim.database:5432"), "jim.database:5432");
    }

    #[test]
    fn commented_entries_are_recognised() {
        assert!(is_commented_entry(
            "# JIM_INFRASTRUCTURE_API_KEY=",
            "JIM_INFRASTRUCTURE_API_KEY"
        ));
        assert!(is_commented_entry("#KEY=value", "KEY"));
        assert!(!is_commented_entry("# KEYS=value", "KEY"));
        assert!(!is_commented_entry("# set KEY=value here", "KEY"));
        assert!(!is_commented_entry("KEY=value", "KEY"));
    }
}
