//! The Creatio stand-in (CREATIO.md §9): the forms login of `AuthService.svc`, cookie sessions
//! with `BPMCSRF` enforcement and idle expiry, and OData 4 over the collections the panel
//! reads and writes, under both `/0/odata` and `/odata`.
//!
//! [`Creatio`] is sans-IO: a request as data and `now` in, a [`Reply`] out. It never reads the
//! clock; wall-clock columns (`CreatedOn`) are computed from the instant and wall time it was
//! created with. Faults set through the control API shape the reply: a delay for the driver
//! to wait before answering, injected error statuses, or [`Reply::Hangup`] while "down".
//!
//! | request | answer |
//! |---|---|
//! | `POST /ServiceModel/AuthService.svc/Login` `{"UserName","UserPassword"}` | 200 `{"Code":0,…}` + cookies, or 200 `{"Code":1,…}` |
//! | `POST /ServiceModel/AuthService.svc/Logout` | 200, session ended |
//! | `POST /connect/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`) | 200 `{"access_token","expires_in","token_type":"Bearer"}`, 400 `{"error":"invalid_client"}` |
//! | `POST /0/ping`, `POST /ping` | 200 |
//! | `GET /0/odata/` | service document |
//! | `GET /0/odata/<C>?$filter&$select&$expand&$orderby&$top&$skip&$count` | 200 `{"@odata.context","value":[…]}` |
//! | `GET /0/odata/<C>/$count` | 200, the number as text |
//! | `GET /0/odata/<C>(<guid>)?$select&$expand` | 200 entity, 404 unknown |
//! | `POST /0/odata/<C>` | 201 + the full entity |
//! | `PATCH /0/odata/<C>(<guid>)`, `DELETE …` | 204 |
//!
//! Paths are relative to the world's `app_path` (empty for a root install, e.g. `/crm`).
//! `$expand` items may carry their own `$select` and `$expand` in parentheses, two levels deep
//! (`$expand=Contact($select=Id,Name;$expand=Account($select=Id,Name))`; module `expand`).
//!
//! Apart from login, logout and the token grant, every endpoint accepts either the session
//! cookie with its `BPMCSRF` header or `Authorization: Bearer <token>` from `/connect/token`
//! (the Identity Service on the same host here; on real sites it is a separate host, §2.4).
//!
//! Collections: `Contact`, `Account`, `ContactCommunication`, `AccountCommunication`,
//! `CommunicationType`, `CallDirection`, `ContactType`, `Call`, `SysSettings`,
//! `SysSettingsValue`, `SysAdminUnit` (one row per user: login and contact). Choices where the
//! reference is silent (`[INF]`): a missing or wrong `BPMCSRF` header answers 403 with an OData
//! error body (JSON, so clients do not take it for an ended session); a POST with an `Id` that
//! exists answers 500 with the database's duplicate-key message; a lookup to a row that does
//! not exist answers 400; text comparisons ignore case; `$metadata` and `$batch` answer 501.

mod auth;
mod expand;
pub mod filter;
mod odata;
pub mod schema;
mod seed;
pub mod store;
mod time;

use std::time::{Duration, Instant, SystemTime};

use ::time::OffsetDateTime;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::SimError;
use crate::world::{CreatioWorld, ExpiredSession, ODataPaths};
use auth::{AUTH_COOKIE, CSRF, Denied, Sessions};
use expand::Shape;
use odata::ODataError;
use store::{DataError, Stamp, Store};

pub use seed::{CONTACT_TYPE_EMPLOYEE, DIRECTION_INCOMING, DIRECTION_NOT_DEFINED, DIRECTION_OUTGOING};
pub use store::search_number;

