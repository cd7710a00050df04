//! Serde types for the OData 4 payloads the panel reads and writes (§3.1, §4, §5.1), the
//! AuthService login exchange (§2.1) and the Identity Service token answer (§2.4).
//!
//! Conventions (§3.1): scalar columns keep their schema name, lookups appear as `<Column>Id`
//! holding a lower-case GUID, an empty lookup is the zero GUID (read here as `None`), an empty
//! date is `0001-01-01T00:00:00Z` (also `None`), empty text is `""`. Unknown fields are
//! ignored everywhere: Creatio adds columns per package and version.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::{Uuid, uuid};

/// `CallDirection` "Incoming" (§5.1, `telephony-enums.js`, `CtiConstants.CTIBase.js`).
pub const CALL_DIRECTION_INCOMING: Uuid = uuid!("1d96a65f-2131-4916-8825-2d142b1000b2");
/// `CallDirection` "Outgoing" (§5.1).
pub const CALL_DIRECTION_OUTGOING: Uuid = uuid!("53f71b5f-7e17-4cf5-bf14-6a59212db422");
/// `CallDirection` "Not defined", also the column default (§5.1).
pub const CALL_DIRECTION_NOT_DEFINED: Uuid = uuid!("c072be2c-3d82-4468-9d4a-6db47d1f4cca");

/// `CommunicationType` "Work phone" (§4.1, `CommunicationTypeConsts.Base.cs`).
pub const COMMUNICATION_TYPE_WORK_PHONE: Uuid = uuid!("3dddb3cc-53ee-49c4-a71f-e9e257f59e49");
/// `CommunicationType` "Mobile phone" (§4.1).
pub const COMMUNICATION_TYPE_MOBILE_PHONE: Uuid = uuid!("d4a2dc80-30ca-df11-9b2a-001d60e938c6");
/// `CommunicationType` "Home phone" (§4.1).
pub const COMMUNICATION_TYPE_HOME_PHONE: Uuid = uuid!("0da6a26b-d7bc-df11-b00f-001d60e938c6");
/// `CommunicationType` "Main phone" of an account (§4.1).
pub const COMMUNICATION_TYPE_MAIN_PHONE: Uuid = uuid!("6a3fb10c-67cc-df11-9b2a-001d60e938c6");
/// `CommunicationType` "Additional phone" of an account (§4.1).
pub const COMMUNICATION_TYPE_ADDITIONAL_PHONE: Uuid = uuid!("2b387201-67cc-df11-9b2a-001d60e938c6");
/// `CommunicationType` "Other phone" (§4.1).
pub const COMMUNICATION_TYPE_OTHER_PHONE: Uuid = uuid!("21c0d693-9a52-43fa-b7f1-c6d8b53975d4");
/// `CommunicationType` "Fax" (§4.1).
pub const COMMUNICATION_TYPE_FAX: Uuid = uuid!("9a7ab41b-67cc-df11-9b2a-001d60e938c6");
/// `CommunicationType` "Extension" (§4.1).
pub const COMMUNICATION_TYPE_EXTENSION: Uuid = uuid!("e9d91e45-8d92-4e38-95a0-ef8aa28c9e7a");

/// The communication types that carry phone numbers. Creatio itself filters by the category
/// code `Phone` through `ComTypebyCommunication` (§4.2 step 4), which OData cannot reach
/// without an extra join; this list is the `[INF]` equivalent, and configurable in
/// [`crate::identify::IdentifyConfig`]. Fax is included: account main, additional and fax
/// numbers are all mirrored into the account's phone columns (§4.1).
pub const PHONE_COMMUNICATION_TYPES: [Uuid; 8] = [
    COMMUNICATION_TYPE_WORK_PHONE,
    COMMUNICATION_TYPE_MOBILE_PHONE,
    COMMUNICATION_TYPE_HOME_PHONE,
    COMMUNICATION_TYPE_MAIN_PHONE,
    COMMUNICATION_TYPE_ADDITIONAL_PHONE,
    COMMUNICATION_TYPE_OTHER_PHONE,
    COMMUNICATION_TYPE_FAX,
    COMMUNICATION_TYPE_EXTENSION,
];

