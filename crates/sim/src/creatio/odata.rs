//! OData 4 reads: query options (`$filter $select $expand $orderby $top $skip $count`, with
//! `$select` and `$expand` nested in an expand item, see `expand.rs`), the collection and
//! entity answers with their `@odata.context`, and the error body (§3.1, §9 point 4).

use std::cmp::Ordering;

use serde_json::{Map, Value as Json, json};

use super::expand::{self, Shape};
use super::filter::{self, Expr};
use super::store::{Store, Table};

/// An OData failure, answered as `{"error":{"code":"","message":…,"innererror":{…}}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataError {
    pub status: u16,
    pub message: String,
    /// The .NET exception type put in `innererror.type`.
    pub kind: &'static str,
}

impl ODataError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ODataError {
            status: 400,
            message: message.into(),
            kind: "Microsoft.OData.ODataException",
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ODataError {
            status: 404,
            message: message.into(),
            kind: "Terrasoft.Common.ItemNotFoundException",
        }
    }

    /// The body of §3.1 / §9 point 4.
    pub fn body(&self) -> Json {
        json!({
            "error": {
                "code": "",
                "message": self.message,
                "innererror": {"message": self.message, "type": self.kind, "stacktrace": ""}
            }
        })
    }
}

/// The query options of one GET.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub filter: Option<Expr>,
    /// `$select` and `$expand`: what each entity of the answer carries.
    pub shape: Shape,
    pub orderby: Vec<(Vec<String>, bool)>,
    pub top: Option<usize>,
    pub skip: usize,
    pub count: bool,
}

/// Decodes one query-string component: `%XX` escapes, and `+` as a space as ASP.NET reads it.
pub fn percent_decode(text: &str) -> Result<String, ODataError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ODataError::bad_request("bad percent-encoding in the query"))?;
                out.push(hex);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ODataError::bad_request("the query is not UTF-8"))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number(name: &str, value: &str) -> Result<usize, ODataError> {
    value
        .trim()
        .parse()
        .map_err(|_| ODataError::bad_request(format!("{name} must be a non-negative integer, not '{value}'")))
}

/// Reads and checks the options against `collection`.
pub fn parse_options(store: &Store, collection: &str, query: &str) -> Result<Options, ODataError> {
    let table = store
        .table(collection)
        .ok_or_else(|| ODataError::not_found(format!("collection {collection} not found")))?;
    let mut options = Options::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name)?, percent_decode(value)?);
        match name.as_str() {
            "$filter" => {
                let expr = filter::parse(&value).map_err(|e| ODataError::bad_request(e.to_string()))?;
                expr.check(&|path| store.kind_of(collection, path))
                    .map_err(|e| ODataError::bad_request(e.message))?;
                options.filter = Some(expr);
            }
            "$select" => options.shape.select = expand::parse_select(table, &value)?,
            "$expand" => options
                .shape
                .expand
                .extend(expand::parse_expand(store, table, &value, 1)?),
            "$orderby" => {
                for item in list(&value) {
                    let mut words = item.split_whitespace();
                    let path: Vec<String> = words.next().unwrap_or_default().split('/').map(str::to_owned).collect();
                    let descending = match words.next() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(other) => {
                            return Err(ODataError::bad_request(format!("bad $orderby direction '{other}'")));
                        }
                    };
                    if words.next().is_some() {
                        return Err(ODataError::bad_request(format!("bad $orderby item '{item}'")));
                    }
                    store.kind_of(collection, &path).map_err(ODataError::bad_request)?;
                    options.orderby.push((path, descending));
                }
            }
            "$top" => options.top = Some(number("$top", &value)?),
            "$skip" => options.skip = number("$skip", &value)?,
            "$count" => {
                options.count = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(ODataError::bad_request(format!(
                            "$count must be true or false, not '{other}'"
                        )));
                    }
                }
            }
            "$format" | "$search" | "$apply" | "$compute" | "$levels" => {
                return Err(ODataError::bad_request(format!("{name} is not supported")));
            }
            other if other.starts_with('$') => {
                return Err(ODataError::bad_request(format!("unknown query option {other}")));
            }
            _ => {}
        }
    }
    Ok(options)
}

/// One entity as JSON: every column (or the selected ones) and the expanded lookups, each a
/// nested object shaped by its own options, or `null` through an empty lookup.
pub fn entity(store: &Store, table: &Table, row: &[Json], shape: &Shape) -> Map<String, Json> {
    let mut object = Map::new();
    for (column, value) in table.schema.columns.iter().zip(row) {
        let selected = shape
            .select
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == column.name));
        if selected {
            object.insert(column.name.to_owned(), value.clone());
        }
    }
    for expansion in &shape.expand {
        let Some(column) = table.schema.navigation(&expansion.navigation) else {
            continue;
        };
        let target = column
            .lookup
            .and_then(|l| l.target)
            .and_then(|t| store.table(t))
            .and_then(|t| {
                let id = table.cell(row, column.name)?.as_str()?;
                let id = uuid::Uuid::try_parse(id).ok()?;
                t.find(id).map(|r| (t, r))
            });
        let nested = match target {
            Some((t, r)) => Json::Object(entity(store, t, r, &expansion.shape)),
            None => Json::Null,
        };
        object.insert(expansion.navigation.clone(), nested);
    }
    object
}

/// `<Collection>(<select>,<Nav>(<nested>))`, the context fragment of an answer shaped by options.
pub fn context_fragment(collection: &str, shape: &Shape) -> String {
    let parts = shape.context_parts();
    if parts.is_empty() {
        collection.to_owned()
    } else {
        format!("{collection}({})", parts.join(","))
    }
}

/// The rows a GET selects, in order, before paging; and how many match.
pub fn select_rows<'a>(store: &'a Store, table: &'a Table, options: &Options) -> Vec<&'a Vec<Json>> {
    let collection = table.schema.name;
    let mut rows: Vec<&Vec<Json>> = table
        .rows()
        .filter(|row| {
            options
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&|path| store.value_of(collection, row, path)))
        })
        .collect();
    if !options.orderby.is_empty() {
        rows.sort_by(|a, b| {
            for (path, descending) in &options.orderby {
                let ordering = filter::order(
                    &store.value_of(collection, a, path),
                    &store.value_of(collection, b, path),
                );
                let ordering = if *descending { ordering.reverse() } else { ordering };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
    }
    rows
}
