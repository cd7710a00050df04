//! Client requests (C→S), one variant per method the core sends.
//!
//! Field names and order are the wire contract of PROTOCOL.md §2–§3 and
//! Appendix A. [`crate::msg::encode`] adds `userlogin` and `qid` around them.

use serde::Serialize;
use serde_json::Value;

/// Who rings first in an auto-call (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sequence {
    /// Ring the operator first, then dial the number (oktell.js default).
    User,
    /// Dial the number first.
    Abonent,
}

/// `pbxmakeflash` modes (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashMode {
    /// Swap current and held party, hold the current one, or take the held one back.
    Switch,
    /// Drop the current party and return to the held one.
    Abort,
}

/// Own ghost mode in a supervised conference (§3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GhostMode {
    /// Listen only.
    Monitor,
    /// Whisper to the operator.
    Help,
    /// Full participant.
    Conference,
}

/// Password login or session resume (§2.2).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LoginRequest {
    /// MD5 of the password as typed.
    #[serde(rename = "Password", skip_serializing_if = "Option::is_none")]
    pub typed_digest: Option<String>,
    /// MD5 of the lower-cased password.
    #[serde(rename = "password", skip_serializing_if = "Option::is_none")]
    pub lowered_digest: Option<String>,
    /// Session id of an earlier login, for a resume without password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessionid: Option<String>,
    /// Always 1: ask the server to return ids.
    pub showid: u8,
    /// Whether the server should hand out WebRTC SIP credentials.
    pub usewebrtc: bool,
    /// Optional workplace identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workplace: Option<String>,
    /// Optional session lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

impl std::fmt::Debug for LoginRequest {
    /// Digests and session ids are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("with_password", &self.typed_digest.is_some())
            .field("with_session", &self.sessionid.is_some())
            .field("usewebrtc", &self.usewebrtc)
            .finish_non_exhaustive()
    }
}

/// Body of `setuserstate` (§3.2); absent keys are left unchanged by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetUserState {
    /// New `userstateid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userstateid: Option<u8>,
    /// Logged into the call-center.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oncallcenter: Option<bool>,
    /// Manual call-center mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onccmanual: Option<bool>,
    /// Redirect active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onredirect: Option<bool>,
    /// Break reason id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lunchreasonid: Option<i64>,
}

/// Descriptor of a new conference (§3.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewConference {
    /// Client-generated GUID.
    pub id: String,
    /// Random room number 0..=10000.
    pub room: u32,
    /// Always empty, as oktell.js sends it.
    pub name: String,
    /// Always empty.
    pub description: String,
    /// Always `"free"`.
    pub accessmode: &'static str,
    /// Always false.
    pub isselector: bool,
    /// Always true.
    pub record: bool,
    /// Always `"selected"`.
    pub recordrights: &'static str,
    /// Always true.
    pub everyonecaninvite: bool,
    /// Always true.
    pub canvieweachother: bool,
}

impl NewConference {
    /// The fixed descriptor oktell.js sends, with our id and room.
    pub fn new(id: String, room: u32) -> NewConference {
        NewConference {
            id,
            room,
            name: String::new(),
            description: String::new(),
            accessmode: "free",
            isselector: false,
            record: true,
            recordrights: "selected",
            everyonecaninvite: true,
            canvieweachother: true,
        }
    }
}

/// One invited party of a conference request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Invitee {
    /// The creator, by login.
    Userlogin(String),
    /// An Oktell user, by GUID.
    Userid(String),
    /// A phone number (servers dated 140929 and later).
    Number(String),
    /// A phone number for servers older than 140929.
    Intnumber(String),
}

/// A conference competitor reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompetitorRef {
    /// The competitor's id within the conference.
    pub competitorid: String,
    /// Only for `confsetvoiceparams`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ghosthelp: Option<bool>,
}

