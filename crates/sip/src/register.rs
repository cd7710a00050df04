//! Registration of one account (RFC 3261 §10): REGISTER with digest, refresh before the
//! granted expiry, 423 Min-Expires, re-registration with backoff after failures, and
//! unregistration (`Expires: 0`). One Call-ID for the life of the binding, CSeq + 1 per request.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{
    digest::{AuthError, Authenticator, Credentials},
    msg::{Contact, Method, NameAddr, Request, Response, SentBy, StatusCode, Uri, Via},
    transaction::{ClientEvent, ClientState, ClientTransaction, Reliability, TimerConfig, TransactionKey, new_branch},
};

/// What to register where.
#[derive(Debug, Clone)]
pub struct RegisterConfig {
    /// Request-URI: the registrar's domain (`sip:pbx.example.com`).
    pub registrar: Uri,
    /// Address of record, used in From and To (`sip:1001@pbx.example.com`).
    pub aor: Uri,
    /// Where we receive requests (`sip:1001@192.0.2.10:5060`).
    pub contact: Uri,
    /// Our address for the Via sent-by.
    pub via: SentBy,
    /// Via transport token (`UDP`, `TCP`, `TLS`).
    pub transport: String,
    pub reliability: Reliability,
    /// Expiry we ask for, in seconds.
    pub expires: u32,
    /// First retry delay after a failure; doubles per consecutive failure.
    pub retry_base: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
    pub user_agent: Option<String>,
    pub timers: TimerConfig,
    /// Behind NAT, re-register with the address the registrar saw (Via `received`/`rport`,
    /// RFC 3581) so calls can reach us.
    pub learn_public_address: bool,
}

impl RegisterConfig {
    pub fn new(registrar: Uri, aor: Uri, contact: Uri, via: SentBy) -> Self {
        Self {
            registrar,
            aor,
            contact,
            via,
            transport: "UDP".to_owned(),
            reliability: Reliability::Unreliable,
            expires: 3600,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(1800),
            user_agent: None,
            timers: TimerConfig::default(),
            learn_public_address: true,
        }
    }
}

/// Why a registration attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterFailure {
    #[error("registrar answered {status} {reason}")]
    Rejected { status: u16, reason: String },
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    #[error("registrar did not answer")]
    Timeout,
    #[error("registrar unreachable")]
    TransportError,
    #[error("registrar broke the protocol: {0}")]
    Protocol(&'static str),
}

/// What the account's owner learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterEvent {
    /// The binding is live for `expires` seconds (the registrar's grant).
    Registered { expires: u32 },
    /// An attempt failed; another starts after `retry_in`.
    Failed {
        reason: RegisterFailure,
        retry_in: Duration,
    },
    /// The binding was removed (or never existed).
    Unregistered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Registering,
    Registered,
    WaitingRetry,
    Unregistering,
    Unregistered,
}

/// The registration state machine of one account.
#[derive(Debug)]
pub struct Registration {
    config: RegisterConfig,
    auth: Authenticator,
    rng: StdRng,
    call_id: String,
    from_tag: String,
    cseq: u32,
    requested: u32,
    /// The REGISTER in flight answers a challenge (a second non-stale one means refusal).
    auth_retried: bool,
    /// Expires of the REGISTER last sent: 0 means it was an unregistration.
    sent_expires: u32,
    phase: Phase,
    transaction: Option<ClientTransaction>,
    /// Unregister was asked for while a REGISTER was in flight (RFC 3261 §10.2: one at a time).
    unregister_pending: bool,
    /// When to refresh (Registered) or retry (WaitingRetry).
    wake_at: Option<Instant>,
    failures: u32,
    /// The Contact we register: the configured one, or our public address once learnt.
    contact: Uri,
    /// A binding of ours to remove in the next REGISTER (the pre-NAT-discovery Contact).
    stale_contact: Option<Uri>,
    /// The REGISTER in flight already carries a learnt address: never rewrite twice in a row
    /// (a NAT that maps every request differently would otherwise loop).
    just_learned: bool,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<RegisterEvent>,
}

