//! The panel task: the one owner of the [`CallModel`], where the Oktell and Creatio drivers and the operator's
//! commands meet.
//!
//! Everything that can change the operator's state arrives on a bounded channel and becomes exactly one
//! [`CallModel::handle`] call; its effects are carried out in order before the next input is read. The task never
//! waits on a driver: Oktell commands and Creatio writes go to small worker tasks that keep their order and report
//! refusals and outbox changes back as inputs, and caller lookups run concurrently. A driver that blocks on its
//! own event channel therefore cannot deadlock against the model.
//!
//! The shell reads the state through [`Panel::views`] (a `watch` of the latest [`PanelView`]) and receives the
//! effects only it can carry out (popup, ringtone, notifications, opening a card) as [`ShellEffect`]s.
//!
//! The softphone ([`softphone`]) is a [`crate::sip_link::SipLink`] read in the same loop: its events are the
//! model's SIP inputs and the model's SIP actions and tones are its commands. [`configured`] starts every driver
//! from the configuration file and its saved passwords.

pub mod configured;
pub mod ringer;
pub mod softphone;

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use call::SipEvent;
pub use call::view::TrayState;
pub use call::{CallConfig, CardOpen, PanelView, StatusChoice, UiCommand};
use call::{CallInput, CallModel, CommandRejected, CreatioEffect, CreatioInput, Effect, Notification, OutboxSummary};
use creatio::calls::CallWrite;
use creatio::card::{CardUrl, Cards, Ui};
use sip::invite::CallHandle;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use self::configured::{CreatioAccount, StartupProblem};
use self::softphone::Dialer;
pub use self::softphone::Softphone;
use crate::creatio::{CreatioEvent, CreatioLink, CreatioStatus};
use crate::oktell_link::{LinkError as OktellLinkError, OktellLink};
use crate::secrets::Secret;
use crate::sip_link::{LinkEvent, SipLink};

/// Operator commands waiting for the model.
const UI_QUEUE: usize = 32;
/// Answers from the workers waiting for the model.
const FEEDBACK_QUEUE: usize = 64;
/// Oktell commands and Creatio writes waiting for their worker.
const WORK_QUEUE: usize = 64;
/// Effects waiting for the shell; a slow shell loses notifications, never the model's pace.
const SHELL_QUEUE: usize = 32;

/// The model as the runtime runs it: SIP dialogs are the user agent's handles.
pub type Model = CallModel<CallHandle>;

/// Work only the desktop shell can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellEffect {
    /// Show a desktop notification.
    Notify(Notification),
    /// Start the ringtone.
    StartRingtone,
    /// Stop the ringtone.
    StopRingtone,
    /// Show the incoming-call popup.
    ShowPopup,
    /// Hide the incoming-call popup.
    HidePopup,
    /// Open this Creatio card in the operator's browser; the URL is on the configured site (checked when built).
    OpenCard(CardUrl),
}

/// Why an operator command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PanelError {
    /// The model refused it; the sentence is also the view's `notice`.
    #[error(transparent)]
    Rejected(#[from] CommandRejected),
    /// The panel task has ended.
    #[error("the panel has stopped")]
    Stopped,
}

impl PanelError {
    /// A stable word for the UI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            PanelError::Rejected(_) => "rejected",
            PanelError::Stopped => "stopped",
        }
    }
}

/// The drivers the panel talks to; a missing one is not configured (or not started).
#[derive(Debug, Default)]
pub struct Drivers {
    /// The Oktell session and its events.
    pub oktell: Option<(OktellLink, mpsc::Receiver<oktell::Event>)>,
    /// The Creatio driver and its events.
    pub creatio: Option<(CreatioLink, mpsc::Receiver<CreatioEvent>)>,
    /// Card URLs on the Creatio site.
    pub cards: Option<Cards>,
    /// The softphone.
    pub sip: Option<Softphone>,
    /// The systems that are configured but did not start, shown in their health lines.
    pub problems: Vec<StartupProblem>,
}

/// Events from a driver waiting for the panel task.
const DRIVER_EVENTS: usize = 256;

