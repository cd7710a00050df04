//! The durable outbox of `Call` writes: nothing the panel owes Creatio is lost when Creatio is
//! slow, down, or the workstation crashes.
//!
//! Every record and every state change is a serialisable value. The driver persists what
//! [`Outbox::take_changes`] returns, in one transaction, **before** it sends the request
//! [`Outbox::poll_request`] just returned; after a crash it rebuilds the outbox with
//! [`Outbox::restore`] from what it stored.
//!
//! ```text
//!   enqueue -> Pending --poll--> Sending --2xx--------------------------> done (removed)
//!                 ^                 |--no answer, login failing, 401/403,
//!                 |                 |  502-504-------------------------> Pending (Creatio-wide pause)
//!                 |                 |--3xx, 408, 425, 429, other 5xx---> Pending (record backoff)
//!                 |                 |--other 4xx-----------------------> Rejected (kept, exportable)
//!                 |                 '--a refused create, or any failure
//!                 |                    after a lost answer-------------> Confirming --GET 200--> done
//!                 '-----------------------------------------------------------'--GET 404--> by status
//! ```
//!
//! Writes of one call go strictly in order (an update never overtakes its create); calls are
//! independent of each other. A create carries a client-chosen `Id`, so a POST repeated after
//! a lost `201` cannot create a second record: if Creatio refuses the repeat, a GET decides
//! whether the first one landed. Session expiry never reaches the outbox: the
//! [`crate::session::Session`] repairs it; a login that keeps failing pauses the outbox.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::calls::CallWrite;
use crate::error::AuthError;
use crate::http::HttpResponse;
use crate::session::{ApiRequest, RequestFailure};
use crate::wire::{CreatioTime, ODataError};

/// Position in the outbox; also the delivery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RecordId(pub u64);

/// One request the outbox has out, to match its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RecordState {
    Pending,
    Sending,
    /// Asking whether an earlier POST created the record after all.
    Confirming,
    /// Creatio refused it for good; kept so the operator can see and export it.
    Rejected {
        reason: String,
    },
}

/// A stored write and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub id: RecordId,
    pub write: CallWrite,
    pub state: RecordState,
    /// How many times it has been sent.
    pub attempts: u32,
    /// A POST of this create may have reached Creatio without us seeing the answer.
    pub maybe_delivered: bool,
    pub last_error: Option<String>,
    /// When the panel recorded it (wall clock, given by the driver), so the UI can say how long the oldest
    /// record has waited. Absent in files written before it existed.
    #[serde(default)]
    pub queued_at: Option<CreatioTime>,
}

impl Record {
    fn is_rejected(&self) -> bool {
        matches!(self.state, RecordState::Rejected { .. })
    }
}

/// What the store must do to mirror the outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    Upsert(Box<Record>),
    /// Delivered (or discarded by the operator after export).
    Remove(RecordId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    Delivered {
        record: RecordId,
        call: Uuid,
    },
    Rejected {
        record: RecordId,
        call: Uuid,
        reason: String,
    },
}

/// The request to send, through the session, for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRequest {
    pub id: RequestId,
    pub request: ApiRequest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Delay after the first failure; doubles per failure up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// Seeds the jitter, so a test run, or two panels started together, are reproducible
    /// yet do not retry in lock-step.
    pub seed: u64,
    pub max_in_flight: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(300),
            seed: 0,
            max_in_flight: 4,
        }
    }
}

/// Why everything is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageKind {
    Unreachable,
    Login,
    Unavailable,
}

/// A Creatio-wide problem: while it lasts, only one request at a time probes for recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub kind: OutageKind,
    pub since: Instant,
    pub reason: String,
    failures: u32,
    next_probe: Instant,
}

impl Outage {
    /// "Creatio unreachable since 10:42: connection refused"; `show_time` renders the instant as wall time.
    pub fn describe(&self, show_time: impl Fn(Instant) -> String) -> String {
        let what = match self.kind {
            OutageKind::Unreachable => "Creatio unreachable",
            OutageKind::Login => "Creatio login failing",
            OutageKind::Unavailable => "Creatio unavailable",
        };
        format!("{what} since {}: {}", show_time(self.since), self.reason)
    }
}