/// `ContactType` "Employee": internal extensions identify employees only (§4.2 step 3).
pub const CONTACT_TYPE_EMPLOYEE: Uuid = uuid!("60733efc-f36b-1410-a883-16d83cab0980");

/// A UTC instant as Creatio writes it: `2024-09-16T07:46:44.5045174Z` (§3.1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreatioTime(OffsetDateTime);

impl CreatioTime {
    /// Seconds from `self` to `later`, rounded down, never negative: Creatio's duration
    /// columns are whole seconds (§5.1) and a clock step backwards must not write `-1`.
    pub fn whole_seconds_until(self, later: CreatioTime) -> i64 {
        (later.0 - self.0).whole_seconds().max(0)
    }

    fn is_empty_sentinel(&self) -> bool {
        self.0.year() <= 1
    }
}

impl From<SystemTime> for CreatioTime {
    fn from(t: SystemTime) -> Self {
        CreatioTime(OffsetDateTime::from(t).to_offset(UtcOffset::UTC))
    }
}

impl From<CreatioTime> for SystemTime {
    fn from(t: CreatioTime) -> Self {
        SystemTime::from(t.0)
    }
}

impl fmt::Display for CreatioTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");
        match self.0.format(&format) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl fmt::Debug for CreatioTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for CreatioTime {
    type Err = time::error::Parse;

    /// RFC 3339 with any offset; a bare local-looking timestamp is taken as UTC (`[INF]`: some
    /// builds drop the `Z` on `Edm.DateTimeOffset`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(t) => Ok(CreatioTime(t.to_offset(UtcOffset::UTC))),
            Err(first) => {
                let bare =
                    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
                PrimitiveDateTime::parse(text, &bare)
                    .map(|t| CreatioTime(t.assume_utc()))
                    .map_err(|_| first)
            }
        }
    }
}

impl Serialize for CreatioTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CreatioTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads a date column, mapping null and the `0001-01-01T00:00:00Z` "empty" marker to `None`.
fn empty_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CreatioTime>, D::Error> {
    let value = Option::<CreatioTime>::deserialize(d)?;
    Ok(value.filter(|t| !t.is_empty_sentinel()))
}

/// Reads a lookup column, mapping null and the zero GUID to `None`.
fn empty_lookup<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let value = Option::<Uuid>::deserialize(d)?;
    Ok(value.filter(|id| !id.is_nil()))
}

/// Reads a text column, mapping null to `""`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Reads a message that should be text but may arrive as null or as a nested object.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Reads an integer column, mapping null to 0.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.unwrap_or_default())
}

/// A collection answer: `{"@odata.context": "...", "value": [...], "@odata.count": n}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Collection<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.count", default)]
    pub count: Option<u64>,
}

/// `Contact`, the columns the panel shows or needs to open a card (§4.4).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub account_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub type_id: Option<Uuid>,
    #[serde(default, deserialize_with = "text")]
    pub job_title: String,
    #[serde(default, deserialize_with = "text")]
    pub phone: String,
    #[serde(default, deserialize_with = "text")]
    pub mobile_phone: String,
    #[serde(default, deserialize_with = "text")]
    pub home_phone: String,
    #[serde(default, deserialize_with = "text")]
    pub email: String,
    /// The account the contact works for, when asked for by an `$expand=Account` nested in the
    /// contact's own expansion; `null` (read as `None`) when the contact has no account, and
    /// absent when not asked for or when the server ignored the nested option.
    #[serde(default)]
    pub account: Option<Account>,
}

/// `Account`, the columns the panel shows (§4.4).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub type_id: Option<Uuid>,
    #[serde(default, deserialize_with = "text")]
    pub phone: String,
    #[serde(default, deserialize_with = "text")]
    pub additional_phone: String,
}

/// A `ContactCommunication` row, with the contact when asked for by `$expand=Contact` (§4.1).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactCommunication {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub number: String,
    #[serde(default, deserialize_with = "text")]
    pub search_number: String,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub contact_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub communication_type_id: Option<Uuid>,
    #[serde(default)]
    pub contact: Option<Contact>,
}