/// An HTTP request as the driver received it.
#[derive(Clone, PartialEq, Eq)]
pub struct CrmRequest {
    pub method: String,
    /// Path and query, as on the request line (`/0/odata/Contact?$top=1`).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Header values and bodies stay out of logs: they carry cookies and passwords.
impl std::fmt::Debug for CrmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl CrmRequest {
    pub fn new(method: &str, target: &str) -> Self {
        CrmRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A cookie's value from the `Cookie` header(s).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl CrmResponse {
    fn new(status: u16) -> Self {
        CrmResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn json(status: u16, body: &Json) -> Self {
        CrmResponse::json_text(status, body.to_string())
    }

    /// JSON written out by hand where the exact bytes matter (the login answers, §2.1).
    fn json_text(status: u16, text: String) -> Self {
        CrmResponse {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json; charset=utf-8".to_owned())],
            body: text.into_bytes(),
        }
    }

    fn odata(status: u16, body: &Json) -> Self {
        let mut response = CrmResponse::json(status, body);
        response.headers = vec![
            (
                "Content-Type".to_owned(),
                "application/json; odata.metadata=minimal; charset=utf-8".to_owned(),
            ),
            ("OData-Version".to_owned(), "4.0".to_owned()),
        ];
        response
    }

    fn error(error: &ODataError) -> Self {
        CrmResponse::odata(error.status, &error.body())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the driver does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer after waiting `delay` (the "slow Creatio" fault; zero normally).
    Respond { response: CrmResponse, delay: Duration },
    /// Close the connection without an answer: Creatio is down.
    Hangup,
}

/// Fault injection and inspection through the control API (see [`crate::control`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    State,
    /// Every answer waits this long.
    Slow {
        delay_ms: u64,
    },
    /// Answer every request (`count: None`) or the next `count` with this status.
    Fail {
        status: u16,
        count: Option<u32>,
    },
    ExpireSessions,
    Down,
    Up,
    /// Clears every fault.
    Heal,
    /// The `Call` records, newest last.
    Calls,
    /// Every write applied to `Call`, in the order it was applied (see [`Creatio::journal`]).
    CallJournal,
}

/// One write the stand-in applied to a `Call` record: what arrived, for which record, in which
/// order. Tests read it to prove per-call ordering and the absence of duplicate creates; a
/// refused write (duplicate key, unknown record) is not applied and not journaled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedWrite {
    /// Position among every applied `Call` write, from 1.
    pub seq: u64,
    /// `POST`, `PATCH` or `DELETE`.
    pub method: String,
    pub id: Uuid,
    /// The request body as sent (empty object for a DELETE).
    pub body: Json,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Faults {
    delay: Duration,
    fail: Option<(u16, Option<u32>)>,
    down: bool,
}

/// The Creatio stand-in's state.
#[derive(Debug)]
pub struct Creatio {
    settings: CreatioWorld,
    store: Store,
    sessions: Sessions,
    rng: StdRng,
    faults: Faults,
    epoch: (Instant, OffsetDateTime),
    journal: Vec<AppliedWrite>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoginBody {
    user_name: String,
    user_password: String,
}

/// Where an OData request goes, after the prefix and the session were checked.
#[derive(Debug)]
struct ODataTarget<'a> {
    /// The session's user (index into the world's Creatio users).
    user: usize,
    /// `http://<host>/0/odata`, for `@odata.context` and `Location`.
    base: String,
    /// What follows the prefix: `Contact(…)`, `Call/$count`, or empty for the service document.
    resource: &'a str,
    query: &'a str,
}

const LOGIN_PATH: &str = "/ServiceModel/AuthService.svc/Login";
const LOGOUT_PATH: &str = "/ServiceModel/AuthService.svc/Logout";
const TOKEN_PATH: &str = "/connect/token";
/// `UserNameExpireDays` (§2.1): how long the `UserName` cookie lives.
const USER_NAME_DAYS: i64 = 30;

impl Creatio {
    /// Seeds the stand-in from the world; `wall` is the wall-clock time at `now`.
    pub fn new(world: &CreatioWorld, seed: u64, now: Instant, wall: SystemTime) -> Result<Creatio, SimError> {
        let wall = OffsetDateTime::from(wall);
        let store =
            seed::store(world, &time::format(wall)).map_err(|e| SimError::Config(format!("Creatio data: {e}")))?;
        Ok(Creatio {
            settings: world.clone(),
            store,
            sessions: Sessions::new(Duration::from_secs(world.session_timeout_s)),
            rng: StdRng::seed_from_u64(seed ^ 0xc4ea_7100_0000_0001),
            faults: Faults::default(),
            epoch: (now, wall),
            journal: Vec::new(),
        })
    }

    fn wall(&self, now: Instant) -> OffsetDateTime {
        let elapsed = now.saturating_duration_since(self.epoch.0);
        self.epoch.1 + elapsed
    }

    /// Answers one request.
    pub fn handle_request(&mut self, now: Instant, request: &CrmRequest) -> Reply {
        if self.faults.down {
            return Reply::Hangup;
        }
        let delay = self.faults.delay;
        let response = match self.injected_failure() {
            Some(response) => response,
            None => self.route(now, request),
        };
        tracing::debug!(method = %request.method, target = %request.target, status = response.status, "creatio request");
        Reply::Respond { response, delay }
    }

    fn injected_failure(&mut self) -> Option<CrmResponse> {
        let (status, count) = self.faults.fail?;
        match count {
            Some(0) => {
                self.faults.fail = None;
                return None;
            }
            Some(n) => self.faults.fail = Some((status, Some(n - 1))),
            None => {}
        }
        let error = ODataError {
            status,
            message: "Injected fault: the server could not process the request".to_owned(),
            kind: "System.Exception",
        };
        Some(CrmResponse::error(&error))
    }

    fn route(&mut self, now: Instant, request: &CrmRequest) -> CrmResponse {
        let (full_path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
        let app_path = self.settings.app_path.as_str();
        let Some(path) = full_path
            .strip_prefix(app_path)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        else {
            return CrmResponse::new(404);
        };
        let method = request.method.as_str();
        if path.eq_ignore_ascii_case(LOGIN_PATH) {
            return match method {
                "POST" => self.login(now, request),
                _ => CrmResponse::new(405).with_header("Allow", "POST"),
            };
        }
        if path == TOKEN_PATH {
            return match method {
                "POST" => self.token(now, &request.body),
                _ => CrmResponse::new(405).with_header("Allow", "POST"),
            };
        }
        if path.eq_ignore_ascii_case(LOGOUT_PATH) && method == "POST" {
            if let Some(auth) = request.cookie(AUTH_COOKIE) {
                self.sessions.close(auth);
            }
            return CrmResponse::new(200);
        }
        let (prefix, rest) = match self.odata_prefix(path) {
            Some(found) => found,
            None if matches!(path, "/0/ping" | "/ping") && method == "POST" => {
                return match self.admit(now, request) {
                    Ok(_) => CrmResponse::new(200),
                    Err(denied) => denied,
                };
            }
            None => return CrmResponse::new(404),
        };
        let user = match self.admit(now, request) {
            Ok(user) => user,
            Err(denied) => return denied,
        };
        let target = ODataTarget {
            user,
            base: match request.header("Host") {
                Some(host) => format!("http://{host}{}{prefix}", self.settings.app_path),
                None => format!("{}{prefix}", self.settings.app_path),
            },
            resource: rest.trim_start_matches('/'),
            query,
        };
        match self.odata(now, &target, request) {
            Ok(response) => response,
            Err(error) => CrmResponse::error(&error),
        }
    }

    /// Splits `/0/odata/…` or `/odata/…` as the world's deployment allows.
    fn odata_prefix<'a>(&self, path: &'a str) -> Option<(&'static str, &'a str)> {
        let candidates: &[&'static str] = match self.settings.odata_paths {
            ODataPaths::Both => &["/0/odata", "/odata"],
            ODataPaths::NetFramework => &["/0/odata"],
            ODataPaths::NetCore => &["/odata"],
        };
        candidates.iter().find_map(|prefix| {
            let rest = path.strip_prefix(prefix)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((*prefix, rest))
        })
    }

    /// The session rules of §9 point 2; the user's index on success.
    fn admit(&mut self, now: Instant, request: &CrmRequest) -> Result<usize, CrmResponse> {
        let bearer = request
            .header("Authorization")
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
        if let Some(token) = bearer {
            return self
                .sessions
                .admit_bearer(now, token.trim())
                .map_err(|_| CrmResponse::new(401).with_header("WWW-Authenticate", "Bearer error=\"invalid_token\""));
        }
        let need_csrf = request.method != "GET" || self.settings.csrf_on_reads;
        match self
            .sessions
            .admit(now, request.cookie(AUTH_COOKIE), request.header(CSRF), need_csrf)
        {
            Ok(session) => Ok(session.user),
            Err(Denied::NoSession) => Err(match self.settings.expired_session {
                ExpiredSession::Unauthorized => CrmResponse::new(401),
                ExpiredSession::RedirectToLogin => {
                    let path = request.target.split('?').next().unwrap_or("/");
                    let encoded = percent_encode(path);
                    CrmResponse::new(302).with_header(
                        "Location",
                        format!("{}/Login/NuiLogin.aspx?ReturnUrl={encoded}", self.settings.app_path),
                    )
                }
            }),
            Err(Denied::Csrf) => Err(CrmResponse::error(&ODataError {
                status: 403,
                message: "Invalid or missing BPMCSRF token".to_owned(),
                kind: "System.Security.SecurityException",
            })),
        }
    }

    /// The Identity Service's client-credentials grant (§2.4, RFC 6749 §4.4).
    fn token(&mut self, now: Instant, body: &[u8]) -> CrmResponse {
        let form: Vec<(String, String)> = String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter_map(|(k, v)| Some((odata::percent_decode(k).ok()?, odata::percent_decode(v).ok()?)))
            .collect();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if field("grant_type") != Some("client_credentials") {
            return CrmResponse::json(400, &json!({"error": "unsupported_grant_type"}));
        }
        let client = self.settings.oauth_clients.iter().find(|c| {
            Some(c.client_id.as_str()) == field("client_id") && Some(c.client_secret.as_str()) == field("client_secret")
        });
        let user = client.and_then(|c| {
            self.settings
                .users
                .iter()
                .position(|u| u.login.eq_ignore_ascii_case(&c.user))
        });
        let Some(user) = user else {
            return CrmResponse::json(
                400,
                &json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"}),
            );
        };
        let lifetime = self.settings.token_lifetime_s;
        let token = self
            .sessions
            .issue_token(now, user, Duration::from_secs(lifetime), &mut self.rng);
        CrmResponse::json(
            200,
            &json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}),
        )
    }

