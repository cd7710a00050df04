//! The handle to the Creatio driver task and the values that cross it: settings in, commands and their answers,
//! events out. Everything here is data or a channel; the work happens in the driver task (`driver.rs`).

use creatio::auth::Credentials;
use creatio::calls::CallWrite;
use creatio::error::{AuthError, ConfigError};
use creatio::history::HistoryEntry;
use creatio::identify::{Identification, IdentifyConfig, LookupError};
use creatio::outbox::{Outbox, OutboxConfig, RecordId};
use creatio::session::RequestFailure;
use creatio::site::{Platform, PlatformChoice, Site};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::clock::WallClock;
use super::driver::Driver;
use super::store::{OutboxStore, RejectedRecord, StoreError};
use super::transport::{HttpSettings, Transport, TransportSetupError};
use crate::config::CreatioConfig;
use crate::secrets::Secret;

/// Commands waiting for the driver task.
const COMMAND_QUEUE: usize = 64;

/// Everything the driver needs besides the store and the event channel.
#[derive(Debug, Clone)]
pub struct CreatioSettings {
    /// The instance.
    pub site: Site,
    /// `/0/odata` or `/odata`, or find out after login.
    pub platform: PlatformChoice,
    /// Who the panel logs in as.
    pub credentials: Credentials,
    /// Caller identification tuning.
    pub identify: IdentifyConfig,
    /// Retry and concurrency of the outbox.
    pub outbox: OutboxConfig,
    /// Timeouts and trust.
    pub http: HttpSettings,
    /// How status lines show times.
    pub clock: WallClock,
}

impl CreatioSettings {
    /// Settings from the workstation configuration and the password from the keyring: forms login as the
    /// configured user, the OData flavour detected after login, defaults for everything else, and a fresh jitter
    /// seed so panels started together do not retry in step. `clock` comes from [`WallClock::local`], read early.
    pub fn from_config(
        config: &CreatioConfig,
        password: &Secret,
        clock: WallClock,
    ) -> Result<CreatioSettings, ConfigError> {
        Ok(CreatioSettings {
            site: Site::parse(&config.url)?,
            platform: PlatformChoice::Detect,
            credentials: Credentials::Forms {
                user_name: config.user.trim().to_owned(),
                password: creatio::auth::Secret::new(password.expose()),
            },
            identify: IdentifyConfig::default(),
            outbox: OutboxConfig {
                seed: uuid::Uuid::new_v4().as_u64_pair().0,
                ..OutboxConfig::default()
            },
            http: HttpSettings {
                ca_file: config.ca_file.clone(),
                ..HttpSettings::default()
            },
            clock,
        })
    }
}

/// What the driver reports on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatioEvent {
    /// Creatio acknowledged a call write; it is gone from the outbox.
    Delivered {
        /// The outbox record.
        record: RecordId,
        /// The `Call.Id`.
        call: uuid::Uuid,
    },
    /// Creatio refused a call write for good; it stays in the outbox for export.
    Rejected {
        /// The outbox record.
        record: RecordId,
        /// The `Call.Id`.
        call: uuid::Uuid,
        /// Creatio's reason.
        reason: String,
    },
    /// A session is established.
    LoggedIn {
        /// The OData flavour in use.
        platform: Platform,
    },
    /// Logging in failed; the outbox pauses and retries unless the password was refused.
    AuthFailed(AuthError),
    /// The outbox file cannot be written: nothing is sent until it can, and the sentence says why.
    StoreFailed(String),
}

/// The outbox and session as the UI shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatioStatus {
    /// Records not yet acknowledged (waiting or in flight).
    pub waiting: usize,
    /// Records Creatio refused, kept for export.
    pub rejected: usize,
    /// Whether a session is established right now.
    pub logged_in: bool,
    /// Why logging in has stopped until the password is fixed, if it has.
    pub refusal: Option<String>,
    /// One sentence: "3 records waiting; Creatio unreachable since 10:42: connection refused".
    pub summary: String,
    /// How long the longest-waiting record has waited (records written by an older panel have no time).
    pub oldest_waiting: Option<std::time::Duration>,
    /// Why records wait, for the operator: "Creatio unreachable since 10:42: connection refused", or the last
    /// refusal of a record that will be retried. `None` when nothing waiting has failed.
    pub last_failure: Option<String>,
}

/// The operator's recent calls, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHistory {
    /// Creatio's list plus the calls still waiting in the outbox, or the local list when Creatio was not asked or
    /// did not answer.
    pub entries: Vec<HistoryEntry>,
    /// `None`: the list came from Creatio. Otherwise the sentence saying why it is the local one ("Creatio is
    /// unreachable: connection refused").
    pub offline: Option<String>,
}

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The driver task has ended.
    #[error("the Creatio connection has stopped")]
    Stopped,
    /// The write is queued in memory but the outbox file could not be written; it is saved with the next
    /// successful commit, and nothing is sent before that.
    #[error("the call was queued but could not be saved to disk yet: {reason}")]
    NotSaved {
        /// The records the write became.
        records: Vec<RecordId>,
        /// The store's sentence.
        reason: String,
    },
    /// The outbox file is no longer open (its writer thread died).
    #[error("the call outbox file is not available: {0}")]
    Unavailable(String),
    /// Reading the outbox file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a caller lookup has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyError {
    /// Creatio answered, but not with what was asked.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// No answer: Creatio unreachable, login failing.
    #[error("{0}")]
    Failed(RequestFailure),
    /// The driver task has ended.
    #[error("the Creatio connection has stopped")]
    Stopped,
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The outbox file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client.
    #[error(transparent)]
    Transport(#[from] TransportSetupError),
}

