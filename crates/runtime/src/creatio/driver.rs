//! The tokio driver of the Creatio core: one task owns the [`Session`], the [`Outbox`] and the [`Identifier`].
//!
//! The task `select!`s over a bounded command channel, the HTTP exchanges it has out, and
//! `sleep_until(outbox.poll_timeout())`; whatever woke it becomes one `handle_*` call, after which it runs the loop
//! documented in the `creatio` crate until nothing moves: take the outbox's requests, **commit the outbox changes
//! to the store**, only then submit the requests to the session, start the session's transmits, and route the
//! session's answers to the outbox, a pending caller lookup, or the settings reader.
//!
//! Each HTTP exchange runs as its own small task in a [`JoinSet`], so a slow Creatio never blocks a command; the
//! set is dropped with the driver, which aborts whatever is still out. The SQLite commit runs on the blocking pool
//! with the store moved in and back, so the task never shares the store and never blocks the runtime's threads.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Instant, SystemTime};

use creatio::auth::Credentials;
use creatio::calls::CallWrite;
use creatio::history::{self, HistoryEntry};
use creatio::http::{HttpResponse, TransportError, WireId};
use creatio::identify::{self, Identification, Identifier, Lookup, LookupPart, Start};
use creatio::outbox::{Change, Outbox, OutboxEvent, RecordId, RequestId};
use creatio::session::{RequestFailure, Session, SessionEvent};
use creatio::wire::CreatioTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::clock::WallClock;
use super::link::{CallHistory, Command, CreatioEvent, CreatioSettings, CreatioStatus, IdentifyError, LinkError};
use super::store::OutboxStore;
use super::transport::Transport;

/// Who asked for a request the session carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Outbox(RequestId),
    Lookup {
        id: u64,
        part: LookupPart,
    },
    Settings,
    /// Which contact the logged-in user is, for a history request.
    HistoryUser {
        id: u64,
    },
    /// The user's recent calls, for a history request.
    HistoryCalls {
        id: u64,
    },
}

/// One finished HTTP exchange: the wire request and what came back.
type Exchange = (WireId, Result<HttpResponse, TransportError>);

struct PendingLookup {
    lookup: Lookup,
    reply: oneshot::Sender<Result<Identification, IdentifyError>>,
}

/// A history request waiting for Creatio, with the local list to merge or fall back to.
struct PendingHistory {
    limit: usize,
    local: Vec<HistoryEntry>,
    reply: oneshot::Sender<Result<CallHistory, LinkError>>,
}

/// Names remembered from identifications, for the local history; forgotten wholesale beyond this.
const NAMES_KEPT: usize = 4096;

/// The task's state: the three cores, the store and what is in flight.
pub(super) struct Driver {
    session: Session<Tag>,
    outbox: Outbox,
    identifier: Identifier,
    /// `None` only while a commit runs on the blocking pool (or after that thread died).
    store: Option<OutboxStore>,
    /// Changes taken from the outbox and not yet committed, oldest first.
    unsaved: Vec<Change>,
    store_failing: bool,
    transport: Transport,
    exchanges: JoinSet<Exchange>,
    /// Which wire request each exchange task carries, to answer for a task that panicked.
    wires: HashMap<tokio::task::Id, WireId>,
    lookups: HashMap<u64, PendingLookup>,
    next_lookup: u64,
    /// Whether the number-length settings were asked for in this session.
    settings_read: bool,
    histories: HashMap<u64, PendingHistory>,
    next_history: u64,
    /// The forms login, whose calls the history lists; `None` with OAuth client credentials (no operator).
    login: Option<String>,
    /// The logged-in user's contact (`Call.CreatedById`), once asked.
    my_contact: Option<Uuid>,
    /// Display names of identified contacts and accounts, by id.
    names: HashMap<Uuid, String>,
    clock: WallClock,
    events: mpsc::Sender<CreatioEvent>,
}

