//! The PBX call model: one line per user, each carrying at most one *current* party (ringing,
//! dialling, connected or a conference) and one party *on hold* (Oktell's "flash"), plus callers
//! waiting in a queue for a busy operator.
//!
//! Every operation changes the model first and then queues the [`Notice`]s that the Oktell layer
//! turns into events ([`Pbx::take_notices`]), so a client that reloads `getextendedlineinfo` on an
//! event always reads the new state (PROTOCOL.md §7, "rules of thumb"). Time only enters as `now`; far ends and the
//! operator's desk phone act when their deadline passes ([`Pbx::handle_timeout`]).
//!
//! Event sequences follow the transcripts of PROTOCOL.md §6 and the checklist of §7. Where the
//! real server's behaviour is unknown (marked `[INF]` there), the simulator chooses:
//!
//! * `linestatestr`: `lsFree` idle, `lsRinging` ringing or back ring, `lsHookUp` dialling or
//!   operator free with a party on hold, `lsCommutated` connected or conference, `lsDisconnected`
//!   for a user in state 7 (no phone).
//! * Hold ("flash") leaves the operator *ready with a hold* (`abonent: {}`, `isflashing: true`).
//! * A back ring is `isringing` + `direction: "acm_callback"`, dialling is `isautocall`.
//! * `sequence: "abonent"` dials the far end first and rings the operator once it answered.
//! * A caller dialling a busy line waits in that operator's queue and rings
//!   `queue_ring_delay_ms` after the line is free; a declined call ends.
//! * Commutation and transfers hand the parties on; they leave the model (colleagues' legs are
//!   re-pointed at their new party). A number outside the world leaves the PBX.
//! * A logged-in colleague's own line rings for an internal call; a colleague without a session
//!   answers after `answer_after_ms`, or is busy (busy, DND) or never answers (offline, no phone).
//! * A service number of the world routes to a free ready call-centre operator of its
//!   department, else queues at the operator with the shortest queue.
//! * Conference invitees join at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::directory::{Directory, UserIdx};
use crate::world::World;

mod clock;
mod conference;
mod dialling;
mod far_end;
mod operator;
mod presence;
mod view;

pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Identifies a call in the control API and the state snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// Who receives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every session of one user.
    User(UserIdx),
    /// Every session (number states are public).
    Everyone,
}

/// Something the Oktell layer must tell its subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub audience: Audience,
    pub event: &'static str,
    pub payload: Map<String, Value>,
}

/// The party at the far end of an operator's call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Party {
    External { number: String, name: Option<String> },
    Internal { user: UserIdx, number: String },
}

impl Party {
    pub fn number(&self) -> &str {
        match self {
            Party::External { number, .. } | Party::Internal { number, .. } => number,
        }
    }
}

/// A participant of a conference other than the operator who owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub competitor_id: String,
    pub party: Party,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallState {
    /// Waiting for the operator's line to become free.
    Queued,
    /// Incoming call ringing at the operator.
    Ringing,
    /// Auto-call: the PBX rings the operator's own phone first.
    BackRing,
    /// Auto-call: the operator is off-hook and the PBX dials the far end.
    Dialling,
    Talking {
        #[serde(skip)]
        since: Instant,
    },
    OnHold,
    Conference {
        id: String,
        members: Vec<Member>,
        #[serde(skip)]
        since: Instant,
    },
}

/// What the deadline of a call will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallTimer {
    OperatorPicksUp,
    RemoteAnswers,
    RemoteBusy,
    RemoteGivesUp,
    CallerGivesUp,
    QueueRings,
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub id: CallId,
    pub chain: String,
    pub operator: UserIdx,
    pub remote: Party,
    pub incoming: bool,
    #[serde(flatten)]
    pub state: CallState,
    #[serde(rename = "pending", serialize_with = "timer_kind")]
    pub timer: Option<(Instant, CallTimer)>,
    /// The colleague's leg of a call between two logged-in users: both legs end together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<CallId>,
    /// Auto-call with `sequence: "abonent"`: the far end is dialled first, the operator's phone
    /// rings once it answered.
    #[serde(skip)]
    pub abonent_first: bool,
}