/// What the handle asks of the driver task; each request carries its own reply channel.
pub(super) enum Command {
    Identify {
        number: String,
        reply: oneshot::Sender<Result<Identification, IdentifyError>>,
    },
    Record {
        writes: Vec<CallWrite>,
        reply: oneshot::Sender<Result<Vec<RecordId>, LinkError>>,
    },
    Status {
        reply: oneshot::Sender<CreatioStatus>,
    },
    ExportRejected {
        reply: oneshot::Sender<Result<String, LinkError>>,
    },
    Rejected {
        reply: oneshot::Sender<Result<Vec<RejectedRecord>, LinkError>>,
    },
    History {
        limit: usize,
        reply: oneshot::Sender<Result<CallHistory, LinkError>>,
    },
    DiscardRejected {
        record: RecordId,
        reply: oneshot::Sender<Result<bool, LinkError>>,
    },
    SetCredentials {
        credentials: Credentials,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Identify { .. } => "Identify",
            Command::Record { .. } => "Record",
            Command::Status { .. } => "Status",
            Command::ExportRejected { .. } => "ExportRejected",
            Command::Rejected { .. } => "Rejected",
            Command::History { .. } => "History",
            Command::DiscardRejected { .. } => "DiscardRejected",
            Command::SetCredentials { .. } => "SetCredentials",
            Command::Shutdown { .. } => "Shutdown",
        };
        f.write_str(name)
    }
}

/// Handle to the running driver. Cheap to clone; the task finishes its last commit and ends when every handle is
/// dropped or [`CreatioLink::shutdown`] is called.
#[derive(Debug, Clone)]
pub struct CreatioLink {
    commands: mpsc::Sender<Command>,
}

impl CreatioLink {
    /// Restores the outbox from `store` and starts the driver task. Events go to `events`; the task waits when
    /// that channel is full and keeps delivering calls when it is closed.
    pub fn spawn(
        settings: CreatioSettings,
        store: OutboxStore,
        events: mpsc::Sender<CreatioEvent>,
    ) -> Result<(CreatioLink, JoinHandle<()>), StartError> {
        let transport = Transport::new(&settings.http)?;
        let stored = store.load()?;
        let outbox = Outbox::restore(settings.outbox.clone(), stored);
        let driver = Driver::new(settings, outbox, store, transport, events);
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let task = tokio::spawn(driver.run(rx));
        Ok((CreatioLink { commands }, task))
    }

    /// Who is calling from `number`: from the cache, or asked of Creatio.
    pub async fn identify(&self, number: &str) -> Result<Identification, IdentifyError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Identify {
                number: number.to_owned(),
                reply,
            })
            .await
            .map_err(|_| IdentifyError::Stopped)?;
        rx.await.map_err(|_| IdentifyError::Stopped)?
    }

    /// Queues call writes (in order). `Ok` means they are on disk and will reach Creatio eventually.
    pub async fn record(&self, writes: Vec<CallWrite>) -> Result<Vec<RecordId>, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Record { writes, reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// The outbox and session state for the UI.
    pub async fn status(&self) -> Result<CreatioStatus, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Status { reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)
    }

    /// The refused records as JSON, for the UI's "export" button.
    pub async fn export_rejected(&self) -> Result<String, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::ExportRejected { reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// The refused records, for the UI to list (each keeps its reason and what was to be written).
    pub async fn rejected(&self) -> Result<Vec<RejectedRecord>, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Rejected { reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// The operator's `limit` most recent calls: from Creatio (the calls the logged-in user created, with their
    /// contact or account) plus those still waiting in the outbox; from the local history when Creatio cannot be
    /// asked, with the reason in [`CallHistory::offline`]. Fails only when the driver has stopped or the local
    /// history cannot be read.
    pub async fn history(&self, limit: usize) -> Result<CallHistory, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::History { limit, reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// Lets go of a refused record after the operator exported it. `Ok(false)`: it is not a refused record.
    pub async fn discard_rejected(&self, record: RecordId) -> Result<bool, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::DiscardRejected { record, reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// New credentials (the operator fixed the password): the session logs in afresh, and a refused password no
    /// longer holds the outbox back.
    pub async fn set_credentials(&self, credentials: Credentials) -> Result<(), LinkError> {
        self.commands
            .send(Command::SetCredentials { credentials })
            .await
            .map_err(|_| LinkError::Stopped)
    }

    /// Commits what is pending and stops the task; exchanges still out are abandoned (the outbox knows they may
    /// have landed and confirms them after the next start).
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown { reply }).await.is_ok() {
            let _ended = rx.await;
        }
    }
}