    fn login(&mut self, now: Instant, request: &CrmRequest) -> CrmResponse {
        let Ok(body) = serde_json::from_slice::<LoginBody>(&request.body) else {
            return CrmResponse::error(&ODataError::bad_request(
                "the login body must be JSON with UserName and UserPassword",
            ));
        };
        let user = self
            .settings
            .users
            .iter()
            .position(|u| u.login.eq_ignore_ascii_case(&body.user_name) && u.password == body.user_password);
        let Some(user) = user else {
            tracing::info!(user = %body.user_name, "creatio login refused");
            let reason = "Invalid username or password specified";
            let text = format!(
                r#"{{"Code":1,"Message":"{reason}","Exception":{{"HelpLink":null,"InnerException":null,"Message":"{reason}","StackTrace":null,"Type":"Terrasoft.Core.InvalidCredentialsException"}},"PasswordChangeUrl":null,"RedirectUrl":null}}"#
            );
            return CrmResponse::json_text(200, text);
        };
        let issued = self.sessions.open(now, user, &mut self.rng);
        let login = self
            .settings
            .users
            .get(user)
            .map(|u| u.login.clone())
            .unwrap_or_default();
        tracing::info!(user = %login, "creatio login");
        let expires = time::http_date(self.wall(now) + ::time::Duration::days(USER_NAME_DAYS));
        let user_name = percent_encode(&login);
        // The session cookies are scoped to the application, the CSRF and name cookies to the
        // whole host (§2.1).
        let app_path = match self.settings.app_path.as_str() {
            "" => "/",
            path => path,
        };
        let success = r#"{"Code":0,"Message":"","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#;
        CrmResponse::json_text(200, success.to_owned())
            .with_header(
                "Set-Cookie",
                format!("BPMLOADER={}; path={app_path}; HttpOnly", issued.loader),
            )
            .with_header(
                "Set-Cookie",
                format!("{AUTH_COOKIE}={}; path={app_path}; HttpOnly", issued.auth),
            )
            .with_header("Set-Cookie", format!("{CSRF}={}; path=/", issued.csrf))
            .with_header(
                "Set-Cookie",
                format!("BPMSESSIONID={}; path=/; HttpOnly", issued.session_id),
            )
            .with_header(
                "Set-Cookie",
                format!("UserName={user_name}; expires={expires}; path=/; HttpOnly"),
            )
    }

