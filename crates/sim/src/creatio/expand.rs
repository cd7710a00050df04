//! `$select` and `$expand` as OData 4 writes them, including the options nested in an expand
//! item's parentheses: `$expand=Contact($select=Id,Name;$expand=Account($select=Id,Name))`.
//!
//! Grammar (OData ABNF, reduced to what the stand-in serves): an expand item is a navigation
//! property, optionally followed by `(` one or more options separated by `;` `)`. Inside, only
//! `$select` and `$expand` are served; `$filter`, `$orderby`, `$top`, `$skip`, `$count`,
//! `$levels` and `$search` are valid OData but answered 400 here, so a client that relies on
//! them finds out in tests rather than in production. Empty parentheses, a trailing `;`, an
//! unbalanced bracket or an option given twice are syntax errors (400), as on the real server.
//!
//! Depth (`[INF]`): ASP.NET OData, which Creatio's OData 4 service appears to be built on,
//! refuses an expand path deeper than its `MaxExpansionDepth`, 2 unless configured. The
//! stand-in applies the same limit, which also bounds the parser's recursion on hostile input.

use super::odata::ODataError;
use super::store::{Store, Table};

/// How deep `$expand` may nest: `Contact($expand=Account)` is depth 2.
pub const MAX_EXPAND_DEPTH: usize = 2;

/// What an entity answer carries: its columns (all, or the selected ones) and the lookups
/// expanded into nested objects, each shaped in turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// `None` when every column is wanted (no `$select`, or `$select=*`).
    pub select: Option<Vec<String>>,
    pub expand: Vec<Expand>,
}

/// One expanded navigation property and the shape of the object it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expand {
    pub navigation: String,
    pub shape: Shape,
}

impl Shape {
    /// The `@odata.context` select list of this shape: selected columns, then each expansion
    /// as `Nav(<its list>)`, empty parentheses when it brings everything.
    pub fn context_parts(&self) -> Vec<String> {
        let mut parts: Vec<String> = self.select.clone().unwrap_or_default();
        parts.extend(
            self.expand
                .iter()
                .map(|e| format!("{}({})", e.navigation, e.shape.context_parts().join(","))),
        );
        parts
    }
}

/// Reads a `$select` value against `table`'s columns. Empty items between commas are skipped,
/// as the stand-in always has.
pub fn parse_select(table: &Table, value: &str) -> Result<Option<Vec<String>>, ODataError> {
    let mut names = Vec::new();
    for item in split_top_level(value, b',')? {
        let name = item.trim();
        if name.is_empty() {
            continue;
        }
        if name != "*" && table.schema.column(name).is_none() {
            return Err(ODataError::bad_request(format!(
                "Could not find a property named '{name}' on type '{}'",
                table.schema.name
            )));
        }
        names.push(name.to_owned());
    }
    Ok((!names.iter().any(|n| n == "*")).then_some(names))
}

/// Reads a `$expand` value against `table`'s navigation properties; `depth` is the nesting
/// level of its items (1 for the query's own `$expand`).
pub fn parse_expand(store: &Store, table: &Table, value: &str, depth: usize) -> Result<Vec<Expand>, ODataError> {
    let mut items = Vec::new();
    for item in split_top_level(value, b',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        items.push(parse_item(store, table, item, depth)?);
    }
    Ok(items)
}

