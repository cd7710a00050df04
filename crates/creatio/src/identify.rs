//! Who is calling: Creatio's own identification rules (§4.2) expressed as OData queries (§4.3).
//!
//! A number becomes a *search key*: its digits only, reversed, cut to `SearchNumberLength`
//! (so `+7 (495) 123-45-67` and `8 495 123 45 67` both become `7654321`, the last seven digits
//! read backwards). Creatio stores the same reversal in `SearchNumber` of every communication
//! row, so "the stored number ends with these digits" is `startswith(SearchNumber, key)`.
//! Numbers no longer than `InternalNumberLength` are extensions: they must match exactly and
//! only employees qualify.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use uuid::Uuid;

use crate::error::MalformedError;
use crate::http::{HttpResponse, Method};
use crate::session::ApiRequest;
use crate::wire::{
    AccountCommunication, CONTACT_TYPE_EMPLOYEE, Collection, ContactCommunication, ODataError,
    PHONE_COMMUNICATION_TYPES, SysSettingsValue,
};

/// `SearchNumberLength` and `InternalNumberLength` (§4.2). The defaults are the code fallbacks
/// Creatio uses when the settings are absent; a customer's instance may hold other values, so
/// they are settable (`[INF]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NumberLengths {
    pub search: usize,
    pub internal: usize,
}

impl Default for NumberLengths {
    fn default() -> Self {
        NumberLengths { search: 7, internal: 3 }
    }
}

impl NumberLengths {
    /// From the system settings' integer values; absent or negative values fall back to the
    /// defaults, as Creatio's server code does.
    pub fn from_settings(search: Option<i64>, internal: Option<i64>) -> Self {
        let default = NumberLengths::default();
        let read = |v: Option<i64>, fallback: usize| v.and_then(|n| usize::try_from(n).ok()).unwrap_or(fallback);
        NumberLengths {
            search: read(search, default.search),
            internal: read(internal, default.internal),
        }
    }
}

/// Reads `SearchNumberLength` and `InternalNumberLength` from Creatio (`[INF]`: values live in
/// `SysSettingsValue`, linked to `SysSettings` by code).
pub fn settings_query() -> ApiRequest {
    ApiRequest {
        method: Method::Get,
        resource: query(
            "SysSettingsValue",
            &[
                (
                    "$filter",
                    "SysSettings/Code eq 'SearchNumberLength' or \
                     SysSettings/Code eq 'InternalNumberLength'"
                        .into(),
                ),
                ("$select", "IntegerValue,SysSettingsId".into()),
                ("$expand", "SysSettings".into()),
            ],
        ),
        body: None,
    }
}

/// Interprets the answer to [`settings_query`]; a setting that is missing keeps its default.
pub fn lengths_from_settings(response: &HttpResponse) -> Result<NumberLengths, LookupError> {
    if !response.is_success() {
        return Err(rejected(response));
    }
    let rows: Collection<SysSettingsValue> =
        serde_json::from_slice(&response.body).map_err(|e| MalformedError::json("system settings", &e))?;
    let value = |code: &str| {
        rows.value
            .iter()
            .find(|r| r.sys_settings.as_ref().is_some_and(|s| s.code == code))
            .and_then(|r| r.integer_value)
    };
    Ok(NumberLengths::from_settings(
        value("SearchNumberLength"),
        value("InternalNumberLength"),
    ))
}

fn rejected(response: &HttpResponse) -> LookupError {
    let message = ODataError::parse(&response.body)
        .map(|e| e.best_message().to_owned())
        .unwrap_or_default();
    LookupError::Rejected {
        status: response.status,
        message,
    }
}

/// What to look for, already in `SearchNumber` form (reversed digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SearchKey {
    /// An internal extension: `SearchNumber eq key`, employees only.
    Internal(String),
    /// An external number: `startswith(SearchNumber, key)`.
    External(String),
}

impl SearchKey {
    /// Applies §4.2 steps 1–3; `None` when the number has no digits (anonymous caller).
    pub fn from_number(number: &str, lengths: NumberLengths) -> Option<SearchKey> {
        let mut reversed: String = number.chars().rev().filter(char::is_ascii_digit).collect();
        if reversed.is_empty() {
            return None;
        }
        if lengths.internal > 0 && lengths.search > lengths.internal {
            reversed.truncate(lengths.search);
        }
        Some(if reversed.len() <= lengths.internal {
            SearchKey::Internal(reversed)
        } else {
            SearchKey::External(reversed)
        })
    }

