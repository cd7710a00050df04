//! What goes in and out of a [`crate::Session`]: socket ids, transmits,
//! driver actions, commands and events.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::agent::{AgentState, StatusRequest};
use crate::error::{CommandFailure, LoginError, SyncError};
use crate::line::{Abonent, Hold, LineView};
use crate::msg::event::NumberState;
use crate::msg::reply::{BreakReason, DirectoryUser, MyUserInfo, PbxNumber, PhotoLink, Version};
use crate::msg::request::{GhostMode, Sequence};

/// One WebSocket the driver opened for us.
///
/// `candidate` is the index of the configured URL it serves; `serial` is
/// unique for the session's life, so frames of an old socket (closed, or
/// replaced after a secure redirect) can never be mistaken for a new one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId {
    /// Index into the configured URL list.
    pub candidate: usize,
    /// Unique per opened socket.
    pub serial: u64,
}

/// A text frame to send on a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The socket.
    pub socket: SocketId,
    /// One JSON frame.
    pub text: String,
}

/// Socket work for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket to `url` with sub-protocol `subprotocol`, then report
    /// [`crate::Session::handle_socket_opened`] or
    /// [`crate::Session::handle_socket_closed`] with this id.
    Open {
        /// Id for everything about this socket.
        socket: SocketId,
        /// Full `ws://` / `wss://` URL.
        url: String,
        /// Always [`crate::msg::SUBPROTOCOL`].
        subprotocol: &'static str,
    },
    /// Close this socket (no need to report the close back).
    Close {
        /// The socket.
        socket: SocketId,
    },
}

/// Handle of a command, echoed in its outcome event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A session id to persist for the next start. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(pub String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// Operator commands (§3.3, §3.7, §3.8, §3.2, §3.13).
///
/// There is no DTMF command: the Oktell WebSocket protocol has no DTMF
/// method; oktell.js sends DTMF only through its WebRTC SIP session (§2.9).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Auto-call a number (`pbxautocallstart`). From ready, or from talk
    /// without a hold (the PBX holds the current party: consultation).
    Call {
        /// Number to call.
        number: String,
        /// Who rings first.
        sequence: Sequence,
    },
    /// Intercom call (`pbxautocallstart` with `intercom: true`).
    Intercom {
        /// Number to call.
        number: String,
    },
    /// Answer the ringing phone remotely (`pbxanswercall`).
    Answer,
    /// End the current call: abort a dialling auto-call, decline a ringing
    /// one, drop the current party and return to the held one (flash abort),
    /// or hang up (`pbxabortcall`).
    Hangup,
    /// Decline a ringing call (`pbxdeclinecall`).
    Decline,
    /// Put the current party on hold (`pbxmakeflash switch`).
    Hold,
    /// Take the held party back (`pbxmakeflash switch`).
    Resume,
    /// Swap the current and the held party (`pbxmakeflash switch`).
    Toggle,
    /// Blind transfer of the current party (`pbxmaketransfer`).
    Transfer {
        /// Destination number.
        to: String,
    },
    /// Connect the held and the current party and leave (`pbxabortcall`
    /// with a held party, §3.3).
    Commutate,
    /// Create a conference with these numbers or user ids (`createnewconference`).
    ConferenceCreate {
        /// Numbers or user GUIDs.
        invitees: Vec<String>,
    },
    /// Turn the current call into a conference (`buildconferencefromcommutation`).
    ConferenceFromCall,
    /// Invite more parties into the current conference (`invitetoconference`).
    ConferenceInvite {
        /// Numbers or user GUIDs.
        invitees: Vec<String>,
    },
    /// Pull the held party into the current conference
    /// (`checkcanconnecttogathertoconference` then `connecttogathertoconference`).
    ConferenceAddHeld,
    /// Drop one competitor (`confdisconnectcompetitor`).
    ConferenceDrop {
        /// Competitor id (an [`Abonent::competitor_id`]).
        competitor_id: String,
    },
    /// Leave the conference (`exitconference`).
    ConferenceLeave,
    /// Listen to a subordinate operator's call (`attachasghost`).
    GhostListen {
        /// The operator's user id.
        user_id: String,
    },
    /// Change the own ghost mode in the current conference (`confsetghostmode`).
    GhostMode(GhostMode),
    /// Request an agent status (`setuserstate`).
    SetStatus(StatusRequest),
    /// Send an application event to users (`triggercustomevent`).
    CustomEvent {
        /// Event name.
        name: String,
        /// Any JSON payload.
        param: Value,
        /// User ids; `None` for everybody.
        recipients: Option<Vec<String>>,
        /// Deliver to ourselves too.
        send_back: bool,
    },
    /// Log out: the server ends the session and closes the socket. While not
    /// logged in it just stops the session. Ends in `Closed(LoggedOut)`.
    Logout,
    /// Close the socket without logging out, keeping the session resumable.
    /// Takes effect at once; no outcome event follows its id.
    Shutdown,
}

