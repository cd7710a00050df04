//! The rows behind the collections, and the rules Creatio applies when they are written:
//! defaults for omitted columns (§3.1 value conventions), server-owned audit columns, lookups
//! that must point at existing rows, and for communications the `SearchNumber` the server
//! computes and the owner's flat phone column it mirrors the number into (§4.1, §9 point 5).

use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::filter::Value;
use super::schema::{self, Kind, Schema};
use super::time::{EMPTY_DATE, parse_instant};

/// The zero GUID, Creatio's empty lookup.
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// `CommunicationType` ids (§4.1, `CommunicationTypeConsts.Base.cs`).
pub mod comm_type {
    pub const WORK_PHONE: &str = "3dddb3cc-53ee-49c4-a71f-e9e257f59e49";
    pub const MOBILE_PHONE: &str = "d4a2dc80-30ca-df11-9b2a-001d60e938c6";
    pub const HOME_PHONE: &str = "0da6a26b-d7bc-df11-b00f-001d60e938c6";
    pub const MAIN_PHONE: &str = "6a3fb10c-67cc-df11-9b2a-001d60e938c6";
    pub const ADDITIONAL_PHONE: &str = "2b387201-67cc-df11-9b2a-001d60e938c6";
    pub const OTHER_PHONE: &str = "21c0d693-9a52-43fa-b7f1-c6d8b53975d4";
    pub const FAX: &str = "9a7ab41b-67cc-df11-9b2a-001d60e938c6";
    pub const EXTENSION: &str = "e9d91e45-8d92-4e38-95a0-ef8aa28c9e7a";
    pub const EMAIL: &str = "ee1c85c3-cfcb-df11-9b2a-001d60e938c6";
    pub const SKYPE: &str = "09e4bda6-cfcb-df11-9b2a-001d60e938c6";
    pub const WEB: &str = "6a8ba927-67cc-df11-9b2a-001d60e938c6";
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong (400): unknown property, type mismatch, missing required lookup.
    #[error("{message}")]
    Invalid { message: String, kind: &'static str },
    /// The database refused it (500): a duplicate primary key.
    #[error("{0}")]
    Conflict(String),
}

fn invalid(message: impl Into<String>) -> DataError {
    DataError::Invalid {
        message: message.into(),
        kind: "Microsoft.OData.ODataException",
    }
}

type Row = Vec<Json>;

#[derive(Debug, Clone)]
pub struct Table {
    pub schema: Schema,
    rows: Vec<Row>,
}

impl Table {
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn id_of(row: &Row) -> Option<&str> {
        row.first().and_then(Json::as_str)
    }

    pub fn find(&self, id: Uuid) -> Option<&Row> {
        let id = id.to_string();
        self.rows.iter().find(|r| Table::id_of(r) == Some(id.as_str()))
    }

    fn position(&self, id: Uuid) -> Option<usize> {
        let id = id.to_string();
        self.rows.iter().position(|r| Table::id_of(r) == Some(id.as_str()))
    }

    pub fn cell<'a>(&self, row: &'a [Json], column: &str) -> Option<&'a Json> {
        let index = self.schema.columns.iter().position(|c| c.name == column)?;
        row.get(index)
    }
}

/// Every collection's rows.
#[derive(Debug, Clone)]
pub struct Store {
    tables: Vec<Table>,
}

/// Who writes and when: the audit columns of a write.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub author: &'a str,
    pub at: &'a str,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            tables: schema::all()
                .into_iter()
                .map(|schema| Table {
                    schema,
                    rows: Vec::new(),
                })
                .collect(),
        }
    }
}