/// One account on both servers, as the demo world has it (`op1`/`demo` on the simulated Oktell and Creatio).
#[derive(Clone)]
pub struct SharedLogin {
    /// The Oktell WebSocket address (`ws://127.0.0.1:PORT`).
    pub oktell_url: String,
    /// The Creatio site address.
    pub creatio_url: String,
    /// The login on both.
    pub user: String,
    /// The password on both.
    pub password: String,
    /// The file of the durable call-record outbox.
    pub outbox: PathBuf,
}

impl std::fmt::Debug for SharedLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLogin")
            .field("oktell_url", &self.oktell_url)
            .field("creatio_url", &self.creatio_url)
            .field("user", &self.user)
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

/// Why the drivers could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriversError {
    /// The Oktell settings cannot work.
    #[error("Oktell: {0}")]
    Oktell(#[from] oktell::error::ConfigError),
    /// The trust store for `wss://`.
    #[error("Oktell TLS: {0}")]
    Tls(#[from] crate::oktell_link::TlsError),
    /// The Creatio address.
    #[error("Creatio: {0}")]
    CreatioConfig(#[from] creatio::error::ConfigError),
    /// The outbox file.
    #[error("Creatio outbox: {0}")]
    Store(#[from] crate::creatio::StoreError),
    /// The Creatio driver.
    #[error("Creatio: {0}")]
    Creatio(#[from] crate::creatio::StartError),
}

impl Drivers {
    /// Starts the Oktell session and the Creatio driver for one login (must run inside a tokio runtime).
    pub fn start(login: &SharedLogin) -> Result<Drivers, DriversError> {
        let password = Secret::new(login.password.clone());
        let oktell = configured::start_oktell(vec![login.oktell_url.clone()], &login.user, &password, None)?;
        let (creatio, events, cards) = configured::start_creatio(&CreatioAccount {
            url: &login.creatio_url,
            user: &login.user,
            password: &password,
            ui: Ui::Freedom,
            ca_file: None,
            outbox: &login.outbox,
        })?;
        Ok(Drivers {
            oktell: Some(oktell),
            creatio: Some((creatio, events)),
            cards: Some(cards),
            ..Drivers::default()
        })
    }
}

struct UiRequest {
    command: UiCommand,
    reply: oneshot::Sender<Result<(), PanelError>>,
}

/// Handle to the panel task. Cheap to clone; the task ends when every handle and the Oktell event channel are
/// gone.
#[derive(Debug, Clone)]
pub struct Panel {
    commands: mpsc::Sender<UiRequest>,
    views: watch::Receiver<PanelView>,
    creatio: Option<CreatioLink>,
}

impl std::fmt::Debug for UiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiRequest")
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl Panel {
    /// Starts the panel task over `drivers`. The returned receiver carries the effects for the shell.
    pub fn spawn(config: CallConfig, drivers: Drivers) -> (Panel, mpsc::Receiver<ShellEffect>, JoinHandle<()>) {
        let model = Model::new(config, Instant::now(), SystemTime::now());
        let (views_tx, views) = watch::channel(model.view().clone());
        let (commands, ui_rx) = mpsc::channel(UI_QUEUE);
        let (shell_tx, shell_rx) = mpsc::channel(SHELL_QUEUE);
        let (feedback_tx, feedback_rx) = mpsc::channel(FEEDBACK_QUEUE);

        let (oktell, oktell_events) = match drivers.oktell {
            Some((link, events)) => (Some(oktell_worker(link, feedback_tx.clone())), Some(events)),
            None => (None, None),
        };
        let creatio_link = drivers.creatio.as_ref().map(|(link, _)| link.clone());
        let creatio = drivers
            .creatio
            .map(|(link, events)| CreatioWorkers::spawn(link, events, feedback_tx.clone()));
        let (sip, sip_link) = match drivers.sip {
            Some(phone) => {
                let (dialer, link) = phone.split();
                (Some(dialer), Some(link))
            }
            None => (None, None),
        };

        let task = PanelTask {
            model,
            views: views_tx,
            shell: shell_tx,
            feedback: feedback_tx,
            oktell,
            creatio,
            cards: drivers.cards,
            sip,
        };
        let handle = tokio::spawn(task.run(drivers.problems, ui_rx, oktell_events, sip_link, feedback_rx));
        let panel = Panel {
            commands,
            views,
            creatio: creatio_link,
        };
        (panel, shell_rx, handle)
    }

    /// Carries out an operator command; `Err(Rejected)` when the model refuses it now.
    pub async fn command(&self, command: UiCommand) -> Result<(), PanelError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(UiRequest { command, reply })
            .await
            .map_err(|_| PanelError::Stopped)?;
        rx.await.map_err(|_| PanelError::Stopped)?
    }

    /// The latest view, and every later one.
    pub fn views(&self) -> watch::Receiver<PanelView> {
        self.views.clone()
    }

    /// The Creatio driver, when Creatio is configured: for what the shell asks of it directly, such as exporting
    /// the records Creatio refused.
    pub fn creatio(&self) -> Option<&CreatioLink> {
        self.creatio.as_ref()
    }
}

struct PanelTask {
    model: Model,
    views: watch::Sender<PanelView>,
    shell: mpsc::Sender<ShellEffect>,
    feedback: mpsc::Sender<CallInput<CallHandle>>,
    oktell: Option<mpsc::Sender<oktell::Command>>,
    creatio: Option<CreatioWorkers>,
    cards: Option<Cards>,
    sip: Option<Dialer>,
}

impl PanelTask {
    async fn run(
        mut self,
        problems: Vec<StartupProblem>,
        mut ui: mpsc::Receiver<UiRequest>,
        mut oktell_events: Option<mpsc::Receiver<oktell::Event>>,
        mut sip_link: Option<SipLink>,
        mut feedback: mpsc::Receiver<CallInput<CallHandle>>,
    ) {
        for problem in problems {
            let input = match problem {
                StartupProblem::Oktell(sentence) => CallInput::OktellUnavailable(sentence),
                StartupProblem::Sip(reason) => CallInput::Sip(SipEvent::Stopped { reason }),
                StartupProblem::Creatio(sentence) => CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
                    outage: Some(sentence),
                    ..OutboxSummary::default()
                })),
            };
            self.handle_logged(input);
        }
        loop {
            let deadline = self.model.poll_timeout();
            let input = tokio::select! {
                event = recv_some(&mut oktell_events) => match event {
                    Some(event) => CallInput::Oktell(event),
                    None => {
                        tracing::warn!("the Oktell session has ended");
                        oktell_events = None;
                        continue;
                    }
                },
                event = next_link_event(&mut sip_link) => match event {
                    Some(event) => match self.sip.as_mut().and_then(|sip| sip.input(event)) {
                        Some(input) => input,
                        None => continue,
                    },
                    None => {
                        tracing::warn!("the softphone has stopped");
                        sip_link = None;
                        self.sip = None;
                        CallInput::Sip(SipEvent::Stopped { reason: "its SIP driver stopped".into() })
                    }
                },
                Some(input) = feedback.recv() => input,
                request = ui.recv() => match request {
                    Some(UiRequest { command, reply }) => {
                        let result = self.handle(CallInput::Ui(command));
                        if reply.send(result).is_err() {
                            tracing::debug!("the caller of a command stopped waiting");
                        }
                        continue;
                    }
                    None => {
                        tracing::info!("every panel handle is gone; stopping the panel");
                        return;
                    }
                },
                () = sleep_until(deadline) => CallInput::Tick,
            };
            self.handle_logged(input);
        }
    }

    /// [`PanelTask::handle`] for an input no caller waits on.
    fn handle_logged(&mut self, input: CallInput<CallHandle>) {
        if let Err(rejected) = self.handle(input) {
            tracing::debug!(%rejected, "input refused");
        }
    }

    /// One `handle` and its effects, in order. A refused UI command comes back as the error.
    fn handle(&mut self, input: CallInput<CallHandle>) -> Result<(), PanelError> {
        let mut outcome = Ok(());
        let mut unsent = Vec::new();
        for effect in self.model.handle(Instant::now(), input) {
            match effect {
                Effect::Oktell(command) => self.oktell(command),
                Effect::Sip(action) => match self.sip.as_mut() {
                    Some(sip) => unsent.extend(sip.act(action)),
                    None => tracing::warn!(?action, "the softphone is not running; SIP action not carried out"),
                },
                Effect::Dtmf { dialog, digits } => match &self.sip {
                    Some(sip) => sip.tones(dialog, digits),
                    None => tracing::warn!("the softphone is not running; tones not sent"),
                },
                Effect::Creatio(effect) => self.creatio(effect),
                Effect::Notify(notification) => self.to_shell(ShellEffect::Notify(notification)),
                Effect::StartRingtone => self.to_shell(ShellEffect::StartRingtone),
                Effect::StopRingtone => self.to_shell(ShellEffect::StopRingtone),
                Effect::ShowPopup => self.to_shell(ShellEffect::ShowPopup),
                Effect::HidePopup => self.to_shell(ShellEffect::HidePopup),
                Effect::Rejected(rejected) => outcome = Err(PanelError::Rejected(rejected)),
                Effect::View(view) => {
                    self.views.send_replace(*view);
                }
            }
        }
        // A dial the softphone could not queue is answered at once, so the call does not wait for a dialog.
        for input in unsent {
            self.handle_logged(input);
        }
        outcome
    }

    fn oktell(&self, command: oktell::Command) {
        let Some(worker) = &self.oktell else {
            tracing::info!(command = command.name(), "no Oktell connection; command dropped");
            return;
        };
        if let Err(err) = worker.try_send(command) {
            tracing::error!(%err, "the Oktell command queue is full or closed; command dropped");
        }
    }

    fn creatio(&self, effect: CreatioEffect) {
        let Some(workers) = &self.creatio else {
            tracing::info!("Creatio is not configured; lookup or record skipped");
            return;
        };
        match effect {
            CreatioEffect::Identify { call, number } => {
                let link = workers.link.clone();
                let feedback = self.feedback.clone();
                tokio::spawn(async move {
                    let answer = match link.identify(&number).await {
                        Ok(result) => CreatioInput::Identified { call, result },
                        Err(err) => CreatioInput::IdentifyFailed {
                            call,
                            reason: err.to_string(),
                        },
                    };
                    if feedback.send(CallInput::Creatio(answer)).await.is_err() {
                        tracing::debug!("the panel ended before a lookup finished");
                    }
                });
            }
            CreatioEffect::Write(write) => {
                if let Err(err) = workers.writes.try_send(write) {
                    tracing::error!(%err, "the Creatio write queue is full or closed; call record dropped");
                }
            }
            CreatioEffect::OpenCard { kind, id } => match &self.cards {
                Some(cards) => self.to_shell(ShellEffect::OpenCard(cards.card(kind, id))),
                None => tracing::warn!("no Creatio site is configured; the card cannot open"),
            },
        }
    }

    fn to_shell(&self, effect: ShellEffect) {
        if let Err(err) = self.shell.try_send(effect) {
            tracing::warn!(%err, "the shell is not keeping up; effect dropped");
        }
    }
}