    pub fn digits(&self) -> &str {
        match self {
            SearchKey::Internal(d) | SearchKey::External(d) => d,
        }
    }
}

/// Everything identification can be tuned with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyConfig {
    pub lengths: NumberLengths,
    /// Communication types that count as phones (see [`PHONE_COMMUNICATION_TYPES`]).
    pub phone_types: Vec<Uuid>,
    /// Rows asked per query: Creatio's `IdentificationMaxRowCount` is 20 (§4.2 step 4).
    pub max_rows: usize,
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
    /// Ask for a contact's company in the contact query itself, through `$expand` options nested
    /// in the contact's expansion (OData 4), so the popup shows it without a second round
    /// trip. A third-party report (§3.1) has one Creatio build answering 400 to nested
    /// options; on such a site this is turned off and contacts come without a company name.
    pub company_names: bool,
}

impl Default for IdentifyConfig {
    fn default() -> Self {
        IdentifyConfig {
            lengths: NumberLengths::default(),
            phone_types: PHONE_COMMUNICATION_TYPES.to_vec(),
            max_rows: 20,
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 256,
            company_names: true,
        }
    }
}

/// Characters escaped in query option values: everything that would end or confuse the query
/// string. OData punctuation (`'(),/$=`) stays readable, as Creatio's own clients send it.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

pub(crate) fn query(collection: &str, options: &[(&str, String)]) -> String {
    let options: Vec<String> = options
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, QUERY_VALUE)))
        .collect();
    format!("{collection}?{}", options.join("&"))
}

fn search_condition(key: &SearchKey) -> String {
    // The key holds ASCII digits only, so it cannot break out of the quoted literal.
    match key {
        SearchKey::Internal(d) => format!("SearchNumber eq '{d}'"),
        SearchKey::External(d) => format!("startswith(SearchNumber,'{d}')"),
    }
}

fn type_condition(types: &[Uuid]) -> Option<String> {
    let terms: Vec<String> = types.iter().map(|t| format!("CommunicationType/Id eq {t}")).collect();
    (!terms.is_empty()).then(|| format!("({})", terms.join(" or ")))
}

/// The contact expanded with only what identification reads, and its account's name: one
/// request brings caller and company.
const CONTACT_WITH_COMPANY: &str = "Contact($select=Id,Name,AccountId;$expand=Account($select=Id,Name))";

/// The contact query (§4.3): phone communications whose `SearchNumber` matches, with the
/// contact expanded (and its company, see [`IdentifyConfig::company_names`]); employees only
/// for extensions.
pub fn contact_query(key: &SearchKey, config: &IdentifyConfig) -> ApiRequest {
    let mut filter = vec![search_condition(key)];
    filter.extend(type_condition(&config.phone_types));
    if matches!(key, SearchKey::Internal(_)) {
        filter.push(format!("Contact/Type/Id eq {CONTACT_TYPE_EMPLOYEE}"));
    }
    ApiRequest {
        method: Method::Get,
        resource: query(
            "ContactCommunication",
            &[
                ("$filter", filter.join(" and ")),
                ("$select", "Id,Number,SearchNumber,ContactId,CommunicationTypeId".into()),
                (
                    "$expand",
                    if config.company_names {
                        CONTACT_WITH_COMPANY
                    } else {
                        "Contact"
                    }
                    .into(),
                ),
                ("$orderby", "Contact/Name asc,Id asc".into()),
                ("$top", config.max_rows.to_string()),
            ],
        ),
        body: None,
    }
}