impl Store {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.schema.name == name)
    }

    fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.schema.name == name)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.iter()
    }

    /// Creates a row from a POST body; returns its id. `new_id` is used unless the body has `Id`.
    pub fn insert(
        &mut self,
        collection: &str,
        body: &Map<String, Json>,
        new_id: Uuid,
        stamp: Stamp<'_>,
    ) -> Result<Uuid, DataError> {
        let table = self
            .table(collection)
            .ok_or_else(|| DataError::NotFound(format!("collection {collection} not found")))?;
        let mut row: Row = table.schema.columns.iter().map(|c| empty(c.kind)).collect();
        let assigned = self.assign(&table.schema, &mut row, body, true)?;
        let id = match assigned.first().and_then(Json::as_str).map(Uuid::try_parse) {
            Some(Ok(id)) if !id.is_nil() => id,
            _ => new_id,
        };
        if table.find(id).is_some() {
            return Err(DataError::Conflict(format!(
                "Violation of PRIMARY KEY constraint 'PK{collection}Id'. Cannot insert duplicate key {id}"
            )));
        }
        let mut row = assigned;
        set(&table.schema, &mut row, "Id", Json::String(id.to_string()));
        for column in ["CreatedById", "ModifiedById"] {
            set(&table.schema, &mut row, column, Json::String(stamp.author.to_owned()));
        }
        for column in ["CreatedOn", "ModifiedOn"] {
            set(&table.schema, &mut row, column, Json::String(stamp.at.to_owned()));
        }
        if collection == schema::CALL
            && cell(&table.schema, &row, "DirectionId").and_then(Json::as_str) == Some(ZERO_GUID)
        {
            set(
                &table.schema,
                &mut row,
                "DirectionId",
                Json::String(super::seed::DIRECTION_NOT_DEFINED.to_owned()),
            );
        }
        self.check_required(collection, &table.schema, &row)?;
        let row = self.after_write(collection, row, stamp);
        if let Some(table) = self.table_mut(collection) {
            table.rows.push(row);
        }
        Ok(id)
    }

    /// Applies a PATCH body to an existing row.
    pub fn patch(
        &mut self,
        collection: &str,
        id: Uuid,
        body: &Map<String, Json>,
        stamp: Stamp<'_>,
    ) -> Result<(), DataError> {
        let table = self
            .table(collection)
            .ok_or_else(|| DataError::NotFound(format!("collection {collection} not found")))?;
        let position = table
            .position(id)
            .ok_or_else(|| DataError::NotFound(format!("{collection} with Id {id} not found")))?;
        let current = table.rows.get(position).cloned().unwrap_or_default();
        let mut row = self.assign(&table.schema, &mut current.clone(), body, false)?;
        if Table::id_of(&row) != Table::id_of(&current) {
            return Err(invalid("the Id of an existing record cannot be changed"));
        }
        set(
            &table.schema,
            &mut row,
            "ModifiedById",
            Json::String(stamp.author.to_owned()),
        );
        set(&table.schema, &mut row, "ModifiedOn", Json::String(stamp.at.to_owned()));
        self.check_required(collection, &table.schema, &row)?;
        let row = self.after_write(collection, row, stamp);
        if let Some(slot) = self.table_mut(collection).and_then(|t| t.rows.get_mut(position)) {
            *slot = row;
        }
        Ok(())
    }

    pub fn delete(&mut self, collection: &str, id: Uuid) -> Result<(), DataError> {
        let table = self
            .table_mut(collection)
            .ok_or_else(|| DataError::NotFound(format!("collection {collection} not found")))?;
        let position = table
            .position(id)
            .ok_or_else(|| DataError::NotFound(format!("{collection} with Id {id} not found")))?;
        table.rows.remove(position);
        Ok(())
    }

    /// Writes the body's properties into `row` after checking names, types and lookups.
    fn assign(
        &self,
        schema: &Schema,
        row: &mut Row,
        body: &Map<String, Json>,
        creating: bool,
    ) -> Result<Row, DataError> {
        for (name, value) in body {
            if name.starts_with('@') || name.contains("@odata.") {
                continue;
            }
            let Some(index) = schema.columns.iter().position(|c| c.name == name) else {
                if schema.navigation(name).is_some() {
                    return Err(invalid(format!(
                        "navigation property {name} cannot be written; set {name}Id instead"
                    )));
                }
                return Err(invalid(format!(
                    "The property '{name}' does not exist on type 'Terrasoft.Configuration.{}'",
                    schema.name
                )));
            };
            let Some(column) = schema.columns.get(index) else {
                continue;
            };
            if matches!(column.name, "CreatedOn" | "CreatedById" | "ModifiedOn" | "ModifiedById") {
                continue;
            }
            if column.name == "Id" && !creating {
                if value
                    .as_str()
                    .and_then(|s| Uuid::try_parse(s).ok())
                    .map(|u| u.to_string())
                    != row.first().and_then(Json::as_str).map(str::to_owned)
                {
                    return Err(invalid("the Id of an existing record cannot be changed"));
                }
                continue;
            }
            let converted = convert(column.kind, value)
                .map_err(|expected| invalid(format!("cannot convert the value of {name} to {expected}")))?;
            if let (Some(lookup), Some(id)) = (column.lookup, converted.as_str())
                && let Some(target) = lookup.target
                && id != ZERO_GUID
            {
                let exists = Uuid::try_parse(id)
                    .ok()
                    .and_then(|id| self.table(target).and_then(|t| t.find(id)))
                    .is_some();
                if !exists {
                    return Err(invalid(format!("{name}: no {target} with Id {id}")));
                }
            }
            if let Some(slot) = row.get_mut(index) {
                *slot = converted;
            }
        }
        Ok(row.clone())
    }

    fn check_required(&self, collection: &str, schema: &Schema, row: &Row) -> Result<(), DataError> {
        let required = match collection {
            schema::CONTACT_COMMUNICATION => "ContactId",
            schema::ACCOUNT_COMMUNICATION => "AccountId",
            schema::SYS_SETTINGS_VALUE => "SysSettingsId",
            _ => return Ok(()),
        };
        match cell(schema, row, required).and_then(Json::as_str) {
            Some(id) if id != ZERO_GUID => Ok(()),
            _ => Err(invalid(format!("{required} is required"))),
        }
    }

    /// Server-side rules after a communication is saved: `SearchNumber` and the owner's column.
    fn after_write(&mut self, collection: &str, mut row: Row, stamp: Stamp<'_>) -> Row {
        let (owner_collection, owner_column) = match collection {
            schema::CONTACT_COMMUNICATION => (schema::CONTACT, "ContactId"),
            schema::ACCOUNT_COMMUNICATION => (schema::ACCOUNT, "AccountId"),
            _ => return row,
        };
        let Some(table) = self.table(collection) else {
            return row;
        };
        let schema = table.schema.clone();
        let number = cell(&schema, &row, "Number")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let kind = cell(&schema, &row, "CommunicationTypeId")
            .and_then(Json::as_str)
            .unwrap_or(ZERO_GUID)
            .to_owned();
        set(
            &schema,
            &mut row,
            "SearchNumber",
            Json::String(search_number(&kind, &number)),
        );
        let owner = cell(&schema, &row, owner_column)
            .and_then(Json::as_str)
            .and_then(|s| Uuid::try_parse(s).ok());
        if let (Some(owner), Some(flat)) = (owner, mirrored_column(owner_collection, &kind)) {
            let mut patch = Map::new();
            patch.insert(flat.to_owned(), Json::String(number));
            if let Err(error) = self.patch(owner_collection, owner, &patch, stamp) {
                tracing::debug!(%error, "communication owner not updated");
            }
        }
        row
    }

    /// The type of a property path from `collection` (for `$filter` and `$orderby`).
    pub fn kind_of(&self, collection: &str, path: &[String]) -> Result<Kind, String> {
        let schema = &self
            .table(collection)
            .ok_or_else(|| format!("unknown collection {collection}"))?
            .schema;
        match path {
            [] => Err("empty property path".to_owned()),
            [name] => match schema.column(name) {
                Some(column) => Ok(column.kind),
                None if schema.navigation(name).is_some() => Err(format!(
                    "{name} is a navigation property; compare {name}/Id or {name}Id"
                )),
                None => Err(format!(
                    "Could not find a property named '{name}' on type '{collection}'"
                )),
            },
            [navigation, rest @ ..] => {
                let lookup = schema.navigation(navigation).and_then(|c| c.lookup).ok_or_else(|| {
                    format!("Could not find a navigation property named '{navigation}' on type '{collection}'")
                })?;
                match (rest, lookup.target) {
                    ([id], _) if id == "Id" => Ok(Kind::Guid),
                    (_, Some(target)) => self.kind_of(target, rest),
                    (_, None) => Err(format!(
                        "{navigation} points to a collection the stand-in does not serve"
                    )),
                }
            }
        }
    }

    /// The value of a property path on one row (`Null` through an empty lookup).
    pub fn value_of(&self, collection: &str, row: &Row, path: &[String]) -> Value {
        let Some(table) = self.table(collection) else {
            return Value::Null;
        };
        match path {
            [name] => match (table.schema.column(name), table.cell(row, name)) {
                (Some(column), Some(json)) => typed(column.kind, json),
                _ => Value::Null,
            },
            [navigation, rest @ ..] => {
                let Some(column) = table.schema.navigation(navigation) else {
                    return Value::Null;
                };
                let id = table
                    .cell(row, column.name)
                    .and_then(Json::as_str)
                    .and_then(|s| Uuid::try_parse(s).ok())
                    .filter(|id| !id.is_nil());
                let Some(id) = id else {
                    return Value::Null;
                };
                if rest.len() == 1 && rest.first().is_some_and(|s| s == "Id") {
                    return Value::Guid(id);
                }
                let Some(target) = column.lookup.and_then(|l| l.target) else {
                    return Value::Null;
                };
                match self.table(target).and_then(|t| t.find(id)) {
                    Some(target_row) => self.value_of(target, target_row, rest),
                    None => Value::Null,
                }
            }
            [] => Value::Null,
        }
    }
}