/// What the UI shows about the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatus {
    pub waiting: usize,
    pub rejected: usize,
    pub outage: Option<Outage>,
}

impl OutboxStatus {
    /// "3 records waiting; Creatio unreachable since 10:42: connection refused". The caller
    /// renders the instant as local wall time (the core has no wall clock).
    pub fn describe(&self, show_time: impl Fn(Instant) -> String) -> String {
        let mut parts = Vec::new();
        match self.waiting {
            0 if self.outage.is_none() && self.rejected == 0 => {
                return "All calls are saved in Creatio".into();
            }
            0 => {}
            1 => parts.push("1 record waiting".to_owned()),
            n => parts.push(format!("{n} records waiting")),
        }
        if let Some(outage) = &self.outage {
            parts.push(outage.describe(&show_time));
        }
        match self.rejected {
            0 => {}
            1 => parts.push("1 record rejected by Creatio".into()),
            n => parts.push(format!("{n} records rejected by Creatio")),
        }
        parts.join("; ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Write,
    /// The write failed after a possibly lost answer; `permanent` says how the failure
    /// counts if the record turns out not to exist.
    Confirm {
        permanent: bool,
    },
}

/// How an answer to a write counts.
enum Verdict {
    Done,
    /// Creatio-wide trouble: pause everything.
    Outage(OutageKind, String),
    /// Try this record again later.
    Retry(String),
    /// Will never succeed as it is.
    Permanent(String),
}

#[derive(Debug)]
pub struct Outbox {
    config: OutboxConfig,
    records: BTreeMap<RecordId, Record>,
    retry_at: HashMap<RecordId, Instant>,
    in_flight: HashMap<RequestId, (RecordId, Phase)>,
    outage: Option<Outage>,
    /// Confirmation GETs decided while handling an answer, sent before anything else.
    confirmations: VecDeque<OutboxRequest>,
    changes: Vec<Change>,
    events: VecDeque<OutboxEvent>,
    next_record: u64,
    next_request: u64,
}

impl Outbox {
    pub fn new(config: OutboxConfig) -> Self {
        Outbox {
            config,
            records: BTreeMap::new(),
            retry_at: HashMap::new(),
            in_flight: HashMap::new(),
            outage: None,
            confirmations: VecDeque::new(),
            changes: Vec::new(),
            events: VecDeque::new(),
            next_record: 1,
            next_request: 1,
        }
    }

    /// Rebuilds the outbox after a restart. A record that was being sent may have reached
    /// Creatio: a create is marked so its repeat is confirmed before it is trusted.
    pub fn restore(config: OutboxConfig, stored: Vec<Record>) -> Self {
        let mut outbox = Outbox::new(config);
        for mut record in stored {
            if matches!(record.state, RecordState::Sending | RecordState::Confirming) {
                record.maybe_delivered |= record.write.is_create();
                record.state = RecordState::Pending;
                outbox.changes.push(Change::Upsert(Box::new(record.clone())));
            }
            outbox.next_record = outbox.next_record.max(record.id.0 + 1);
            outbox.records.insert(record.id, record);
        }
        info!(records = outbox.records.len(), "outbox restored");
        outbox
    }

    /// Adds a write. If its call's create was rejected, the write is rejected too (and kept):
    /// Creatio has no record to apply it to.
    pub fn enqueue(&mut self, write: CallWrite) -> RecordId {
        self.add(write, None)
    }

    /// [`Outbox::enqueue`], noting the wall-clock time of recording for [`Outbox::oldest_queued`].
    pub fn enqueue_at(&mut self, write: CallWrite, queued_at: CreatioTime) -> RecordId {
        self.add(write, Some(queued_at))
    }

    fn add(&mut self, write: CallWrite, queued_at: Option<CreatioTime>) -> RecordId {
        let id = RecordId(self.next_record);
        self.next_record += 1;
        let call = write.call_id();
        let blocked = self
            .records
            .values()
            .any(|r| r.is_rejected() && r.write.is_create() && r.write.call_id() == call);
        let mut record = Record {
            id,
            write,
            state: RecordState::Pending,
            attempts: 0,
            maybe_delivered: false,
            last_error: None,
            queued_at,
        };
        if blocked {
            let reason = "not sent: Creatio refused to create this call's record".to_owned();
            record.state = RecordState::Rejected { reason: reason.clone() };
            self.events.push_back(OutboxEvent::Rejected {
                record: id,
                call,
                reason,
            });
        }
        self.changes.push(Change::Upsert(Box::new(record.clone())));
        self.records.insert(id, record);
        id
    }

    /// The next request to send, if one may go now. Persist [`Outbox::take_changes`] before
    /// sending it.
    pub fn poll_request(&mut self, now: Instant) -> Option<OutboxRequest> {
        if let Some(confirmation) = self.confirmations.pop_front() {
            return Some(confirmation);
        }
        if self.in_flight.len() >= self.config.max_in_flight {
            return None;
        }
        if let Some(outage) = &self.outage
            && (now < outage.next_probe || !self.in_flight.is_empty())
        {
            return None;
        }
        let record_id = self.next_ready(now)?;
        let record = self.records.get_mut(&record_id)?;
        record.state = RecordState::Sending;
        record.attempts += 1;
        let request = record.write.request();
        debug!(record = record_id.0, attempt = record.attempts, "sending call write");
        self.changes.push(Change::Upsert(Box::new(record.clone())));
        self.retry_at.remove(&record_id);
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.in_flight.insert(id, (record_id, Phase::Write));
        Some(OutboxRequest { id, request })
    }

    /// The first record of each call that is not rejected, if it is waiting and due.
    fn next_ready(&self, now: Instant) -> Option<RecordId> {
        let mut seen_calls = HashSet::new();
        self.records
            .values()
            .filter(|r| !r.is_rejected())
            .filter(|r| seen_calls.insert(r.write.call_id()))
            .find(|r| r.state == RecordState::Pending && self.retry_at.get(&r.id).is_none_or(|at| *at <= now))
            .map(|r| r.id)
    }

    /// When to call [`Outbox::poll_request`] again if nothing else happens (after draining
    /// it). `None`: wait for an answer or a new record.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight.len() >= self.config.max_in_flight {
            return None;
        }
        let mut seen_calls = HashSet::new();
        // The earliest moment a call's next write may go; `None` inside: right away.
        let due = self
            .records
            .values()
            .filter(|r| !r.is_rejected())
            .filter(|r| seen_calls.insert(r.write.call_id()))
            .filter(|r| r.state == RecordState::Pending)
            .map(|r| self.retry_at.get(&r.id).copied())
            .min_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            })?;
        match &self.outage {
            Some(_) if !self.in_flight.is_empty() => None,
            Some(outage) => Some(due.map_or(outage.next_probe, |at| at.max(outage.next_probe))),
            None => due,
        }
    }

    pub fn handle_response(&mut self, now: Instant, request: RequestId, response: &HttpResponse) {
        let Some((record_id, phase)) = self.in_flight.remove(&request) else {
            warn!(request = request.0, "answer for a request the outbox does not have out");
            return;
        };
        if !matches!(classify(response), Verdict::Outage(..)) {
            self.end_outage();
        }
        let Some(record) = self.records.get(&record_id) else {
            debug!(record = record_id.0, "answer for a record no longer stored");
            return;
        };
        let is_create = record.write.is_create();
        let maybe_delivered = record.maybe_delivered;
        match phase {
            Phase::Write => match classify(response) {
                Verdict::Done => self.delivered(record_id),
                // A refused create may be a duplicate: the record exists when an earlier POST landed unseen, or
                // when the panel recorded the same create twice (it retried a write it was not sure was saved).
                // The client-chosen `Id` makes a GET decide.
                verdict if is_create && (maybe_delivered || !matches!(verdict, Verdict::Outage(..))) => {
                    let permanent = matches!(verdict, Verdict::Permanent(_));
                    self.confirm(record_id, permanent, describe(&verdict));
                }
                Verdict::Outage(kind, reason) => self.outage_failure(now, record_id, kind, reason),
                Verdict::Retry(reason) => self.retry_later(now, record_id, reason),
                Verdict::Permanent(reason) => self.reject(record_id, reason),
            },
            Phase::Confirm { permanent } => match response.status {
                200..=299 if !response.looks_like_html() => {
                    info!(record = record_id.0, "earlier POST had created the call record");
                    self.delivered(record_id);
                }
                404 => {
                    if let Some(record) = self.records.get_mut(&record_id) {
                        record.maybe_delivered = false;
                    }
                    let reason = self.last_error(record_id);
                    if permanent {
                        self.reject(record_id, reason);
                    } else {
                        self.retry_later(now, record_id, reason);
                    }
                }
                _ => match classify(response) {
                    Verdict::Outage(kind, reason) => {
                        self.outage_failure(now, record_id, kind, reason);
                    }
                    verdict => self.retry_later(now, record_id, describe(&verdict)),
                },
            },
        }
    }

    /// The request got no answer (transport) or could not be authenticated (login failing).
    pub fn handle_failure(&mut self, now: Instant, request: RequestId, failure: &RequestFailure) {
        let Some((record_id, phase)) = self.in_flight.remove(&request) else {
            warn!(
                request = request.0,
                "failure for a request the outbox does not have out"
            );
            return;
        };
        let (kind, reason) = match failure {
            RequestFailure::Transport(error) => {
                if phase == Phase::Write
                    && let Some(record) = self.records.get_mut(&record_id)
                {
                    // The POST may have been processed even though no answer arrived.
                    record.maybe_delivered |= record.write.is_create();
                }
                (OutageKind::Unreachable, error.to_string())
            }
            RequestFailure::Auth(AuthError::Unreachable(reason)) => (OutageKind::Unreachable, reason.clone()),
            RequestFailure::Auth(error) => (OutageKind::Login, error.to_string()),
        };
        self.outage_failure(now, record_id, kind, reason);
    }

    fn delivered(&mut self, record_id: RecordId) {
        if let Some(record) = self.records.remove(&record_id) {
            debug!(record = record_id.0, "call write delivered");
            self.retry_at.remove(&record_id);
            self.changes.push(Change::Remove(record_id));
            self.events.push_back(OutboxEvent::Delivered {
                record: record_id,
                call: record.write.call_id(),
            });
        }
        self.end_outage();
    }

    /// Any answer that is not itself Creatio-wide trouble proves Creatio is back.
    fn end_outage(&mut self) {
        if self.outage.take().is_some() {
            info!("Creatio reachable again");
        }
    }

    fn confirm(&mut self, record_id: RecordId, permanent: bool, reason: String) {
        let Some(record) = self.records.get_mut(&record_id) else {
            return;
        };
        info!(
            record = record_id.0,
            "repeated create refused; checking whether it exists"
        );
        record.state = RecordState::Confirming;
        record.last_error = Some(reason);
        let request = record.write.confirm_request();
        self.changes.push(Change::Upsert(Box::new(record.clone())));
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.in_flight.insert(id, (record_id, Phase::Confirm { permanent }));
        self.confirmations.push_back(OutboxRequest { id, request });
    }

    fn back_to_pending(&mut self, record_id: RecordId, reason: String) {
        if let Some(record) = self.records.get_mut(&record_id) {
            record.state = RecordState::Pending;
            record.last_error = Some(reason);
            self.changes.push(Change::Upsert(Box::new(record.clone())));
        }
    }

    fn retry_later(&mut self, now: Instant, record_id: RecordId, reason: String) {
        let attempts = self.records.get(&record_id).map_or(1, |r| r.attempts);
        let delay = self.backoff(attempts, record_id.0);
        warn!(record = record_id.0, %reason, ?delay, "call write will be retried");
        self.back_to_pending(record_id, reason);
        self.retry_at.insert(record_id, now + delay);
    }

    fn outage_failure(&mut self, now: Instant, record_id: RecordId, kind: OutageKind, reason: String) {
        self.back_to_pending(record_id, reason.clone());
        if let Some(outage) = self.outage.as_mut()
            && now < outage.next_probe
        {
            // Requests sent before the pause began fail one after another; they are one
            // failure, not several, so they must not stretch the backoff.
            outage.reason = reason;
            return;
        }
        let failures = self.outage.as_ref().map_or(0, |o| o.failures) + 1;
        let delay = self.backoff(failures, u64::MAX - u64::from(failures));
        let since = self.outage.as_ref().map_or(now, |o| o.since);
        warn!(?kind, %reason, ?delay, "Creatio-wide problem; pausing the outbox");
        self.outage = Some(Outage {
            kind,
            since,
            reason,
            failures,
            next_probe: now + delay,
        });
    }

    fn reject(&mut self, record_id: RecordId, reason: String) {
        let Some(record) = self.records.get_mut(&record_id) else {
            return;
        };
        warn!(record = record_id.0, %reason, "Creatio rejected a call write; keeping it");
        record.state = RecordState::Rejected { reason: reason.clone() };
        record.last_error = Some(reason.clone());
        let call = record.write.call_id();
        let is_create = record.write.is_create();
        self.changes.push(Change::Upsert(Box::new(record.clone())));
        self.retry_at.remove(&record_id);
        self.events.push_back(OutboxEvent::Rejected {
            record: record_id,
            call,
            reason,
        });
        if is_create {
            let later: Vec<RecordId> = self
                .records
                .values()
                .filter(|r| r.id > record_id && r.write.call_id() == call && !r.is_rejected())
                .map(|r| r.id)
                .collect();
            for id in later {
                self.reject(id, "not sent: Creatio refused to create this call's record".into());
            }
        }
    }

    fn last_error(&self, record_id: RecordId) -> String {
        self.records
            .get(&record_id)
            .and_then(|r| r.last_error.clone())
            .unwrap_or_default()
    }

    /// `first_retry · 2^(n-1)`, capped, then scaled into 75–100 % by a hash of the seed and
    /// `salt`: deterministic for a seed, different across records.
    fn backoff(&self, failures: u32, salt: u64) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let base = self
            .config
            .first_retry
            .saturating_mul(1 << exponent)
            .min(self.config.max_retry);
        let spread = splitmix64(self.config.seed ^ salt.rotate_left(17) ^ u64::from(failures)) % 251;
        base.mul_f64((750 + spread) as f64 / 1000.0)
    }

    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    pub fn poll_event(&mut self) -> Option<OutboxEvent> {
        self.events.pop_front()
    }

    /// Every stored record (waiting, in flight, rejected), in delivery order.
    pub fn snapshot(&self) -> Vec<Record> {
        self.records.values().cloned().collect()
    }

    pub fn status(&self) -> OutboxStatus {
        let rejected = self.records.values().filter(|r| r.is_rejected()).count();
        OutboxStatus {
            waiting: self.records.len() - rejected,
            rejected,
            outage: self.outage.clone(),
        }
    }

    /// When the longest-waiting record still to be delivered was recorded (records without a time are skipped).
    pub fn oldest_queued(&self) -> Option<CreatioTime> {
        self.records
            .values()
            .filter(|r| !r.is_rejected())
            .filter_map(|r| r.queued_at)
            .min()
    }

    /// Why records are waiting, as one sentence for the operator: the Creatio-wide outage if there is one
    /// ("Creatio unreachable since 10:42: connection refused"), else the last failure of a waiting record. `None`
    /// when nothing waiting has failed.
    pub fn failure(&self, show_time: impl Fn(Instant) -> String) -> Option<String> {
        if let Some(outage) = &self.outage {
            return Some(outage.describe(show_time));
        }
        self.records
            .values()
            .filter(|r| !r.is_rejected())
            .find_map(|r| r.last_error.as_ref())
            .map(|reason| format!("Creatio did not accept a call record yet: {reason}"))
    }

    /// Whether writes of this call are still stored (waiting, in flight or rejected).
    pub fn holds_call(&self, call: Uuid) -> bool {
        self.records.values().any(|r| r.write.call_id() == call)
    }

    /// The operator has exported a rejected record and lets it go. Only rejected records can
    /// be discarded: nothing waiting is ever dropped.
    pub fn discard_rejected(&mut self, record_id: RecordId) -> bool {
        if !self.records.get(&record_id).is_some_and(Record::is_rejected) {
            return false;
        }
        self.records.remove(&record_id);
        self.changes.push(Change::Remove(record_id));
        true
    }
}

fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Done => String::new(),
        Verdict::Outage(_, reason) | Verdict::Retry(reason) | Verdict::Permanent(reason) => reason.clone(),
    }
}

fn classify(response: &HttpResponse) -> Verdict {
    let status = response.status;
    let detail = || {
        let message = ODataError::parse(&response.body)
            .map(|e| e.best_message().to_owned())
            .filter(|m| !m.is_empty());
        match message {
            Some(m) => format!("HTTP {status}: {m}"),
            None => format!("HTTP {status}"),
        }
    };
    match status {
        200..=299 if !response.looks_like_html() => Verdict::Done,
        200..=299 => Verdict::Retry("Creatio answered with a web page instead of data".into()),
        401 | 403 => Verdict::Outage(OutageKind::Login, format!("Creatio denied access ({})", detail())),
        502..=504 => Verdict::Outage(OutageKind::Unavailable, detail()),
        300..=399 | 408 | 425 | 429 | 500..=599 => Verdict::Retry(detail()),
        _ => Verdict::Permanent(detail()),
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outage(kind: OutageKind, reason: &str) -> Outage {
        let now = Instant::now();
        Outage {
            kind,
            since: now,
            reason: reason.into(),
            failures: 1,
            next_probe: now,
        }
    }

    #[test]
    fn status_sentences() {
        let show = |_| "10:42".to_owned();
        let status = |waiting, rejected, outage| OutboxStatus {
            waiting,
            rejected,
            outage,
        };
        assert_eq!(status(0, 0, None).describe(show), "All calls are saved in Creatio");
        assert_eq!(status(1, 0, None).describe(show), "1 record waiting");
        assert_eq!(
            status(3, 0, Some(outage(OutageKind::Unreachable, "connection refused"))).describe(show),
            "3 records waiting; Creatio unreachable since 10:42: connection refused"
        );
        assert_eq!(
            status(2, 2, Some(outage(OutageKind::Login, "wrong password"))).describe(show),
            "2 records waiting; Creatio login failing since 10:42: wrong password; \
             2 records rejected by Creatio"
        );
        assert_eq!(
            status(0, 0, Some(outage(OutageKind::Unavailable, "HTTP 503"))).describe(show),
            "Creatio unavailable since 10:42: HTTP 503"
        );
    }

    #[test]
    fn answers_are_classified_by_whose_problem_they_are() {
        let cases: &[(u16, &str)] = &[
            (200, "done"),
            (201, "done"),
            (204, "done"),
            (302, "retry"),
            (400, "permanent"),
            (401, "outage"),
            (403, "outage"),
            (404, "permanent"),
            (405, "permanent"),
            (408, "retry"),
            (409, "permanent"),
            (429, "retry"),
            (500, "retry"),
            (502, "outage"),
            (503, "outage"),
            (504, "outage"),
        ];
        for (status, expected) in cases {
            let got = match classify(&HttpResponse::new(*status)) {
                Verdict::Done => "done",
                Verdict::Outage(..) => "outage",
                Verdict::Retry(_) => "retry",
                Verdict::Permanent(_) => "permanent",
            };
            assert_eq!(got, *expected, "HTTP {status}");
        }
    }

    #[test]
    fn backoff_doubles_within_jitter_and_stays_capped() {
        let outbox = Outbox::new(OutboxConfig::default());
        for failures in 1..30 {
            let nominal = Duration::from_secs(2)
                .saturating_mul(1 << (failures - 1).min(20))
                .min(Duration::from_secs(300));
            let delay = outbox.backoff(failures, 9);
            assert!(delay <= nominal && delay >= nominal * 3 / 4, "{failures}: {delay:?}");
        }
    }
}