/// An `AccountCommunication` row, with the account when asked for by `$expand=Account`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountCommunication {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub number: String,
    #[serde(default, deserialize_with = "text")]
    pub search_number: String,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub account_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub communication_type_id: Option<Uuid>,
    #[serde(default)]
    pub account: Option<Account>,
}

/// A `Call` row as Creatio returns it (§5.1): every column the panel writes, plus the audit
/// columns that tell whose history it appears in (§5.4).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Call {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub caption: String,
    #[serde(default, deserialize_with = "text")]
    pub integration_id: String,
    #[serde(default, deserialize_with = "text")]
    pub parent_call_id: String,
    #[serde(default, deserialize_with = "text")]
    pub caller_id: String,
    #[serde(default, deserialize_with = "text")]
    pub called_id: String,
    #[serde(default, deserialize_with = "text")]
    pub redirecting_id: String,
    #[serde(default, deserialize_with = "text")]
    pub redirection_id: String,
    #[serde(default, deserialize_with = "empty_date")]
    pub start_date: Option<CreatioTime>,
    #[serde(default, deserialize_with = "empty_date")]
    pub end_date: Option<CreatioTime>,
    #[serde(default, deserialize_with = "int")]
    pub duration: i64,
    #[serde(default, deserialize_with = "int")]
    pub before_connection_time: i64,
    #[serde(default, deserialize_with = "int")]
    pub talk_time: i64,
    #[serde(default, deserialize_with = "int")]
    pub hold_time: i64,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub direction_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub contact_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub account_id: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_date")]
    pub created_on: Option<CreatioTime>,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub created_by_id: Option<Uuid>,
}

/// A `Call` row with its contact and account expanded (`$expand=Contact,Account`), as the
/// call history reads it (§5.4).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallWithParties {
    #[serde(flatten)]
    pub call: Call,
    #[serde(default)]
    pub contact: Option<Contact>,
    #[serde(default)]
    pub account: Option<Account>,
}

/// A `SysAdminUnit` row: a user (or role) by its login, and the user's contact, which is the
/// `CreatedById` of everything the user writes (§5.4, `[INF]`: the OData name of the lookup).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SysAdminUnit {
    pub id: Uuid,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "empty_lookup")]
    pub contact_id: Option<Uuid>,
}

/// The body of `POST <odata>/Call`. The client chooses `Id` (allowed by ACAD-ODATA-STREAM), so a
/// retried POST can be recognised instead of creating a second record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewCall {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caption: String,
    pub integration_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent_call_id: String,
    pub caller_id: String,
    pub called_id: String,
    pub direction_id: Uuid,
    pub start_date: CreatioTime,
}

/// The body of `PATCH <odata>/Call(<Id>)`: only the columns that change are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirecting_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<CreatioTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_connection_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<i64>,
}

/// An OData error answer `{"error":{"code","message","innererror":{...}}}` (§3.1 `[INF/3P]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataErrorBody {
    pub error: ODataError,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataError {
    #[serde(default, deserialize_with = "lenient_text")]
    pub code: String,
    #[serde(default, deserialize_with = "lenient_text")]
    pub message: String,
    #[serde(default)]
    pub innererror: Option<InnerError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InnerError {
    #[serde(default, deserialize_with = "lenient_text")]
    pub message: String,
    #[serde(rename = "type", default, deserialize_with = "lenient_text")]
    pub kind: String,
    #[serde(default)]
    pub internalexception: Option<Box<InnerError>>,
}

impl ODataError {
    /// Reads an error body; `None` when the body is not an OData error (HTML, empty).
    pub fn parse(body: &[u8]) -> Option<ODataError> {
        serde_json::from_slice::<ODataErrorBody>(body).ok().map(|b| b.error)
    }

    /// The most specific message: the innermost non-empty one, as PY-CLIENT reads it.
    pub fn best_message(&self) -> &str {
        let mut best = self.message.as_str();
        let mut inner = self.innererror.as_ref();
        while let Some(e) = inner {
            if !e.message.is_empty() {
                best = e.message.as_str();
            }
            inner = e.internalexception.as_deref();
        }
        best
    }
}

/// A `SysSettingsValue` row with its setting expanded: where Creatio keeps system setting
/// values such as `SearchNumberLength` (`[INF]`: the reference names the settings, §4.2, but
/// not how OData exposes their values).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SysSettingsValue {
    #[serde(default)]
    pub integer_value: Option<i64>,
    #[serde(default)]
    pub sys_settings: Option<SysSettingsRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SysSettingsRef {
    #[serde(default, deserialize_with = "text")]
    pub code: String,
}

/// `POST <app>/ServiceModel/AuthService.svc/Login` body (§2.1).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoginRequest<'a> {
    pub user_name: &'a str,
    pub user_password: &'a str,
}