fn cell<'a>(schema: &Schema, row: &'a Row, column: &str) -> Option<&'a Json> {
    let index = schema.columns.iter().position(|c| c.name == column)?;
    row.get(index)
}

fn set(schema: &Schema, row: &mut Row, column: &str, value: Json) {
    if let Some(slot) = schema
        .columns
        .iter()
        .position(|c| c.name == column)
        .and_then(|i| row.get_mut(i))
    {
        *slot = value;
    }
}

/// The "empty" value of a column (§3.1): zero GUID, `""`, 0, false, `0001-01-01T00:00:00Z`.
pub fn empty(kind: Kind) -> Json {
    match kind {
        Kind::Guid => Json::String(ZERO_GUID.to_owned()),
        Kind::Text => Json::String(String::new()),
        Kind::Int => Json::from(0),
        Kind::Bool => Json::Bool(false),
        Kind::DateTime => Json::String(EMPTY_DATE.to_owned()),
    }
}

/// A written JSON value as the column stores it, or the expected type's name.
fn convert(kind: Kind, value: &Json) -> Result<Json, &'static str> {
    if value.is_null() {
        return Ok(empty(kind));
    }
    match kind {
        Kind::Guid => value
            .as_str()
            .and_then(|s| Uuid::try_parse(s).ok())
            .map(|u| Json::String(u.to_string()))
            .ok_or("Edm.Guid"),
        Kind::Text => value.as_str().map(|s| Json::String(s.to_owned())).ok_or("Edm.String"),
        Kind::Int => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Json::from)
            .ok_or("Edm.Int32"),
        Kind::Bool => value.as_bool().map(Json::Bool).ok_or("Edm.Boolean"),
        Kind::DateTime => value
            .as_str()
            .and_then(parse_instant)
            .map(Json::String)
            .ok_or("Edm.DateTimeOffset"),
    }
}