    fn odata(
        &mut self,
        now: Instant,
        target: &ODataTarget<'_>,
        request: &CrmRequest,
    ) -> Result<CrmResponse, ODataError> {
        let ODataTarget {
            user,
            ref base,
            resource,
            query,
        } = *target;
        let (method, body, content_type) = (request.method.as_str(), &request.body, request.header("Content-Type"));
        if resource.is_empty() {
            let sets: Vec<Json> = self
                .store
                .tables()
                .map(|t| json!({"name": t.schema.name, "kind": "EntitySet", "url": t.schema.name}))
                .collect();
            return Ok(CrmResponse::odata(
                200,
                &json!({"@odata.context": format!("{base}/$metadata"), "value": sets}),
            ));
        }
        if resource.starts_with('$') {
            return Err(ODataError {
                status: 501,
                message: format!("{resource} is not implemented by the stand-in"),
                kind: "System.NotImplementedException",
            });
        }
        let (entity_part, count_only) = match resource.strip_suffix("/$count") {
            Some(part) => (part, true),
            None => (resource, false),
        };
        if entity_part.contains('/') {
            return Err(ODataError::not_found(format!("resource {resource} not found")));
        }
        let (collection, key) = match entity_part.split_once('(') {
            Some((name, key)) => {
                let key = key
                    .strip_suffix(')')
                    .ok_or_else(|| ODataError::bad_request(format!("bad key in {entity_part}")))?;
                let key = odata::percent_decode(key)?;
                let id = Uuid::try_parse(key.trim())
                    .map_err(|_| ODataError::bad_request(format!("the key '{key}' is not an unquoted GUID")))?;
                (name, Some(id))
            }
            None => (entity_part, None),
        };
        let table = self
            .store
            .table(collection)
            .ok_or_else(|| ODataError::not_found(format!("Resource not found for the segment '{collection}'")))?;
        let collection = table.schema.name;
        let stamp_author = seed::user_contact(user);
        let at = time::format(self.wall(now));
        let stamp = Stamp {
            author: &stamp_author,
            at: &at,
        };
        match (method, key, count_only) {
            ("GET", None, true) => {
                let options = odata::parse_options(&self.store, collection, query)?;
                let count = odata::select_rows(&self.store, table, &options).len();
                let mut response = CrmResponse::new(200).with_header("Content-Type", "text/plain; charset=utf-8");
                response.body = count.to_string().into_bytes();
                Ok(response)
            }
            ("GET", None, false) => {
                let options = odata::parse_options(&self.store, collection, query)?;
                let rows = odata::select_rows(&self.store, table, &options);
                let total = rows.len();
                let value: Vec<Json> = rows
                    .into_iter()
                    .skip(options.skip)
                    .take(options.top.unwrap_or(usize::MAX))
                    .map(|row| Json::Object(odata::entity(&self.store, table, row, &options.shape)))
                    .collect();
                let mut answer = Map::new();
                answer.insert(
                    "@odata.context".to_owned(),
                    Json::String(format!(
                        "{base}/$metadata#{}",
                        odata::context_fragment(collection, &options.shape)
                    )),
                );
                if options.count {
                    answer.insert("@odata.count".to_owned(), Json::from(total));
                }
                answer.insert("value".to_owned(), Json::Array(value));
                Ok(CrmResponse::odata(200, &Json::Object(answer)))
            }
            ("GET", Some(id), false) => {
                let options = odata::parse_options(&self.store, collection, query)?;
                if options.filter.is_some() || options.top.is_some() || !options.orderby.is_empty() {
                    return Err(ODataError::bad_request(
                        "only $select and $expand apply to a single entity",
                    ));
                }
                let row = table
                    .find(id)
                    .ok_or_else(|| ODataError::not_found(format!("{collection} with Id {id} not found")))?;
                let mut answer = odata::entity(&self.store, table, row, &options.shape);
                answer.insert(
                    "@odata.context".to_owned(),
                    Json::String(format!(
                        "{base}/$metadata#{}/$entity",
                        odata::context_fragment(collection, &options.shape)
                    )),
                );
                Ok(CrmResponse::odata(200, &Json::Object(answer)))
            }
            ("POST", None, false) => {
                let body = json_body(body, content_type)?;
                let new_id = uuid::Builder::from_random_bytes(self.random_bytes()).into_uuid();
                let id = self
                    .store
                    .insert(collection, &body, new_id, stamp)
                    .map_err(data_error)?;
                self.journal_write(collection, "POST", id, &body);
                let table = self
                    .store
                    .table(collection)
                    .ok_or_else(|| ODataError::not_found(collection.to_owned()))?;
                let row = table
                    .find(id)
                    .ok_or_else(|| ODataError::not_found(format!("{collection} with Id {id} not found")))?;
                let mut answer = odata::entity(&self.store, table, row, &Shape::default());
                answer.insert(
                    "@odata.context".to_owned(),
                    Json::String(format!("{base}/$metadata#{collection}/$entity")),
                );
                Ok(CrmResponse::odata(201, &Json::Object(answer))
                    .with_header("Location", format!("{base}/{collection}({id})")))
            }
            ("PATCH", Some(id), false) => {
                let body = json_body(body, content_type)?;
                self.store.patch(collection, id, &body, stamp).map_err(data_error)?;
                self.journal_write(collection, "PATCH", id, &body);
                Ok(CrmResponse::new(204))
            }
            ("DELETE", Some(id), false) => {
                self.store.delete(collection, id).map_err(data_error)?;
                self.journal_write(collection, "DELETE", id, &Map::new());
                Ok(CrmResponse::new(204))
            }
            (_, None, false) => Err(method_not_allowed("GET, POST")),
            (_, Some(_), false) => Err(method_not_allowed("GET, PATCH, DELETE")),
            (_, _, true) => Err(method_not_allowed("GET")),
        }
    }

