//! One authenticated conversation with Creatio, sans-IO.
//!
//! Callers submit API requests (relative to the OData root) tagged with a value of their own;
//! the session logs in when needed, decorates each request (cookies, `BPMCSRF`,
//! `ForceUseSession`, or a bearer token), and hands back the final answer under the same tag.
//! When an answer shows that the session has ended (§2.2) the request is held, the session logs
//! in again once and sends the request once more; if that fails too, the caller gets the error.
//! A refused password is remembered and not tried again until new credentials arrive, so a
//! retrying outbox cannot lock the operator's account.
//!
//! Order of calls, as in quinn: feed [`Session::submit`], [`Session::handle_response`] and
//! [`Session::handle_transport_error`]; after each, drain [`Session::poll_transmit`] and
//! [`Session::poll_event`]. The session has no timers: HTTP timeouts are the driver's, reported
//! as [`TransportError::Timeout`].

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use tracing::{debug, info, warn};

use crate::auth::{self, Bearer, CSRF_COOKIE, CookieJar, Credentials, ExpirySignal, Granted};
use crate::error::AuthError;
use crate::http::{HttpRequest, HttpResponse, Method, TransportError, WireId};
use crate::site::{Platform, PlatformChoice, Site};

/// A request to Creatio's OData service, relative to its root: `Call`, `Call(<id>)`,
/// `ContactCommunication?$filter=...` (already percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: Method,
    pub resource: String,
    pub body: Option<Vec<u8>>,
}