fn typed(kind: Kind, json: &Json) -> Value {
    match kind {
        Kind::Guid => json
            .as_str()
            .and_then(|s| Uuid::try_parse(s).ok())
            .map_or(Value::Null, Value::Guid),
        Kind::Text => json.as_str().map_or(Value::Null, |s| Value::Text(s.to_owned())),
        Kind::Int => json.as_i64().map_or(Value::Null, Value::Int),
        Kind::Bool => json.as_bool().map_or(Value::Null, Value::Bool),
        Kind::DateTime => json
            .as_str()
            .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
            .map_or(Value::Null, Value::DateTime),
    }
}

/// `SearchNumber` as Creatio fills it on save (§4.1): the digits of the number reversed, or
/// the lower-cased address for e-mail.
pub fn search_number(communication_type: &str, number: &str) -> String {
    if communication_type == comm_type::EMAIL {
        return number.to_lowercase();
    }
    number.chars().rev().filter(char::is_ascii_digit).collect()
}

/// The owner's flat column a communication type is mirrored into (§4.1).
fn mirrored_column(owner: &str, communication_type: &str) -> Option<&'static str> {
    use comm_type::*;
    match (owner, communication_type) {
        (schema::CONTACT, WORK_PHONE) => Some("Phone"),
        (schema::CONTACT, MOBILE_PHONE) => Some("MobilePhone"),
        (schema::CONTACT, HOME_PHONE) => Some("HomePhone"),
        (schema::CONTACT, EMAIL) => Some("Email"),
        (schema::CONTACT, SKYPE) => Some("Skype"),
        (schema::ACCOUNT, MAIN_PHONE) => Some("Phone"),
        (schema::ACCOUNT, ADDITIONAL_PHONE) => Some("AdditionalPhone"),
        (schema::ACCOUNT, FAX) => Some("Fax"),
        (schema::ACCOUNT, WEB) => Some("Web"),
        _ => None,
    }
}