    fn journal_write(&mut self, collection: &str, method: &str, id: Uuid, body: &Map<String, Json>) {
        if collection != schema::CALL {
            return;
        }
        let seq = self.journal.len() as u64 + 1;
        self.journal.push(AppliedWrite {
            seq,
            method: method.to_owned(),
            id,
            body: Json::Object(body.clone()),
        });
    }

    /// Every write applied to `Call` so far, oldest first.
    pub fn journal(&self) -> &[AppliedWrite] {
        &self.journal
    }

    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        bytes
    }

    /// Carries out a control command; the answer is the control API's JSON.
    pub fn handle_control(&mut self, now: Instant, command: Control) -> Json {
        match command {
            Control::State => {}
            Control::Slow { delay_ms } => self.faults.delay = Duration::from_millis(delay_ms),
            Control::Fail { status, count } => self.faults.fail = Some((status, count)),
            Control::ExpireSessions => {
                let expired = self.sessions.expire_all();
                tracing::info!(expired, "creatio sessions expired by the control API");
                return json!({ "expired": expired });
            }
            Control::Down => self.faults.down = true,
            Control::Up => self.faults.down = false,
            Control::Heal => self.faults = Faults::default(),
            Control::Calls => {
                let Some(table) = self.store.table(schema::CALL) else {
                    return json!([]);
                };
                let calls: Vec<Json> = table
                    .rows()
                    .map(|row| Json::Object(odata::entity(&self.store, table, row, &Shape::default())))
                    .collect();
                return Json::Array(calls);
            }
            Control::CallJournal => {
                return serde_json::to_value(&self.journal).unwrap_or_else(|_| json!([]));
            }
        }
        self.state(now)
    }