/// Every request the core sends. Serialises to the method's own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Request {
    /// Handshake and keepalive.
    Ping {},
    /// §2.2.
    Login(LoginRequest),
    /// §2.7.
    Logout {},
    /// §1.7.
    SubscribeEvent {
        /// Event names, one per message in practice.
        eventmethod: Vec<String>,
    },
    /// §3.1.
    GetVersion {
        /// Always 1.
        showalloweddbstoredprocs: u8,
    },
    /// §3.1.
    GetMyUserInfo {},
    /// §3.2, break reasons.
    CcGetLunchTypes {},
    /// §3.2.
    GetUserState {},
    /// §3.2.
    SetUserState(SetUserState),
    /// §3.2.
    GetRedirectRules {},
    /// §3.9.
    GetPbxNumbers {
        /// Always `"full"`.
        mode: &'static str,
    },
    /// §3.9.
    GetAllUserNumbers {
        /// Always true.
        fillsubordinates: bool,
    },
    /// §3.9.
    GetAllUserPhotoLink {
        /// Always `"page"`.
        mode: &'static str,
    },
    /// §3.5.
    GetExtendedLineInfo {},
    /// §3.10.
    GetCurrentQueue {},
    /// §3.3.
    PbxAutoCallStart {
        /// Who rings first.
        sequence: Sequence,
        /// `Some(true)` only for intercom calls.
        #[serde(skip_serializing_if = "Option::is_none")]
        intercom: Option<bool>,
        /// The number to call.
        number: String,
    },
    /// §3.3.
    PbxAutoCallAbort {},
    /// §3.3.
    PbxAnswerCall {},
    /// §3.3.
    PbxDeclineCall {},
    /// §3.3; with a held party this connects the two and drops the operator.
    PbxAbortCall {},
    /// §3.3.
    PbxMakeFlash {
        /// Flash mode.
        mode: FlashMode,
    },
    /// §3.3.
    PbxMakeTransfer {
        /// Destination number.
        transferto: String,
    },
    /// §3.7.
    CreateNewConference {
        /// The new conference.
        conference: NewConference,
        /// Creator first, then the invitees.
        competitors: Vec<Invitee>,
    },
    /// §3.7.
    InviteToConference {
        /// Target conference.
        conferenceid: String,
        /// Invitees.
        competitors: Vec<Invitee>,
    },
    /// §3.7.
    BuildConferenceFromCommutation {},
    /// §3.7.
    CheckCanConnectTogatherToConference {},
    /// §3.7.
    ConnectTogatherToConference {},
    /// §3.7.
    GetConferenceInfo {
        /// Conference id.
        conferenceid: String,
    },
    /// §3.7.
    ConfDisconnectCompetitor {
        /// Conference id.
        conferenceid: String,
        /// The competitor to drop.
        competitor: CompetitorRef,
    },
    /// §3.7.
    ExitConference {
        /// Conference id.
        conferenceid: String,
    },
    /// §3.7.
    ConfHandleEvent {
        /// Conference id.
        conferenceid: String,
        /// Always `"competitors"`.
        eventtype: &'static str,
        /// Start (true) or stop (false) competitor events.
        handle: bool,
    },
    /// §3.8.
    AttachAsGhost {
        /// User id of the supervised operator.
        ghostedid: String,
    },
    /// §3.8.
    ConfSetGhostMode {
        /// Conference id.
        conferenceid: String,
        /// New own ghost mode.
        ghostmode: GhostMode,
    },
    /// §3.13; carries `userlogin` and `userid` itself.
    TriggerCustomEvent {
        /// Own login.
        userlogin: String,
        /// Own user id.
        userid: String,
        /// Event name.
        eventname: String,
        /// Any JSON payload.
        eventparam: Value,
        /// User ids, or `false` for everybody.
        recipients: Value,
        /// The number 1 or the string `"0"`, as oktell.js sends it.
        sendback: Value,
    },
}

impl Request {
    /// A subscription to one event name.
    pub fn subscribe(name: &str) -> Request {
        Request::SubscribeEvent {
            eventmethod: vec![name.to_owned()],
        }
    }

    /// The method name, element `[0]` of the frame.
    pub fn method(&self) -> &'static str {
        match self {
            Request::Ping {} => "ping",
            Request::Login(_) => "login",
            Request::Logout {} => "logout",
            Request::SubscribeEvent { .. } => "subscribeevent",
            Request::GetVersion { .. } => "getversion",
            Request::GetMyUserInfo {} => "getmyuserinfo",
            Request::CcGetLunchTypes {} => "cc_getlunchtypes",
            Request::GetUserState {} => "getuserstate",
            Request::SetUserState(_) => "setuserstate",
            Request::GetRedirectRules {} => "getredirectrules",
            Request::GetPbxNumbers { .. } => "getpbxnumbers",
            Request::GetAllUserNumbers { .. } => "getallusernumbers",
            Request::GetAllUserPhotoLink { .. } => "getalluserphotolink",
            Request::GetExtendedLineInfo {} => "getextendedlineinfo",
            Request::GetCurrentQueue {} => "getcurrentqueue",
            Request::PbxAutoCallStart { .. } => "pbxautocallstart",
            Request::PbxAutoCallAbort {} => "pbxautocallabort",
            Request::PbxAnswerCall {} => "pbxanswercall",
            Request::PbxDeclineCall {} => "pbxdeclinecall",
            Request::PbxAbortCall {} => "pbxabortcall",
            Request::PbxMakeFlash { .. } => "pbxmakeflash",
            Request::PbxMakeTransfer { .. } => "pbxmaketransfer",
            Request::CreateNewConference { .. } => "createnewconference",
            Request::InviteToConference { .. } => "invitetoconference",
            Request::BuildConferenceFromCommutation {} => "buildconferencefromcommutation",
            Request::CheckCanConnectTogatherToConference {} => "checkcanconnecttogathertoconference",
            Request::ConnectTogatherToConference {} => "connecttogathertoconference",
            Request::GetConferenceInfo { .. } => "getconferenceinfo",
            Request::ConfDisconnectCompetitor { .. } => "confdisconnectcompetitor",
            Request::ExitConference { .. } => "exitconference",
            Request::ConfHandleEvent { .. } => "confhandleevent",
            Request::AttachAsGhost { .. } => "attachasghost",
            Request::ConfSetGhostMode { .. } => "confsetghostmode",
            Request::TriggerCustomEvent { .. } => "triggercustomevent",
        }
    }

    /// Whether the envelope adds `userlogin` (§1.3: not for pings and
    /// subscriptions, and custom events carry it themselves).
    pub fn carries_userlogin(&self) -> bool {
        !matches!(
            self,
            Request::Ping {} | Request::SubscribeEvent { .. } | Request::TriggerCustomEvent { .. }
        )
    }
}