impl Command {
    /// A short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Call { .. } => "call",
            Command::Intercom { .. } => "intercom",
            Command::Answer => "answer",
            Command::Hangup => "hangup",
            Command::Decline => "decline",
            Command::Hold => "hold",
            Command::Resume => "resume",
            Command::Toggle => "toggle",
            Command::Transfer { .. } => "transfer",
            Command::Commutate => "commutate",
            Command::ConferenceCreate { .. } => "conference create",
            Command::ConferenceFromCall => "conference from call",
            Command::ConferenceInvite { .. } => "conference invite",
            Command::ConferenceAddHeld => "conference add held",
            Command::ConferenceDrop { .. } => "conference drop",
            Command::ConferenceLeave => "conference leave",
            Command::GhostListen { .. } => "ghost listen",
            Command::GhostMode(_) => "ghost mode",
            Command::SetStatus(_) => "set status",
            Command::CustomEvent { .. } => "custom event",
            Command::Logout => "logout",
            Command::Shutdown => "shutdown",
        }
    }
}

/// Why the session stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// [`Command::Logout`] completed.
    LoggedOut,
    /// [`Command::Shutdown`].
    Shutdown,
    /// The server refused the login in a way retrying cannot fix.
    LoginRefused(LoginError),
    /// The server cannot serve this client.
    Incompatible(SyncError),
}

/// Connection progress, reported on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Sockets are opening / handshaking (attempt 1 is the first connect).
    Connecting {
        /// Attempt number since the last established session.
        attempt: u32,
    },
    /// A socket won the handshake; `login` is out.
    LoggingIn,
    /// Logged in; loading state (§2.6).
    Syncing,
    /// All state loaded and subscriptions sent.
    Connected,
    /// Lost or failed; the next attempt starts after `delay`.
    Reconnecting {
        /// The upcoming attempt number.
        attempt: u32,
        /// Backoff before it.
        delay: Duration,
    },
    /// `logout` sent; waiting for the server to close.
    LoggingOut,
    /// Stopped; no more reconnects.
    Closed(CloseReason),
}

/// Everything the rest of the application learns from the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Connection progress.
    Connection(ConnectionState),
    /// A socket to this server could not be opened (connection refused,
    /// name not resolved, TLS certificate not trusted, handshake refused).
    /// Connecting goes on with the other URLs and then the backoff.
    SocketFailed {
        /// The URL that failed.
        url: String,
        /// The driver's description of the failure.
        reason: String,
    },
    /// A login was refused (transient ones are retried, see [`LoginError::is_transient`]).
    LoginFailed(LoginError),
    /// A critical post-login step failed; the session reconnects or closes.
    SyncFailed(SyncError),
    /// Logged in as this user; persist `session_id` to resume later.
    LoggedIn {
        /// The user's GUID.
        user_id: String,
        /// Session id for a later resume, if the server issued one.
        session_id: Option<SessionId>,
    },
    /// Server version (§3.1).
    Version(Version),
    /// The user's own info (§3.1).
    UserInfo(MyUserInfo),
    /// Break reasons (§3.2).
    BreakReasons(Vec<BreakReason>),
    /// Agent state changed; [`AgentState::status`] gives the status.
    Agent(AgentState),
    /// The user's redirect number (from the user's own redirect rule).
    RedirectNumber(Option<String>),
    /// Line state or parties changed.
    Line(LineView),
    /// The hold changed.
    Hold(Hold),
    /// The call queue changed.
    Queue(Vec<Abonent>),
    /// The PBX number plan was (re)loaded.
    Numbers(Vec<PbxNumber>),
    /// The user directory was (re)loaded.
    Users(Vec<DirectoryUser>),
    /// Avatar links were (re)loaded.
    Avatars(Vec<PhotoLink>),
    /// Presence of some numbers changed (`pbxnumberstatechanged`).
    NumberStates(Vec<NumberState>),
    /// A command was accepted by the server.
    CommandSucceeded {
        /// Its handle.
        id: RequestId,
    },
    /// A command failed after it was sent.
    CommandFailed {
        /// Its handle.
        id: RequestId,
        /// Why.
        failure: CommandFailure,
    },
    /// An application event from another user (`customevent`).
    Custom {
        /// Event name.
        name: String,
        /// Payload.
        param: Value,
    },
    /// Any other subscribed server event, untouched.
    Native {
        /// Event name.
        name: String,
        /// Payload.
        raw: Map<String, Value>,
    },
}