/// Why a submitted request got no answer worth interpreting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestFailure {
    #[error("{0}")]
    Transport(TransportError),
    #[error("{0}")]
    Auth(AuthError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent<T> {
    /// The final answer to a submitted request (never an expired-session answer that could
    /// still be repaired by logging in again).
    Response {
        tag: T,
        response: HttpResponse,
    },
    Failed {
        tag: T,
        error: RequestFailure,
    },
    LoggedIn {
        platform: Platform,
    },
    AuthFailed(AuthError),
}

#[derive(Debug)]
enum State {
    LoggedOut,
    LoggingIn(WireId),
    Probing {
        wire: WireId,
        candidate: Platform,
    },
    Ready,
    /// Credentials or configuration that retrying cannot fix.
    Refused(AuthError),
}

#[derive(Debug)]
struct Queued<T> {
    tag: T,
    request: ApiRequest,
    retried: bool,
}

#[derive(Debug)]
struct InFlight<T> {
    queued: Queued<T>,
    /// Which login the request was sent under, so a late 401 from an older session does not
    /// throw away the fresh one.
    generation: u64,
}

#[derive(Debug)]
pub struct Session<T> {
    site: Site,
    credentials: Credentials,
    platform: PlatformChoice,
    state: State,
    jar: CookieJar,
    bearer: Option<Bearer>,
    generation: u64,
    waiting: VecDeque<Queued<T>>,
    in_flight: HashMap<WireId, InFlight<T>>,
    transmits: VecDeque<HttpRequest>,
    events: VecDeque<SessionEvent<T>>,
    next_wire: u64,
}

impl<T: Clone> Session<T> {
    pub fn new(site: Site, platform: PlatformChoice, credentials: Credentials) -> Self {
        Session {
            site,
            credentials,
            platform,
            state: State::LoggedOut,
            jar: CookieJar::default(),
            bearer: None,
            generation: 0,
            waiting: VecDeque::new(),
            in_flight: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_wire: 1,
        }
    }

    /// The platform in use, once configured or detected.
    pub fn platform(&self) -> Option<Platform> {
        match self.platform {
            PlatformChoice::Known(p) => Some(p),
            PlatformChoice::Detect => None,
        }
    }

    pub fn is_logged_in(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    /// The error that stops the session until new credentials arrive, if any.
    pub fn refusal(&self) -> Option<&AuthError> {
        match &self.state {
            State::Refused(e) => Some(e),
            _ => None,
        }
    }

    /// New credentials (the operator fixed the password): forget the session and any refusal.
    pub fn set_credentials(&mut self, now: Instant, credentials: Credentials) {
        self.credentials = credentials;
        self.drop_session();
        self.state = State::LoggedOut;
        self.pump(now);
    }

    pub fn submit(&mut self, now: Instant, tag: T, request: ApiRequest) {
        self.waiting.push_back(Queued {
            tag,
            request,
            retried: false,
        });
        self.pump(now);
    }

    pub fn poll_transmit(&mut self) -> Option<HttpRequest> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent<T>> {
        self.events.pop_front()
    }

    pub fn handle_response(&mut self, now: Instant, wire: WireId, response: HttpResponse) {
        match self.state {
            State::LoggingIn(login) if login == wire => self.on_login_answer(now, &response),
            State::Probing { wire: probe, candidate } if probe == wire => {
                self.on_probe_answer(now, candidate, &response)
            }
            _ => self.on_api_answer(now, wire, response),
        }
    }

    pub fn handle_transport_error(&mut self, now: Instant, wire: WireId, error: TransportError) {
        let is_auth_step = match self.state {
            State::LoggingIn(w) | State::Probing { wire: w, .. } => w == wire,
            _ => false,
        };
        if is_auth_step {
            self.login_failed(now, AuthError::Unreachable(error.to_string()));
            return;
        }
        match self.in_flight.remove(&wire) {
            Some(flight) => self.events.push_back(SessionEvent::Failed {
                tag: flight.queued.tag,
                error: RequestFailure::Transport(error),
            }),
            None => warn!(%wire, "transport error for a request that is not in flight"),
        }
    }

    fn on_login_answer(&mut self, now: Instant, response: &HttpResponse) {
        match auth::login_outcome(&self.site, &self.credentials, response, &mut self.jar, now) {
            Ok(granted) => {
                if let Granted::Bearer(bearer) = granted {
                    self.bearer = Some(bearer);
                }
                self.generation += 1;
                match self.platform {
                    PlatformChoice::Known(platform) => self.became_ready(now, platform),
                    PlatformChoice::Detect => self.probe(Platform::NetFramework),
                }
            }
            Err(error) => self.login_failed(now, error),
        }
    }

    /// Asks for no rows of `Call`: cheap, and a right the panel needs anyway.
    fn probe(&mut self, candidate: Platform) {
        let wire = self.next_wire();
        let request = ApiRequest {
            method: Method::Get,
            resource: "Call?$top=0&$select=Id".into(),
            body: None,
        };
        let http = self.decorate(wire, &request, candidate);
        debug!(?candidate, "probing the OData flavour");
        self.transmits.push_back(http);
        self.state = State::Probing { wire, candidate };
    }

    fn on_probe_answer(&mut self, now: Instant, candidate: Platform, response: &HttpResponse) {
        if response.is_success() && !response.looks_like_html() {
            self.platform = PlatformChoice::Known(candidate);
            self.became_ready(now, candidate);
            return;
        }
        let root = self.site.odata_root(candidate);
        let error = match (response.status, ExpirySignal::of(response)) {
            (404, _) if candidate == Platform::NetFramework => {
                self.probe(Platform::NetCore);
                return;
            }
            (404, _) => AuthError::NoODataService(format!("{root} answered HTTP 404")),
            (_, Some(signal)) => signal.as_error_after_relogin(),
            (403, None) => AuthError::PermissionDenied(format!("{root} answered HTTP 403")),
            (status, None) => AuthError::Protocol(format!("{root} answered HTTP {status}")),
        };
        self.login_failed(now, error);
    }

    fn became_ready(&mut self, now: Instant, platform: Platform) {
        info!(?platform, "Creatio session ready");
        self.state = State::Ready;
        self.events.push_back(SessionEvent::LoggedIn { platform });
        self.pump(now);
    }

    fn login_failed(&mut self, now: Instant, error: AuthError) {
        warn!(%error, "Creatio login failed");
        self.drop_session();
        self.state = if error.is_transient() {
            State::LoggedOut
        } else {
            State::Refused(error.clone())
        };
        for queued in std::mem::take(&mut self.waiting) {
            self.events.push_back(SessionEvent::Failed {
                tag: queued.tag,
                error: RequestFailure::Auth(error.clone()),
            });
        }
        self.events.push_back(SessionEvent::AuthFailed(error));
        self.pump(now);
    }

    fn on_api_answer(&mut self, now: Instant, wire: WireId, response: HttpResponse) {
        let Some(flight) = self.in_flight.remove(&wire) else {
            warn!(%wire, "answer for a request that is not in flight");
            return;
        };
        let Some(signal) = ExpirySignal::of(&response) else {
            self.events.push_back(SessionEvent::Response {
                tag: flight.queued.tag,
                response,
            });
            return;
        };
        let mut queued = flight.queued;
        if queued.retried {
            warn!(?signal, "session still refused after logging in again");
            self.events.push_back(SessionEvent::Failed {
                tag: queued.tag,
                error: RequestFailure::Auth(signal.as_error_after_relogin()),
            });
            return;
        }
        info!(?signal, "Creatio session ended; logging in again");
        queued.retried = true;
        self.waiting.push_front(queued);
        if flight.generation == self.generation && matches!(self.state, State::Ready) {
            self.drop_session();
            self.state = State::LoggedOut;
        }
        self.pump(now);
    }

    /// Sends what can be sent, or starts the login that will let it be sent.
    fn pump(&mut self, now: Instant) {
        if let State::Refused(error) = &self.state {
            let error = error.clone();
            for queued in std::mem::take(&mut self.waiting) {
                self.events.push_back(SessionEvent::Failed {
                    tag: queued.tag,
                    error: RequestFailure::Auth(error.clone()),
                });
            }
            return;
        }
        if matches!(self.state, State::Ready) && self.bearer.as_ref().is_some_and(|b| !b.is_fresh(now)) {
            debug!("bearer token due for renewal");
            self.drop_session();
            self.state = State::LoggedOut;
        }
        match self.state {
            State::Ready => {
                let Some(platform) = self.platform() else {
                    return;
                };
                while let Some(queued) = self.waiting.pop_front() {
                    let wire = self.next_wire();
                    let http = self.decorate(wire, &queued.request, platform);
                    self.transmits.push_back(http);
                    let generation = self.generation;
                    self.in_flight.insert(wire, InFlight { queued, generation });
                }
            }
            State::LoggedOut if !self.waiting.is_empty() => {
                let wire = self.next_wire();
                self.transmits
                    .push_back(auth::login_request(&self.site, &self.credentials, wire));
                self.state = State::LoggingIn(wire);
            }
            _ => {}
        }
    }

    fn decorate(&self, wire: WireId, request: &ApiRequest, platform: Platform) -> HttpRequest {
        let path = format!(
            "{}/{}",
            self.site.odata_root(platform),
            request.resource.trim_start_matches('/')
        );
        let mut headers = vec![
            ("Accept".to_owned(), "application/json".to_owned()),
            ("ForceUseSession".to_owned(), "true".to_owned()),
        ];
        if request.body.is_some() {
            headers.push((
                "Content-Type".to_owned(),
                "application/json; charset=utf-8; IEEE754Compatible=true".to_owned(),
            ));
        }
        match &self.bearer {
            Some(bearer) => headers.push(("Authorization".to_owned(), bearer.header_value())),
            None => {
                if let Some(cookie) = self.jar.header_for(&path) {
                    headers.push(("Cookie".to_owned(), cookie));
                }
                if let Some(token) = self.jar.get(CSRF_COOKIE) {
                    headers.push((CSRF_COOKIE.to_owned(), token.to_owned()));
                }
            }
        }
        HttpRequest {
            id: wire,
            method: request.method,
            url: format!("{}{}", self.site.origin(), path),
            headers,
            body: request.body.clone(),
        }
    }

    fn drop_session(&mut self) {
        self.jar.clear();
        self.bearer = None;
    }

    fn next_wire(&mut self) -> WireId {
        let id = WireId(self.next_wire);
        self.next_wire += 1;
        id
    }
}