/// Names are bound before the depth is checked, as the real server validates the parsed tree:
/// an unknown name is reported even in a path that is also too deep.
fn parse_item(store: &Store, table: &Table, item: &str, depth: usize) -> Result<Expand, ODataError> {
    let (navigation, nested) = match item.split_once('(') {
        None => (item, None),
        Some((navigation, rest)) => {
            // `split_top_level` has checked the balance, so the item's own bracket closes at
            // its very end or the text after it is stray.
            let inner = rest.strip_suffix(')').ok_or_else(|| {
                ODataError::bad_request(format!("unexpected text after ')' in $expand item '{item}'"))
            })?;
            (navigation.trim_end(), Some(inner))
        }
    };
    let collection = table.schema.name;
    let target = table
        .schema
        .navigation(navigation)
        .and_then(|c| c.lookup)
        .and_then(|l| l.target)
        .and_then(|t| store.table(t))
        .ok_or_else(|| {
            ODataError::bad_request(format!(
                "Could not find a navigation property named '{navigation}' on type '{collection}'"
            ))
        })?;
    if depth > MAX_EXPAND_DEPTH {
        return Err(ODataError::bad_request(format!(
            "The request includes a $expand path which is too deep. The maximum depth allowed is \
             {MAX_EXPAND_DEPTH}."
        )));
    }
    let shape = match nested {
        None => Shape::default(),
        Some(inner) => parse_nested(store, target, inner, item, depth)?,
    };
    Ok(Expand {
        navigation: navigation.to_owned(),
        shape,
    })
}

/// The options between an expand item's parentheses.
fn parse_nested(store: &Store, target: &Table, inner: &str, item: &str, depth: usize) -> Result<Shape, ODataError> {
    let mut shape = Shape::default();
    let (mut selected, mut expanded) = (false, false);
    for option in split_top_level(inner, b';')? {
        let option = option.trim();
        let Some((name, value)) = option.split_once('=') else {
            return Err(ODataError::bad_request(format!(
                "'{option}' is not a query option in $expand item '{item}'"
            )));
        };
        match name.trim() {
            "$select" => {
                if std::mem::replace(&mut selected, true) {
                    return Err(twice("$select", item));
                }
                shape.select = parse_select(target, value)?;
            }
            "$expand" => {
                if std::mem::replace(&mut expanded, true) {
                    return Err(twice("$expand", item));
                }
                shape.expand = parse_expand(store, target, value, depth + 1)?;
            }
            known @ ("$filter" | "$orderby" | "$top" | "$skip" | "$count" | "$levels" | "$search") => {
                return Err(ODataError::bad_request(format!(
                    "{known} inside $expand is not supported by the stand-in; use $select and $expand"
                )));
            }
            other => {
                return Err(ODataError::bad_request(format!(
                    "unknown query option '{other}' in $expand item '{item}'"
                )));
            }
        }
    }
    Ok(shape)
}

fn twice(option: &str, item: &str) -> ODataError {
    ODataError::bad_request(format!(
        "Query option '{option}' was specified more than once in $expand item '{item}'"
    ))
}

/// Splits `text` at `separator` where it stands outside brackets and string literals. An
/// unbalanced bracket or an unterminated literal is the real parser's syntax error.
fn split_top_level(text: &str, separator: u8) -> Result<Vec<&str>, ODataError> {
    let unbalanced = || ODataError::bad_request(format!("Found an unbalanced bracket expression in '{text}'"));
    let mut parts = Vec::new();
    let (mut depth, mut in_literal, mut start) = (0usize, false, 0);
    for (index, byte) in text.bytes().enumerate() {
        match byte {
            // A doubled quote inside a literal closes and reopens it, which toggling handles.
            b'\'' => in_literal = !in_literal,
            _ if in_literal => {}
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
            _ if byte == separator && depth == 0 => {
                parts.push(text.get(start..index).unwrap_or_default());
                start = index + 1;
            }
            _ => {}
        }
    }
    if in_literal {
        return Err(ODataError::bad_request(format!(
            "unterminated string literal in '{text}'"
        )));
    }
    if depth != 0 {
        return Err(unbalanced());
    }
    parts.push(text.get(start..).unwrap_or_default());
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_respects_brackets_and_literals() {
        assert_eq!(
            split_top_level("A($select=B,C),D", b',').unwrap(),
            ["A($select=B,C)", "D"]
        );
        assert_eq!(
            split_top_level("$filter=N eq 'a;(b'; $top=1", b';').unwrap(),
            ["$filter=N eq 'a;(b'", " $top=1"]
        );
        assert!(split_top_level("A(B", b',').is_err());
        assert!(split_top_level("A)B(", b',').is_err());
        assert!(split_top_level("'open", b',').is_err());
    }
}