/// Sends Oktell commands one at a time, in order; a local refusal goes back to the model.
fn oktell_worker(link: OktellLink, feedback: mpsc::Sender<CallInput<CallHandle>>) -> mpsc::Sender<oktell::Command> {
    let (tx, mut rx) = mpsc::channel::<oktell::Command>(WORK_QUEUE);
    tokio::spawn(async move {
        while let Some(command) = rx.recv().await {
            let name = command.name();
            match link.command(command).await {
                Ok(_) => {}
                Err(OktellLinkError::Refused(error)) => {
                    if feedback.send(CallInput::OktellRefused(error)).await.is_err() {
                        return;
                    }
                }
                Err(OktellLinkError::Stopped) => {
                    tracing::warn!(command = name, "the Oktell session has ended; command not sent");
                }
            }
        }
    });
    tx
}

/// How many recent calls the history asks of Creatio.
const HISTORY_LIMIT: usize = 50;

/// The Creatio side: the link for lookups, one worker that queues call records in order and reports the outbox
/// after every write and every driver event, and one that fetches the operator's call history.
struct CreatioWorkers {
    link: CreatioLink,
    writes: mpsc::Sender<CallWrite>,
}

/// Fetches the operator's history at start, after each login and after each call's end is queued. Requests that
/// arrive while a fetch runs fold into one more fetch (a `Notify` holds a single permit), so a burst of ended
/// calls costs one round trip and the history never delays a call record.
fn spawn_history_worker(
    link: CreatioLink,
    wanted: std::sync::Arc<tokio::sync::Notify>,
    feedback: mpsc::Sender<CallInput<CallHandle>>,
) {
    tokio::spawn(async move {
        loop {
            wanted.notified().await;
            let input = match link.history(HISTORY_LIMIT).await {
                Ok(history) => CreatioInput::History {
                    entries: history.entries,
                    offline: history.offline,
                },
                Err(err) => {
                    tracing::warn!(%err, "the call history is not available");
                    continue;
                }
            };
            if feedback.send(CallInput::Creatio(input)).await.is_err() {
                return;
            }
        }
    });
}

