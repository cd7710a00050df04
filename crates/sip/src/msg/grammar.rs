//! Lexical helpers shared by the typed headers: tokens, quoted strings, parameter lists and
//! splitting on separators that are not inside quotes or angle brackets (RFC 3261 §25.1).

use super::Malformed;

/// `token` characters of RFC 3261 §25.1.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits `s` at every `sep` outside a quoted string (and outside `<...>` when `angles`).
/// An unterminated quote or bracket is an error: the value's structure cannot be known.
pub(crate) fn split_outside<'a>(s: &'a str, sep: char, angles: bool, header: &str) -> Result<Vec<&'a str>, Malformed> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut in_angles = false;
    for (i, c) in s.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' if angles => in_angles = true,
            '>' if angles => in_angles = false,
            c if c == sep && !in_angles => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err(Malformed::header(header, "unterminated quoted string"));
    }
    if in_angles {
        return Err(Malformed::header(header, "unterminated <"));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// Reads a quoted string at the start of `s`; returns the unescaped content and the rest.
pub(crate) fn take_quoted<'a>(s: &'a str, header: &str) -> Result<(String, &'a str), Malformed> {
    let mut chars = s.char_indices();
    if !matches!(chars.next(), Some((_, '"'))) {
        return Err(Malformed::header(header, "expected a quoted string"));
    }
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return Ok((out, &s[i + 1..]));
        } else {
            out.push(c);
        }
    }
    Err(Malformed::header(header, "unterminated quoted string"))
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Generic `;name[=value]` parameters in received order. Names compare case-insensitively;
/// values keep their original spelling (quotes included) so printing is faithful.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    /// Parses the text after the first `;` of a header value (`a=1;b;c="x"`).
    pub(crate) fn parse(segments: &[&str], header: &str) -> Result<Self, Malformed> {
        let mut list = Vec::with_capacity(segments.len());
        for segment in segments {
            let segment = segment.trim();
            let (name, value) = match segment.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (segment, None),
            };
            if !is_token(name) {
                return Err(Malformed::header(header, "empty or invalid parameter name"));
            }
            if let Some(v) = value {
                let valid = if v.starts_with('"') {
                    matches!(take_quoted(v, header), Ok((_, rest)) if rest.is_empty())
                } else {
                    !v.is_empty() && v.chars().all(|c| is_token_char(c) || "[]:".contains(c))
                };
                if !valid {
                    return Err(Malformed::header(header, "invalid parameter value"));
                }
            }
            list.push((name.to_owned(), value.map(str::to_owned)));
        }
        Ok(Self(list))
    }

    /// `Some(None)` for a flag parameter, `Some(Some(v))` with a value, `None` if absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The value of `name` with surrounding quotes removed.
    pub fn value(&self, name: &str) -> Option<String> {
        let raw = self.get(name)??;
        if raw.starts_with('"') {
            take_quoted(raw, name).ok().map(|(v, _)| v)
        } else {
            Some(raw.to_owned())
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets (or replaces) a parameter; the value is written as given.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, value) in &self.0 {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_inside_quotes_and_angles_do_not_split() {
        let parts = split_outside(r#""a,b" <sip:x;y,z>;p=1, <sip:w>"#, ',', true, "Contact").unwrap();
        assert_eq!(parts, vec![r#""a,b" <sip:x;y,z>;p=1"#, " <sip:w>"]);
    }

    #[test]
    fn unterminated_quote_is_malformed() {
        assert!(split_outside(r#""Mr. J. User <sip:j@x>"#, ',', true, "To").is_err());
    }

    #[test]
    fn params_tolerate_whitespace_and_reject_empty_names() {
        let p = Params::parse(&[" tag    = 19 ", " lr"], "To").unwrap();
        assert_eq!(p.get("TAG"), Some(Some("19")));
        assert_eq!(p.get("lr"), Some(None));
        assert!(Params::parse(&["", "x"], "Via").is_err());
        assert!(Params::parse(&["branch="], "Via").is_err());
    }

    #[test]
    fn quoted_values_round_trip() {
        let (v, rest) = take_quoted(r#""J Rosenberg \\\"" <x>"#, "From").unwrap();
        assert_eq!(v, r#"J Rosenberg \""#);
        assert_eq!(rest, " <x>");
        assert_eq!(quote(&v), r#""J Rosenberg \\\"""#);
    }
}