impl fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("user_name", &self.user_name)
            .finish_non_exhaustive()
    }
}

/// The login answer, HTTP 200 in both outcomes: `Code` 0 success, 1 refused (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoginResponse {
    pub code: i64,
    #[serde(default, deserialize_with = "lenient_text")]
    pub message: String,
    #[serde(default)]
    pub exception: Option<LoginException>,
    #[serde(default)]
    pub password_change_url: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoginException {
    #[serde(default, deserialize_with = "lenient_text")]
    pub message: String,
    #[serde(rename = "Type", default, deserialize_with = "lenient_text")]
    pub kind: String,
}

impl LoginResponse {
    pub const SUCCESS: i64 = 0;

    /// Why the login was refused, from `Message` or else `Exception.Message`.
    pub fn reason(&self) -> String {
        let exception = self.exception.as_ref().map(|e| e.message.as_str());
        match (self.message.trim(), exception) {
            ("", Some(m)) if !m.trim().is_empty() => m.trim().to_owned(),
            ("", _) => format!("login refused (code {})", self.code),
            (m, _) => m.to_owned(),
        }
    }
}

/// Identity Service `connect/token` success answer (§2.4).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub token_type: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// Identity Service error answer (RFC 6749 §5.2 shape).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creatio_time_prints_seven_fraction_digits_and_z() {
        let t: CreatioTime = "2024-09-16T07:46:44.5045174Z".parse().unwrap();
        assert_eq!(t.to_string(), "2024-09-16T07:46:44.5045174Z");
        let offset: CreatioTime = "2024-09-16T10:46:44+03:00".parse().unwrap();
        assert_eq!(offset.to_string(), "2024-09-16T07:46:44.0000000Z");
        let bare: CreatioTime = "2024-09-16T07:46:44.5".parse().unwrap();
        assert_eq!(bare.to_string(), "2024-09-16T07:46:44.5000000Z");
        assert!("yesterday".parse::<CreatioTime>().is_err());
    }

    #[test]
    fn durations_are_whole_seconds_and_never_negative() {
        let a: CreatioTime = "2024-01-01T00:00:00Z".parse().unwrap();
        let b: CreatioTime = "2024-01-01T00:01:05.9Z".parse().unwrap();
        assert_eq!(a.whole_seconds_until(b), 65);
        assert_eq!(b.whole_seconds_until(a), 0);
    }

    #[test]
    fn contact_reads_empty_markers_as_none_and_ignores_unknown_fields() {
        let body = r#"{
            "@odata.context": "https://crm.example.com/0/odata/$metadata#Contact/$entity",
            "Id": "509c189d-37a0-49d5-80f4-7de9ab389f3a",
            "Name": "Ivan Petrov",
            "AccountId": "00000000-0000-0000-0000-000000000000",
            "TypeId": null,
            "MobilePhone": "+7 (495) 123-45-67",
            "BirthDate": "0001-01-01T00:00:00Z",
            "ProcessListeners": 0,
            "Photo@odata.mediaReadLink": "Contact(509c189d-37a0-49d5-80f4-7de9ab389f3a)/Photo"
        }"#;
        let contact: Contact = serde_json::from_str(body).unwrap();
        assert_eq!(contact.name, "Ivan Petrov");
        assert_eq!(contact.account_id, None);
        assert_eq!(contact.type_id, None);
        assert_eq!(contact.mobile_phone, "+7 (495) 123-45-67");
        assert_eq!(contact.email, "");
    }

    #[test]
    fn collection_envelope_with_expanded_contact() {
        let body = r#"{"@odata.context":"x","@odata.count":1,"value":[{
            "Id":"11111111-1111-4111-8111-111111111111","Number":"+7 495 123-45-67",
            "SearchNumber":"76543215947","ContactId":"509c189d-37a0-49d5-80f4-7de9ab389f3a",
            "CommunicationTypeId":"d4a2dc80-30ca-df11-9b2a-001d60e938c6",
            "Contact":{"Id":"509c189d-37a0-49d5-80f4-7de9ab389f3a","Name":"Ivan"}}]}"#;
        let rows: Collection<ContactCommunication> = serde_json::from_str(body).unwrap();
        assert_eq!(rows.count, Some(1));
        let row = &rows.value[0];
        assert_eq!(row.communication_type_id, Some(COMMUNICATION_TYPE_MOBILE_PHONE));
        assert_eq!(row.contact.as_ref().map(|c| c.name.as_str()), Some("Ivan"));
    }

    #[test]
    fn call_round_trip_of_written_columns() {
        let new = NewCall {
            id: uuid!("8f2b6f8e-1d3c-4a51-9a0e-3c1f7b7e2a10"),
            caption: String::new(),
            integration_id: "42:4951234567".into(),
            parent_call_id: String::new(),
            caller_id: "+74951234567".into(),
            called_id: "101".into(),
            direction_id: CALL_DIRECTION_INCOMING,
            start_date: "2026-11-23T10:42:00Z".parse().unwrap(),
        };
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Id": "8f2b6f8e-1d3c-4a51-9a0e-3c1f7b7e2a10",
                "IntegrationId": "42:4951234567",
                "CallerId": "+74951234567",
                "CalledId": "101",
                "DirectionId": "1d96a65f-2131-4916-8825-2d142b1000b2",
                "StartDate": "2026-11-23T10:42:00.0000000Z"
            })
        );
        let read: Call = serde_json::from_value(json).unwrap();
        assert_eq!(read.id, new.id);
        assert_eq!(read.start_date, Some(new.start_date));
        assert_eq!(read.end_date, None);
        assert_eq!(read.talk_time, 0);
    }

    #[test]
    fn odata_error_prefers_the_innermost_message() {
        let body = br#"{"error":{"code":"","message":"An error has occurred.",
            "innererror":{"message":"Column Foo not found","type":"Terrasoft.Common.ItemNotFoundException",
            "stacktrace":"","internalexception":{"message":"deeper"}}}}"#;
        let error = ODataError::parse(body).unwrap();
        assert_eq!(error.best_message(), "deeper");
        assert!(ODataError::parse(b"<html>").is_none());
    }

    #[test]
    fn login_answers_success_and_refusal() {
        let ok: LoginResponse = serde_json::from_str(
            r#"{"Code":0,"Message":"","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#,
        )
        .unwrap();
        assert_eq!(ok.code, LoginResponse::SUCCESS);
        let refused: LoginResponse = serde_json::from_str(
            r#"{"Code":1,"Message":"","Exception":{"HelpLink":null,"InnerException":null,
            "Message":"Invalid username or password specified","StackTrace":null,
            "Type":"Terrasoft.Core.InvalidCredentialsException"},"PasswordChangeUrl":null,"RedirectUrl":null}"#,
        )
        .unwrap();
        assert_eq!(refused.reason(), "Invalid username or password specified");
    }

    #[test]
    fn login_request_debug_hides_the_password() {
        let request = LoginRequest {
            user_name: "operator",
            user_password: "hunter2",
        };
        assert!(!format!("{request:?}").contains("hunter2"));
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(json, r#"{"UserName":"operator","UserPassword":"hunter2"}"#);
    }
}