/// Whether a write closes a call, after which Creatio's list has changed.
fn ends_a_call(write: &CallWrite) -> bool {
    matches!(write, CallWrite::Update { patch, .. } if patch.end_date.is_some())
}

impl CreatioWorkers {
    fn spawn(
        link: CreatioLink,
        mut events: mpsc::Receiver<CreatioEvent>,
        feedback: mpsc::Sender<CallInput<CallHandle>>,
    ) -> CreatioWorkers {
        let (writes, mut rx) = mpsc::channel::<CallWrite>(WORK_QUEUE);
        let worker = link.clone();
        let history = std::sync::Arc::new(tokio::sync::Notify::new());
        history.notify_one();
        spawn_history_worker(link.clone(), history.clone(), feedback.clone());
        tokio::spawn(async move {
            let mut events_open = true;
            loop {
                tokio::select! {
                    write = rx.recv() => match write {
                        Some(write) => {
                            let ended = ends_a_call(&write);
                            if let Err(err) = worker.record(vec![write]).await {
                                tracing::error!(%err, "a call record could not be queued for Creatio");
                            }
                            if ended {
                                history.notify_one();
                            }
                        }
                        None => return,
                    },
                    event = events.recv(), if events_open => match event {
                        Some(event) => {
                            tracing::debug!(?event, "Creatio event");
                            if matches!(event, CreatioEvent::LoggedIn { .. }) {
                                history.notify_one();
                            }
                        }
                        None => events_open = false,
                    },
                }
                match worker.status().await {
                    Ok(status) => {
                        let summary = CallInput::Creatio(CreatioInput::Outbox(outbox_summary(&status)));
                        let reason = CallInput::Creatio(CreatioInput::WaitReason(status.last_failure));
                        if feedback.send(summary).await.is_err() || feedback.send(reason).await.is_err() {
                            return;
                        }
                    }
                    Err(err) => tracing::warn!(%err, "the Creatio status is not available"),
                }
            }
        });
        CreatioWorkers { link, writes }
    }
}