/// The account query (§4.3); `None` for extensions, which belong to employees, not accounts.
pub fn account_query(key: &SearchKey, config: &IdentifyConfig) -> Option<ApiRequest> {
    if matches!(key, SearchKey::Internal(_)) {
        return None;
    }
    let mut filter = vec![search_condition(key)];
    filter.extend(type_condition(&config.phone_types));
    Some(ApiRequest {
        method: Method::Get,
        resource: query(
            "AccountCommunication",
            &[
                ("$filter", filter.join(" and ")),
                ("$select", "Id,Number,SearchNumber,AccountId,CommunicationTypeId".into()),
                ("$expand", "Account".into()),
                ("$orderby", "Account/Name asc,Id asc".into()),
                ("$top", config.max_rows.to_string()),
            ],
        ),
        body: None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SubscriberKind {
    Contact,
    Account,
}

/// One identified party, with what the panel shows and what the Call record needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subscriber {
    pub kind: SubscriberKind,
    pub id: Uuid,
    pub name: String,
    /// For a contact, the account it works for (written to `Call.AccountId`, §5.2).
    pub account_id: Option<Uuid>,
    /// For a contact, the name of that account: the company the popup shows beside the caller.
    /// `None` for an account match (its `name` is the company), for a contact without an
    /// account, and when the server did not bring the nested account. Values serialized before
    /// the field existed read as `None`.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The number as stored in Creatio, with its formatting.
    pub number: String,
    pub communication_type: Option<Uuid>,
}

/// The result of §4.2 step 5.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Identification {
    One(Subscriber),
    /// The operator picks ("select another subscriber").
    Several(Vec<Subscriber>),
    None,
}

/// Why a lookup could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Malformed(#[from] MalformedError),
    #[error("Creatio refused the caller lookup (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
}

/// Which of the lookup's queries an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupPart {
    Contacts,
    Accounts,
}

/// One identification in progress: send [`Lookup::requests`], feed each answer to
/// [`Lookup::handle`], then read [`Lookup::result`].
#[derive(Debug, Clone)]
pub struct Lookup {
    key: SearchKey,
    max_rows: usize,
    contacts: Option<Vec<ContactCommunication>>,
    accounts: Option<Vec<AccountCommunication>>,
    requests: Vec<(LookupPart, ApiRequest)>,
    /// The contact query without the company, while the one sent asks for it (see [`Lookup::fallback`]).
    plain_contacts: Option<ApiRequest>,
}

impl Lookup {
    pub fn new(key: SearchKey, config: &IdentifyConfig) -> Self {
        let mut requests = vec![(LookupPart::Contacts, contact_query(&key, config))];
        let accounts = match account_query(&key, config) {
            Some(q) => {
                requests.push((LookupPart::Accounts, q));
                None
            }
            None => Some(Vec::new()),
        };
        let plain_contacts = config.company_names.then(|| {
            let plain = IdentifyConfig {
                company_names: false,
                ..config.clone()
            };
            contact_query(&key, &plain)
        });
        Lookup {
            key,
            max_rows: config.max_rows,
            contacts: None,
            accounts,
            requests,
            plain_contacts,
        }
    }

    pub fn key(&self) -> &SearchKey {
        &self.key
    }

    pub fn requests(&self) -> &[(LookupPart, ApiRequest)] {
        &self.requests
    }

    pub fn handle(&mut self, part: LookupPart, response: &HttpResponse) -> Result<(), LookupError> {
        if !response.is_success() {
            return Err(rejected(response));
        }
        match part {
            LookupPart::Contacts => {
                let rows: Collection<ContactCommunication> = serde_json::from_slice(&response.body)
                    .map_err(|e| MalformedError::json("contact communications", &e))?;
                self.contacts = Some(rows.value);
            }
            LookupPart::Accounts => {
                let rows: Collection<AccountCommunication> = serde_json::from_slice(&response.body)
                    .map_err(|e| MalformedError::json("account communications", &e))?;
                self.accounts = Some(rows.value);
            }
        }
        Ok(())
    }

    /// A Creatio that refuses the nested `$expand` of the company (CREATIO.md §3.1 reports a version answering
    /// 400) must still identify callers: when the contact query was refused with 400, the plain query to send
    /// instead, whose answer goes to [`Lookup::handle`] as usual. `None` for any other answer, or when the plain
    /// query was already tried.
    pub fn fallback(&mut self, part: LookupPart, response: &HttpResponse) -> Option<ApiRequest> {
        if part != LookupPart::Contacts || response.status != 400 {
            return None;
        }
        self.plain_contacts.take()
    }

    /// The identification once every query has answered.
    pub fn result(&self) -> Option<Identification> {
        let (contacts, accounts) = (self.contacts.as_ref()?, self.accounts.as_ref()?);
        Some(interpret(contacts, accounts, self.max_rows))
    }
}