impl Registration {
    /// `seed` feeds Call-ID, tags, branches, cnonces and retry jitter.
    pub fn new(config: RegisterConfig, credentials: Credentials, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let call_id = format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>());
        let from_tag = format!("{:016x}", rng.random::<u64>());
        let auth = Authenticator::new(credentials, rng.random());
        let requested = config.expires;
        let contact = config.contact.clone();
        Self {
            config,
            auth,
            rng,
            call_id,
            from_tag,
            cseq: 0,
            requested,
            sent_expires: requested,
            auth_retried: false,
            phase: Phase::Idle,
            transaction: None,
            unregister_pending: false,
            wake_at: None,
            failures: 0,
            contact,
            stale_contact: None,
            just_learned: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn aor(&self) -> &Uri {
        &self.config.aor
    }

    pub fn contact(&self) -> NameAddr {
        NameAddr::new(self.contact.clone())
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    pub fn is_registered(&self) -> bool {
        self.phase == Phase::Registered
    }

    /// A REGISTER is in flight.
    pub fn is_busy(&self) -> bool {
        self.transaction.is_some()
    }

    /// Starts (or restarts) registering now.
    pub fn register(&mut self, now: Instant) {
        self.unregister_pending = false;
        if self.transaction.is_none() {
            self.send(now, self.requested);
        }
        self.phase = Phase::Registering;
    }

    /// Our address moved (a new connection): later REGISTERs carry `contact` and `via`, and the next one also
    /// removes the old Contact's binding.
    pub fn rebind(&mut self, contact: Uri, via: SentBy) {
        self.config.via = via;
        self.config.contact = contact.clone();
        let old = std::mem::replace(&mut self.contact, contact);
        // Before the first REGISTER there is no binding to remove.
        if old != self.contact && self.phase != Phase::Idle {
            self.stale_contact = Some(old);
        }
    }

    /// Removes the binding. Waits for a REGISTER in flight to finish first.
    pub fn unregister(&mut self, now: Instant) {
        match self.phase {
            Phase::Idle | Phase::Unregistered => {
                self.phase = Phase::Unregistered;
                self.events.push_back(RegisterEvent::Unregistered);
            }
            Phase::Registering | Phase::Unregistering if self.transaction.is_some() => {
                self.unregister_pending = true;
            }
            _ => self.start_unregister(now),
        }
    }

    fn start_unregister(&mut self, now: Instant) {
        self.unregister_pending = false;
        self.wake_at = None;
        self.phase = Phase::Unregistering;
        self.send(now, 0);
    }

    fn send(&mut self, now: Instant, expires: u32) {
        self.cseq += 1;
        self.sent_expires = expires;
        let mut request = Request::new(Method::Register, self.config.registrar.clone());
        let branch = new_branch(&mut self.rng);
        let mut via = Via::new(&self.config.transport, self.config.via.clone(), &branch);
        via.params.set("rport", None);
        let h = &mut request.headers;
        h.push("Via", via.to_string());
        h.push("Max-Forwards", "70");
        let mut from = NameAddr::new(self.config.aor.clone());
        from.params.set("tag", Some(&self.from_tag));
        h.push("From", from.to_string());
        h.push("To", NameAddr::new(self.config.aor.clone()).to_string());
        h.push("Call-ID", self.call_id.clone());
        h.push("CSeq", format!("{} REGISTER", self.cseq));
        h.push("Contact", NameAddr::new(self.contact.clone()).to_string());
        if let Some(stale) = self.stale_contact.take().filter(|_| expires != 0) {
            let mut old = NameAddr::new(stale);
            old.params.set("expires", Some("0"));
            h.push("Contact", old.to_string());
        }
        h.push("Expires", expires.to_string());
        if let Some(agent) = &self.config.user_agent {
            h.push("User-Agent", agent.clone());
        }
        self.auth.authorize(&mut request);
        match ClientTransaction::new(now, request, self.config.reliability, self.config.timers) {
            Ok(mut tx) => {
                self.transmits.extend(std::iter::from_fn(|| tx.poll_transmit()));
                self.transaction = Some(tx);
            }
            Err(error) => {
                tracing::error!(%error, "REGISTER could not start a transaction");
                self.fail(now, RegisterFailure::Protocol("REGISTER could not be built"), None);
            }
        }
    }

    /// Feeds a response; returns `false` if it belongs to no REGISTER of ours.
    pub fn handle_response(&mut self, now: Instant, response: Response) -> bool {
        let Some(tx) = self.transaction.as_mut() else {
            return false;
        };
        if TransactionKey::for_response(&response).ok().as_ref() != Some(tx.key()) {
            return false;
        }
        tx.handle_response(now, response);
        self.drain_transaction(now);
        true
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(tx) = self.transaction.as_mut() {
            tx.handle_timeout(now);
            self.drain_transaction(now);
        }
        if self.wake_at.is_some_and(|at| at <= now) {
            self.wake_at = None;
            match self.phase {
                Phase::Registered | Phase::WaitingRetry => {
                    tracing::debug!(phase = ?self.phase, "registration refresh");
                    self.register(now);
                }
                _ => {}
            }
        }
    }

    /// The transport could not reach the registrar.
    pub fn handle_transport_error(&mut self, now: Instant) {
        if let Some(tx) = self.transaction.as_mut() {
            tx.handle_transport_error();
            self.drain_transaction(now);
        }
    }

    fn drain_transaction(&mut self, now: Instant) {
        let Some(tx) = self.transaction.as_mut() else {
            return;
        };
        self.transmits.extend(std::iter::from_fn(|| tx.poll_transmit()));
        let events: Vec<ClientEvent> = std::iter::from_fn(|| tx.poll_event()).collect();
        // Once final, a REGISTER's retransmissions need no absorbing: a stray 200 is dropped.
        if matches!(tx.state(), ClientState::Completed | ClientState::Terminated) {
            self.transaction = None;
        }
        for event in events {
            match event {
                ClientEvent::Response(response) if response.status.is_final() => {
                    self.on_final(now, &response);
                }
                ClientEvent::Response(_) => {}
                ClientEvent::Timeout => self.fail(now, RegisterFailure::Timeout, None),
                ClientEvent::TransportError => self.fail(now, RegisterFailure::TransportError, None),
            }
        }
        if self.transaction.is_none() && self.unregister_pending {
            self.start_unregister(now);
        }
    }

    fn on_final(&mut self, now: Instant, response: &Response) {
        let status = response.status;
        let retried = std::mem::take(&mut self.auth_retried);
        if status.is_success() {
            return self.on_success(now, response);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            return match self.auth.on_challenge(response, retried) {
                Ok(()) => {
                    self.auth_retried = true;
                    self.resend(now);
                }
                Err(error) => self.fail(now, RegisterFailure::Auth(error), None),
            };
        }
        if status == StatusCode::INTERVAL_TOO_BRIEF && self.sent_expires != 0 {
            return match response.headers.min_expires() {
                Some(min) if min > self.requested => {
                    tracing::debug!(min, "registrar wants a longer expiry");
                    self.requested = min;
                    self.send(now, min);
                }
                _ => self.fail(now, RegisterFailure::Protocol("423 without a larger Min-Expires"), None),
            };
        }
        let retry_after = response
            .headers
            .get("Retry-After")
            .and_then(|v| v.split([';', ' ', '(']).next())
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map(|s| Duration::from_secs(s.into()));
        let reason = RegisterFailure::Rejected {
            status: status.code(),
            reason: response.reason.clone(),
        };
        self.fail(now, reason, retry_after);
    }

    fn resend(&mut self, now: Instant) {
        self.send(now, self.sent_expires);
    }

    fn on_success(&mut self, now: Instant, response: &Response) {
        self.failures = 0;
        if self.sent_expires == 0 {
            self.events.push_back(RegisterEvent::Unregistered);
            self.wake_at = None;
            if self.phase == Phase::Registering {
                // register() was called while the unregistration was in flight.
                self.send(now, self.requested);
            } else {
                self.phase = Phase::Unregistered;
            }
            return;
        }
        let Some(granted) = self.granted_expiry(response) else {
            return self.fail(now, RegisterFailure::Protocol("200 without our binding"), None);
        };
        if granted == 0 {
            return self.fail(now, RegisterFailure::Protocol("binding granted for 0 seconds"), None);
        }
        let learned_last_time = std::mem::take(&mut self.just_learned);
        if let Some(public) = self.public_contact(response).filter(|_| !learned_last_time) {
            tracing::info!("registrar sees another address: registering that one");
            self.just_learned = true;
            self.stale_contact = Some(std::mem::replace(&mut self.contact, public));
            self.send(now, self.requested);
            return;
        }
        self.phase = Phase::Registered;
        self.wake_at = Some(now + refresh_delay(granted));
        tracing::info!(granted, "registered");
        self.events.push_back(RegisterEvent::Registered { expires: granted });
    }

    /// Our Contact rewritten to the address the registrar saw, when that differs (RFC 3581).
    fn public_contact(&self, response: &Response) -> Option<Uri> {
        if !self.config.learn_public_address {
            return None;
        }
        let via = response.headers.top_via().ok()?;
        let host = via.received().unwrap_or_else(|| via.sent_by.host.clone());
        let port = via.rport().flatten().or(via.sent_by.port).unwrap_or(5060);
        let seen = format!("{host}:{port}");
        if seen.eq_ignore_ascii_case(self.contact.host_port()) {
            return None;
        }
        let user = self.contact.user().map(|u| format!("{u}@")).unwrap_or_default();
        Uri::parse(&format!("{}:{user}{seen}", self.contact.scheme())).ok()
    }

    /// The expiry of our Contact in the 200, else the Expires header, else what we asked.
    fn granted_expiry(&self, response: &Response) -> Option<u32> {
        let contacts = response.headers.contacts().unwrap_or_default();
        let ours = contacts.iter().find(|c| match c {
            Contact::Address(a) => same_contact(&a.uri, &self.contact),
            Contact::Star => false,
        });
        match ours {
            Some(contact) => contact
                .expires()
                .or(response.headers.expires())
                .or(Some(self.requested)),
            None if contacts.is_empty() => response.headers.expires().or(Some(self.requested)),
            None => None,
        }
    }

    fn fail(&mut self, now: Instant, reason: RegisterFailure, retry_after: Option<Duration>) {
        self.auth_retried = false;
        self.failures = self.failures.saturating_add(1);
        let exponent = self.failures.saturating_sub(1).min(16);
        let ceiling = self
            .config
            .retry_base
            .saturating_mul(1 << exponent)
            .min(self.config.retry_max);
        // Jitter in [50 %, 100 %] of the ceiling keeps a whole call-center from retrying in step.
        let jittered = ceiling.mul_f64(self.rng.random_range(0.5..=1.0));
        let retry_in = retry_after.map_or(jittered, |r| r.max(jittered));
        tracing::warn!(%reason, ?retry_in, "registration failed");
        if self.sent_expires == 0 && self.phase != Phase::Registering {
            self.phase = Phase::Unregistered;
            self.wake_at = None;
            self.events.push_back(RegisterEvent::Failed {
                reason,
                retry_in: Duration::ZERO,
            });
            self.events.push_back(RegisterEvent::Unregistered);
            return;
        }
        self.phase = Phase::WaitingRetry;
        self.wake_at = Some(now + retry_in);
        self.events.push_back(RegisterEvent::Failed { reason, retry_in });
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<RegisterEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.transaction.as_ref().and_then(ClientTransaction::poll_timeout);
        match (tx, self.wake_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Refresh well before expiry: at 80 % of short grants, 60 s early for long ones, so a lost
/// refresh still has time for its retransmissions (Timer F is 32 s).
fn refresh_delay(granted: u32) -> Duration {
    let granted = Duration::from_secs(granted.into());
    granted
        .mul_f64(0.8)
        .max(granted.saturating_sub(Duration::from_secs(60)))
}

/// Registrars may re-order or re-case URI parts; user and host-port identify the binding.
fn same_contact(theirs: &Uri, ours: &Uri) -> bool {
    theirs.as_str().eq_ignore_ascii_case(ours.as_str())
        || (theirs.user() == ours.user() && theirs.host_port().eq_ignore_ascii_case(ours.host_port()))
}