/// The outbox as the model shows it: a refused password is the outage the operator must act on.
fn outbox_summary(status: &CreatioStatus) -> OutboxSummary {
    let outage = status
        .refusal
        .clone()
        .or_else(|| (!status.logged_in && status.waiting > 0).then(|| status.summary.clone()));
    OutboxSummary {
        waiting: status.waiting,
        rejected: status.rejected,
        outage,
    }
}

/// The next event of an optional channel; pending forever without one.
async fn recv_some<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next event of the softphone, if there is one; pending forever without one.
async fn next_link_event(link: &mut Option<SipLink>) -> Option<LinkEvent> {
    match link {
        Some(link) => link.next_event().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until the model's deadline; forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpStream};
    use std::time::Duration;

    use call::Action;
    use call::error::Refusal;

    use super::*;

    /// Waits (at most 20 s) for a view that passes `check`.
    async fn view_where(panel: &Panel, what: &str, check: impl Fn(&PanelView) -> bool) -> PanelView {
        let mut views = panel.views();
        let found = tokio::time::timeout(Duration::from_secs(20), views.wait_for(|view| check(view)))
            .await
            .map(|view| view.map(|view| view.clone()));
        match found {
            Ok(Ok(view)) => view,
            _ => panic!("no view with {what}; the last: {:?}", *views.borrow()),
        }
    }

    /// One request to the simulator's control API, off the async threads.
    async fn control(base: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
        let address = base.trim_start_matches("http://").to_owned();
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            let (head, body) = reply.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(" 200 "), "{head}\n{body}");
            serde_json::from_str(body).unwrap()
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_command_the_model_refuses_comes_back_as_its_sentence() {
        let (panel, _shell, _task) = Panel::spawn(CallConfig::default(), Drivers::default());
        let err = panel.command(UiCommand::Answer).await.unwrap_err();
        let PanelError::Rejected(rejected) = &err else {
            panic!("not a refusal: {err:?}");
        };
        assert_eq!(rejected.action, Action::Answer);
        assert_eq!(rejected.reason, Refusal::NoRingingCall);
        assert_eq!(err.code(), "rejected");
        let view = view_where(&panel, "the notice", |view| view.notice.is_some()).await;
        assert_eq!(view.notice, Some(err.to_string()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_panel_logs_in_identifies_a_caller_in_creatio_and_answers_through_oktell() {
        let sim = sim::serve(sim::SimOptions {
            bind: Ipv4Addr::LOCALHOST.into(),
            oktell_port: 0,
            control_port: 0,
            creatio_port: 0,
            world: sim::World::default_world(),
            seed: 7,
        })
        .await
        .unwrap();
        let endpoints = sim.endpoints().clone();
        let folder = tempfile::tempdir().unwrap();
        let drivers = Drivers::start(&SharedLogin {
            oktell_url: endpoints.oktell.clone(),
            creatio_url: endpoints.creatio.clone(),
            user: "op1".into(),
            password: "demo".into(),
            outbox: folder.path().join("outbox.sqlite3"),
        })
        .unwrap();
        let config = CallConfig {
            sip_configured: false,
            own_number: "101".into(),
            card_open: CardOpen::Never,
            ..CallConfig::default()
        };
        let (panel, mut shell, _task) = Panel::spawn(config, drivers);
        view_where(&panel, "Oktell connected", |view| {
            view.health.oktell.state == "ok" && view.agent.status.starts_with("ready")
        })
        .await;

        let created = control(
            &endpoints.control,
            "POST",
            "/calls",
            // A number no other contact shares the last seven digits of (Creatio's match rule), so one card.
            r#"{"from":"89257778899","to":"101"}"#,
        )
        .await;
        let ringing = view_where(&panel, "the caller's Creatio name", |view| {
            view.popup
                .as_ref()
                .is_some_and(|call| call.party.display == "Татьяна Новикова" && call.party.lookup == "found")
        })
        .await;
        assert!(ringing.actions.contains(&Action::Answer), "{:?}", ringing.actions);
        let mut popup_shown = false;
        while let Ok(effect) = shell.try_recv() {
            popup_shown |= effect == ShellEffect::ShowPopup;
        }
        assert!(popup_shown, "the shell was not asked to show the popup");

        panel.command(UiCommand::Answer).await.unwrap();
        view_where(&panel, "the conversation", |view| {
            view.call.as_ref().is_some_and(|call| call.state == "talking") && view.popup.is_none()
        })
        .await;
        let state = control(&endpoints.control, "GET", "/state", "").await;
        let talking = state["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|call| call["id"] == created["call"] && call["state"] == "talking");
        assert!(talking, "{state}");

        panel.command(UiCommand::OpenCard).await.unwrap();
        let card = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                if let Some(ShellEffect::OpenCard(url)) = shell.recv().await {
                    return url;
                }
            }
        })
        .await
        .expect("the shell was asked to open the caller's card");
        let url = card.as_str();
        assert!(url.starts_with(&endpoints.creatio), "{url} is not on the Creatio site");
        assert!(
            url.contains("#Card/Contacts_FormPage/edit/"),
            "{url} is not a contact card"
        );
        sim.shutdown().await;
    }
}