/// De-duplicates communication rows into distinct subscribers, contacts first, at most
/// `max_rows` of them (§4.2 steps 4–5).
pub fn interpret(
    contacts: &[ContactCommunication],
    accounts: &[AccountCommunication],
    max_rows: usize,
) -> Identification {
    let from_contacts = contacts.iter().filter_map(|row| {
        let contact = row.contact.as_ref();
        let id = row.contact_id.or(contact.map(|c| c.id))?;
        let account = contact.and_then(|c| c.account.as_ref());
        Some(Subscriber {
            kind: SubscriberKind::Contact,
            id,
            name: contact.map(|c| c.name.clone()).unwrap_or_default(),
            account_id: contact
                .and_then(|c| c.account_id)
                .or(account.map(|a| a.id).filter(|id| !id.is_nil())),
            account_name: account.map(|a| a.name.clone()).filter(|name| !name.is_empty()),
            number: row.number.clone(),
            communication_type: row.communication_type_id,
        })
    });
    let from_accounts = accounts.iter().filter_map(|row| {
        let id = row.account_id.or(row.account.as_ref().map(|a| a.id))?;
        Some(Subscriber {
            kind: SubscriberKind::Account,
            id,
            name: row.account.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            account_id: None,
            account_name: None,
            number: row.number.clone(),
            communication_type: row.communication_type_id,
        })
    });
    let mut found: Vec<Subscriber> = Vec::new();
    for subscriber in from_contacts.chain(from_accounts) {
        let seen = found.iter().any(|s| s.kind == subscriber.kind && s.id == subscriber.id);
        if !seen && found.len() < max_rows {
            found.push(subscriber);
        }
    }
    match found.len() {
        0 => Identification::None,
        1 => found.pop().map_or(Identification::None, Identification::One),
        _ => Identification::Several(found),
    }
}

/// Recent identifications, so a caller who rings twice in a minute is not looked up twice.
/// Time is injected; entries expire after the TTL; the oldest entry goes when full.
#[derive(Debug, Clone)]
pub struct IdentifyCache {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<SearchKey, (Instant, Identification)>,
}

impl IdentifyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        IdentifyCache {
            ttl,
            capacity,
            entries: HashMap::new(),
        }
    }

    pub fn get(&self, now: Instant, key: &SearchKey) -> Option<&Identification> {
        self.entries
            .get(key)
            .filter(|(stored, _)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(_, identification)| identification)
    }

    pub fn insert(&mut self, now: Instant, key: SearchKey, identification: Identification) {
        if self.capacity == 0 {
            return;
        }
        let ttl = self.ttl;
        self.entries
            .retain(|_, (stored, _)| now.saturating_duration_since(*stored) < ttl);
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (stored, _))| *stored)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now, identification));
    }

    /// Forget everything, e.g. after the operator edited a contact's numbers.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Where identification starts: from the cache, or with a lookup to send.
#[derive(Debug, Clone)]
pub enum Start {
    Known(Identification),
    Ask(Lookup),
}

/// Identification with its cache: [`Identifier::start`] for each call, [`Identifier::finish`]
/// once the lookup has its answers.
#[derive(Debug, Clone)]
pub struct Identifier {
    config: IdentifyConfig,
    cache: IdentifyCache,
}

impl Identifier {
    pub fn new(config: IdentifyConfig) -> Self {
        let cache = IdentifyCache::new(config.cache_ttl, config.cache_capacity);
        Identifier { config, cache }
    }

    /// Stops asking for company names: this Creatio refused the nested expansion (see [`Lookup::fallback`]).
    pub fn without_company_names(&mut self) {
        if self.config.company_names {
            tracing::warn!(
                "Creatio refused the nested $expand of the caller's company; callers are identified without it"
            );
            self.config.company_names = false;
        }
    }

    /// New lengths (read from the system settings) change every key: the cache is dropped.
    pub fn set_lengths(&mut self, lengths: NumberLengths) {
        if self.config.lengths != lengths {
            self.config.lengths = lengths;
            self.cache.clear();
        }
    }

    pub fn start(&self, now: Instant, number: &str) -> Start {
        let Some(key) = SearchKey::from_number(number, self.config.lengths) else {
            return Start::Known(Identification::None);
        };
        match self.cache.get(now, &key) {
            Some(known) => Start::Known(known.clone()),
            None => Start::Ask(Lookup::new(key, &self.config)),
        }
    }

    /// The lookup's result, remembered for the next call from the same number.
    pub fn finish(&mut self, now: Instant, lookup: &Lookup) -> Option<Identification> {
        let result = lookup.result()?;
        self.cache.insert(now, lookup.key().clone(), result.clone());
        Some(result)
    }

    pub fn forget(&mut self) {
        self.cache.clear();
    }
}