    fn state(&self, now: Instant) -> Json {
        let rows: Map<String, Json> = self
            .store
            .tables()
            .map(|t| (t.schema.name.to_owned(), Json::from(t.len())))
            .collect();
        json!({
            "sessions": self.sessions.live(now),
            "faults": {
                "delay_ms": u64::try_from(self.faults.delay.as_millis()).unwrap_or(u64::MAX),
                "fail_status": self.faults.fail.map(|(s, _)| s),
                "fail_count": self.faults.fail.and_then(|(_, c)| c),
                "down": self.faults.down,
            },
            "rows": rows,
        })
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn method_not_allowed(allow: &str) -> ODataError {
    ODataError {
        status: 405,
        message: format!("The HTTP method is not allowed here; allowed: {allow}"),
        kind: "System.Web.HttpException",
    }
}

fn json_body(body: &[u8], content_type: Option<&str>) -> Result<Map<String, Json>, ODataError> {
    if content_type.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("x-www-form-urlencoded") || t.contains("multipart/")
    }) {
        return Err(ODataError {
            status: 415,
            message: "The request body must be JSON (Content-Type: application/json)".to_owned(),
            kind: "Microsoft.OData.ODataContentTypeException",
        });
    }
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(ODataError::bad_request("the request body must be a JSON object")),
        Err(e) => Err(ODataError::bad_request(format!("the request body is not JSON: {e}"))),
    }
}

fn data_error(error: DataError) -> ODataError {
    match error {
        DataError::NotFound(message) => ODataError::not_found(message),
        DataError::Invalid { message, kind } => ODataError {
            status: 400,
            message,
            kind,
        },
        DataError::Conflict(message) => ODataError {
            status: 500,
            message,
            kind: "System.Data.SqlClient.SqlException",
        },
    }
}