/// Shows what a call waits for in the state snapshot (the instant itself means nothing outside).
fn timer_kind<S: serde::Serializer>(timer: &Option<(Instant, CallTimer)>, serializer: S) -> Result<S::Ok, S::Error> {
    timer.map(|(_, kind)| kind).serialize(serializer)
}

/// Why the PBX refused an operation; the Oktell layer answers `result: 0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    #[error("the line is not in a state that allows this")]
    WrongLineState,
    #[error("no user has number {0}")]
    UnknownNumber(String),
    #[error("no call {}", .0.0)]
    UnknownCall(CallId),
    #[error("no user {0}")]
    UnknownUser(String),
    #[error("bad argument: {0}")]
    BadArgument(&'static str),
}

/// Flash (hold) operations of `pbxmakeflash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashMode {
    Switch,
    Abort,
}

pub struct Pbx {
    directory: Directory,
    world: World,
    calls: BTreeMap<CallId, Call>,
    next_call: u64,
    rng: StdRng,
    next_incoming: Option<Instant>,
    next_presence: Option<Instant>,
    /// Users with at least one logged-in session; background activity leaves them alone.
    online: BTreeSet<UserIdx>,
    notices: Vec<Notice>,
}

impl std::fmt::Debug for Pbx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pbx")
            .field("calls", &self.calls.len())
            .finish_non_exhaustive()
    }
}

/// The line of one operator, as `getextendedlineinfo` reports it.
#[derive(Debug, Clone, Copy)]
struct Line {
    current: Option<CallId>,
    held: Option<CallId>,
}

impl Pbx {
    pub fn new(world: World, seed: u64, now: Instant) -> Self {
        let ms = Duration::from_millis;
        Pbx {
            directory: Directory::new(&world),
            next_incoming: world.activity.incoming_call_every_ms.map(|m| now + ms(m)),
            next_presence: world.activity.presence_change_every_ms.map(|m| now + ms(m)),
            world,
            calls: BTreeMap::new(),
            next_call: 1,
            rng: StdRng::seed_from_u64(seed),
            online: BTreeSet::new(),
            notices: Vec::new(),
        }
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values()
    }

    /// Notices produced since the last call, in order.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// A fresh random GUID (seeded, so runs repeat).
    pub fn guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-8{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn line(&self, user: UserIdx) -> Line {
        let mut line = Line {
            current: None,
            held: None,
        };
        for call in self.calls.values().filter(|c| c.operator == user) {
            match call.state {
                CallState::Queued => {}
                CallState::OnHold => line.held = Some(call.id),
                _ => line.current = Some(call.id),
            }
        }
        line
    }

    // ----- notices -------------------------------------------------------------------------

    fn notify(&mut self, audience: Audience, event: &'static str, payload: Map<String, Value>) {
        self.notices.push(Notice {
            audience,
            event,
            payload,
        });
    }

    fn notify_value(&mut self, audience: Audience, event: &'static str, payload: Value) {
        let payload = match payload {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self.notify(audience, event, payload);
    }

    fn tell(&mut self, user: UserIdx, event: &'static str, chain: Option<&str>) {
        let mut payload = Map::new();
        if let Some(chain) = chain {
            payload.insert("chainid".into(), chain.into());
        }
        self.notify(Audience::User(user), event, payload);
    }

    fn comm(&mut self, user: UserIdx, started: bool, chain: &str) {
        let mut payload = Map::new();
        payload.insert("chainid".into(), chain.into());
        if started {
            payload.insert("isconference".into(), false.into());
            self.notify(Audience::User(user), "phoneevent_commstarted", payload);
        } else {
            self.notify(Audience::User(user), "phoneevent_commstopped", payload);
        }
    }

    fn is_in_session(&self, user: UserIdx) -> bool {
        self.online.contains(&user)
    }

    /// Records whether a user has a logged-in session (kept by the Oktell layer).
    pub fn set_online(&mut self, user: UserIdx, online: bool) {
        if online {
            self.online.insert(user);
        } else {
            self.online.remove(&user);
        }
    }
}