impl Driver {
    pub(super) fn new(
        settings: CreatioSettings,
        outbox: Outbox,
        store: OutboxStore,
        transport: Transport,
        events: mpsc::Sender<CreatioEvent>,
    ) -> Driver {
        let login = login_of(&settings.credentials);
        Driver {
            session: Session::new(settings.site, settings.platform, settings.credentials),
            outbox,
            identifier: Identifier::new(settings.identify),
            store: Some(store),
            unsaved: Vec::new(),
            store_failing: false,
            transport,
            exchanges: JoinSet::new(),
            wires: HashMap::new(),
            lookups: HashMap::new(),
            next_lookup: 0,
            settings_read: false,
            histories: HashMap::new(),
            next_history: 0,
            login,
            my_contact: None,
            names: HashMap::new(),
            clock: settings.clock,
            events,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        info!(waiting = self.outbox.status().waiting, "Creatio driver started");
        loop {
            self.drive().await;
            let deadline = self.outbox.poll_timeout();
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else {
                        self.final_commit().await;
                        break;
                    };
                    if self.handle_command(command).await.is_break() {
                        break;
                    }
                }
                Some(done) = self.exchanges.join_next_with_id(), if !self.exchanges.is_empty() => {
                    self.handle_exchange(done);
                }
                () = sleep_until_deadline(deadline), if deadline.is_some() => {}
            }
        }
        info!("Creatio driver stopped");
    }

    /// Carries out one command; `Break` once the task should end.
    async fn handle_command(&mut self, command: Command) -> ControlFlow<()> {
        let now = Instant::now();
        match command {
            Command::Identify { number, reply } => self.identify(now, &number, reply),
            Command::Record { writes, reply } => {
                let queued_at = CreatioTime::from(SystemTime::now());
                let records: Vec<RecordId> = writes
                    .iter()
                    .map(|w| self.outbox.enqueue_at(w.clone(), queued_at))
                    .collect();
                let answer = match self.persist().await {
                    Ok(()) => Ok(records),
                    Err(reason) => Err(LinkError::NotSaved { records, reason }),
                };
                let _gone = reply.send(answer);
                self.remember(writes).await;
            }
            Command::Rejected { reply } => {
                let answer = match self.on_store(|store| store.rejected()).await {
                    Ok(rejected) => rejected.map_err(LinkError::from),
                    Err(reason) => Err(LinkError::Unavailable(reason)),
                };
                let _gone = reply.send(answer);
            }
            Command::History { limit, reply } => self.history(now, limit, reply).await,
            Command::Status { reply } => {
                let _gone = reply.send(self.status());
            }
            Command::ExportRejected { reply } => {
                let answer = match self.on_store(|store| store.export_rejected()).await {
                    Ok(exported) => exported.map_err(LinkError::from),
                    Err(reason) => Err(LinkError::Unavailable(reason)),
                };
                let _gone = reply.send(answer);
            }
            Command::DiscardRejected { record, reply } => {
                let discarded = self.outbox.discard_rejected(record);
                let answer = match self.persist().await {
                    Ok(()) => Ok(discarded),
                    Err(reason) => Err(LinkError::NotSaved {
                        records: vec![record],
                        reason,
                    }),
                };
                let _gone = reply.send(answer);
            }
            Command::SetCredentials { credentials } => {
                info!("Creatio credentials replaced");
                self.login = login_of(&credentials);
                self.my_contact = None;
                self.session.set_credentials(now, credentials);
            }
            Command::Shutdown { reply } => {
                self.final_commit().await;
                let _gone = reply.send(());
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    fn identify(&mut self, now: Instant, number: &str, reply: oneshot::Sender<Result<Identification, IdentifyError>>) {
        match self.identifier.start(now, number) {
            Start::Known(identification) => {
                self.learn_names(&identification);
                let _gone = reply.send(Ok(identification));
            }
            Start::Ask(lookup) => {
                let id = self.next_lookup;
                self.next_lookup += 1;
                for (part, request) in lookup.requests() {
                    self.session
                        .submit(now, Tag::Lookup { id, part: *part }, request.clone());
                }
                self.lookups.insert(id, PendingLookup { lookup, reply });
            }
        }
    }

    fn handle_exchange(&mut self, done: Result<(tokio::task::Id, Exchange), tokio::task::JoinError>) {
        let now = Instant::now();
        match done {
            Ok((task, (wire, answer))) => {
                self.wires.remove(&task);
                match answer {
                    Ok(response) => self.session.handle_response(now, wire, response),
                    Err(error) => self.session.handle_transport_error(now, wire, error),
                }
            }
            Err(failed) => {
                if let Some(wire) = self.wires.remove(&failed.id()) {
                    warn!(%wire, error = %failed, "HTTP exchange task ended without an answer");
                    self.session.handle_transport_error(now, wire, TransportError::Timeout);
                }
            }
        }
    }

    /// The run loop of the core, until nothing moves.
    async fn drive(&mut self) {
        loop {
            let now = Instant::now();
            let mut moved = false;
            let mut requests = Vec::new();
            while let Some(request) = self.outbox.poll_request(now) {
                requests.push(request);
            }
            match self.persist().await {
                Ok(()) => {
                    for request in requests {
                        moved = true;
                        self.session.submit(now, Tag::Outbox(request.id), request.request);
                    }
                }
                Err(reason) => {
                    let failure = RequestFailure::Transport(TransportError::Unreachable(format!(
                        "the call outbox on this workstation cannot be written: {reason}"
                    )));
                    for request in requests {
                        self.outbox.handle_failure(now, request.id, &failure);
                    }
                }
            }
            while let Some(transmit) = self.session.poll_transmit() {
                moved = true;
                debug!(wire = %transmit.id, method = %transmit.method, "HTTP request out");
                let transport = self.transport.clone();
                let wire = transmit.id;
                let handle = self
                    .exchanges
                    .spawn(async move { (wire, transport.send(transmit).await) });
                self.wires.insert(handle.id(), wire);
            }
            while let Some(event) = self.session.poll_event() {
                moved = true;
                self.handle_session_event(now, event).await;
            }
            while let Some(event) = self.outbox.poll_event() {
                moved = true;
                emit(
                    &self.events,
                    match event {
                        OutboxEvent::Delivered { record, call } => CreatioEvent::Delivered { record, call },
                        OutboxEvent::Rejected { record, call, reason } => {
                            CreatioEvent::Rejected { record, call, reason }
                        }
                    },
                )
                .await;
            }
            if !moved {
                break;
            }
        }
    }

    async fn handle_session_event(&mut self, now: Instant, event: SessionEvent<Tag>) {
        match event {
            SessionEvent::Response {
                tag: Tag::Outbox(request),
                response,
            } => {
                self.outbox.handle_response(now, request, &response);
            }
            SessionEvent::Failed {
                tag: Tag::Outbox(request),
                error,
            } => {
                self.outbox.handle_failure(now, request, &error);
            }
            SessionEvent::Response {
                tag: Tag::Lookup { id, part },
                response,
            } => {
                self.lookup_answer(now, id, part, &response);
            }
            SessionEvent::Failed {
                tag: Tag::Lookup { id, .. },
                error,
            } => {
                if let Some(pending) = self.lookups.remove(&id) {
                    let _gone = pending.reply.send(Err(IdentifyError::Failed(error)));
                }
            }
            SessionEvent::Response {
                tag: Tag::Settings,
                response,
            } => match identify::lengths_from_settings(&response) {
                Ok(lengths) => {
                    info!(
                        search = lengths.search,
                        internal = lengths.internal,
                        "number lengths read from Creatio"
                    );
                    self.identifier.set_lengths(lengths);
                }
                Err(error) => warn!(%error, "Creatio's number-length settings unreadable; using the defaults"),
            },
            SessionEvent::Failed {
                tag: Tag::Settings,
                error,
            } => {
                warn!(%error, "Creatio's number-length settings not read; using the defaults");
                self.settings_read = false;
            }
            SessionEvent::Response {
                tag: tag @ (Tag::HistoryUser { .. } | Tag::HistoryCalls { .. }),
                response,
            } => self.history_answer(now, tag, Ok(response)),
            SessionEvent::Failed {
                tag: tag @ (Tag::HistoryUser { .. } | Tag::HistoryCalls { .. }),
                error,
            } => self.history_answer(now, tag, Err(error)),
            SessionEvent::LoggedIn { platform } => {
                if !self.settings_read {
                    self.settings_read = true;
                    self.session.submit(now, Tag::Settings, identify::settings_query());
                }
                emit(&self.events, CreatioEvent::LoggedIn { platform }).await;
            }
            SessionEvent::AuthFailed(error) => emit(&self.events, CreatioEvent::AuthFailed(error)).await,
        }
    }

    fn lookup_answer(&mut self, now: Instant, id: u64, part: LookupPart, response: &HttpResponse) {
        let Some(pending) = self.lookups.get_mut(&id) else {
            return;
        };
        if let Some(plain) = pending.lookup.fallback(part, response) {
            self.identifier.without_company_names();
            self.session.submit(now, Tag::Lookup { id, part }, plain);
            return;
        }
        if let Err(error) = pending.lookup.handle(part, response) {
            if let Some(pending) = self.lookups.remove(&id) {
                let _gone = pending.reply.send(Err(IdentifyError::Lookup(error)));
            }
            return;
        }
        let Some(identification) = self.identifier.finish(now, &pending.lookup) else {
            return;
        };
        self.learn_names(&identification);
        if let Some(pending) = self.lookups.remove(&id) {
            let _gone = pending.reply.send(Ok(identification));
        }
    }

    fn learn_names(&mut self, identification: &Identification) {
        let subscribers = match identification {
            Identification::One(one) => std::slice::from_ref(one),
            Identification::Several(several) => several.as_slice(),
            Identification::None => &[],
        };
        if self.names.len() + subscribers.len() > NAMES_KEPT {
            self.names.clear();
        }
        for subscriber in subscribers {
            self.names.insert(subscriber.id, subscriber.name.clone());
        }
    }

    /// Folds recorded writes into the local call history. Best effort: the outbox commit, which is what
    /// [`CreatioLink::record`](super::CreatioLink::record) promises, has happened already.
    async fn remember(&mut self, writes: Vec<CallWrite>) {
        let names: HashMap<Uuid, String> = writes
            .iter()
            .filter_map(|write| match write {
                CallWrite::Update { patch, .. } => Some([patch.contact_id, patch.account_id]),
                CallWrite::Create(_) => None,
            })
            .flatten()
            .flatten()
            .filter_map(|id| self.names.get(&id).map(|name| (id, name.clone())))
            .collect();
        let outcome = self
            .on_store(move |store| store.remember_calls(&writes, |id| names.get(&id).cloned()))
            .await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "the local call history was not updated"),
            Err(reason) => warn!(%reason, "the local call history was not updated"),
        }
    }

    /// Starts a history request: the local list now, Creatio's by the session (see [`Driver::history_answer`]).
    async fn history(&mut self, now: Instant, limit: usize, reply: oneshot::Sender<Result<CallHistory, LinkError>>) {
        let local = match self.on_store(move |store| store.recent_calls(limit)).await {
            Ok(Ok(mut entries)) => {
                for entry in &mut entries {
                    entry.in_creatio = !self.outbox.holds_call(entry.call_id);
                }
                entries
            }
            Ok(Err(error)) => {
                let _gone = reply.send(Err(error.into()));
                return;
            }
            Err(reason) => {
                let _gone = reply.send(Err(LinkError::Unavailable(reason)));
                return;
            }
        };
        let Some(login) = &self.login else {
            let offline = "the panel logs in to Creatio as an integration client, not as the operator, so Creatio \
                           cannot tell which calls are the operator's"
                .to_owned();
            let _gone = reply.send(Ok(CallHistory {
                entries: local,
                offline: Some(offline),
            }));
            return;
        };
        let id = self.next_history;
        self.next_history += 1;
        match self.my_contact {
            Some(contact) => {
                self.session
                    .submit(now, Tag::HistoryCalls { id }, history::calls_query(contact, limit));
            }
            None => self
                .session
                .submit(now, Tag::HistoryUser { id }, history::user_query(login)),
        }
        self.histories.insert(id, PendingHistory { limit, local, reply });
    }

    /// Carries a history request one step on with Creatio's answer (or its absence).
    fn history_answer(&mut self, now: Instant, tag: Tag, answer: Result<HttpResponse, RequestFailure>) {
        let (Tag::HistoryUser { id } | Tag::HistoryCalls { id }) = tag else {
            return;
        };
        let Some(pending) = self.histories.remove(&id) else {
            return;
        };
        let response = match answer {
            Ok(response) => response,
            Err(failure) => return answer_offline(pending, failure.to_string()),
        };
        if matches!(tag, Tag::HistoryUser { .. }) {
            let login = self.login.clone().unwrap_or_default();
            match history::user_contact(&login, &response) {
                Ok(contact) => {
                    self.my_contact = Some(contact);
                    self.session.submit(
                        now,
                        Tag::HistoryCalls { id },
                        history::calls_query(contact, pending.limit),
                    );
                    self.histories.insert(id, pending);
                }
                Err(error) => answer_offline(pending, error.to_string()),
            }
            return;
        }
        match history::from_creatio(&response) {
            Ok(entries) => {
                let entries = history::merge(entries, pending.local, pending.limit);
                let _gone = pending.reply.send(Ok(CallHistory { entries, offline: None }));
            }
            Err(error) => answer_offline(pending, error.to_string()),
        }
    }

    /// Commits everything the outbox changed. Nothing may be sent while this fails; the changes stay queued and
    /// go with the next attempt (they are whole records, so replaying them is harmless).
    async fn persist(&mut self) -> Result<(), String> {
        self.unsaved.extend(self.outbox.take_changes());
        if self.unsaved.is_empty() {
            return Ok(());
        }
        let changes = std::mem::take(&mut self.unsaved);
        let outcome = self
            .on_store(move |store| {
                let result = store.apply(&changes);
                (changes, result)
            })
            .await;
        let reason = match outcome {
            Ok((_, Ok(()))) => {
                if std::mem::take(&mut self.store_failing) {
                    info!("the call outbox can be written again");
                }
                return Ok(());
            }
            Ok((mut changes, Err(error))) => {
                changes.append(&mut self.unsaved);
                self.unsaved = changes;
                error.to_string()
            }
            Err(reason) => reason,
        };
        self.store_failed(&reason).await;
        Err(reason)
    }

    /// Runs `work` on the blocking pool (SQLite waits for the disk) with the store moved in, and takes it back.
    async fn on_store<R: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut OutboxStore) -> R + Send + 'static,
    ) -> Result<R, String> {
        let Some(mut store) = self.store.take() else {
            return Err("the outbox file is no longer open".into());
        };
        let done = tokio::task::spawn_blocking(move || {
            let result = work(&mut store);
            (store, result)
        })
        .await;
        match done {
            Ok((store, result)) => {
                self.store = Some(store);
                Ok(result)
            }
            Err(error) => Err(format!("the outbox writer stopped: {error}")),
        }
    }

    /// The last commit before the task ends. What cannot be written now is redone after the next start: the
    /// file still holds the state before these changes, which the outbox restores from safely.
    async fn final_commit(&mut self) {
        if let Err(reason) = self.persist().await {
            warn!(%reason, "stopping with outbox changes not on disk; they are redone after the next start");
        }
    }

    async fn store_failed(&mut self, reason: &str) {
        warn!(%reason, "call outbox commit failed");
        if !std::mem::replace(&mut self.store_failing, true) {
            emit(&self.events, CreatioEvent::StoreFailed(reason.to_owned())).await;
        }
    }

    fn status(&self) -> CreatioStatus {
        let status = self.outbox.status();
        let clock = self.clock;
        let mut summary = status.describe(|at| clock.show(at));
        if self.store_failing {
            summary.push_str("; the outbox file cannot be written");
        }
        CreatioStatus {
            waiting: status.waiting,
            rejected: status.rejected,
            logged_in: self.session.is_logged_in(),
            refusal: self.session.refusal().map(ToString::to_string),
            summary,
            oldest_waiting: self
                .outbox
                .oldest_queued()
                .and_then(|at| SystemTime::now().duration_since(at.into()).ok()),
            last_failure: self.outbox.failure(|at| clock.show(at)),
        }
    }
}

/// The login whose calls the history lists.
fn login_of(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::Forms { user_name, .. } => Some(user_name.clone()),
        Credentials::ClientCredentials { .. } => None,
    }
}

/// Answers a history request with the local list and why Creatio's is missing.
fn answer_offline(pending: PendingHistory, reason: String) {
    debug!(%reason, "call history from the local store");
    let _gone = pending.reply.send(Ok(CallHistory {
        entries: pending.local,
        offline: Some(reason),
    }));
}

/// A free function so the driver's future holds only the (`Sync`) sender across the wait, never the driver.
async fn emit(events: &mpsc::Sender<CreatioEvent>, event: CreatioEvent) {
    if events.send(event).await.is_err() {
        debug!("nobody listens to Creatio events");
    }
}

async fn sleep_until_deadline(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}
