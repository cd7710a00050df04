//! Line state, abonents and hold, derived from `getextendedlineinfo` (§3.5,
//! §3.6, §5.1, §5.3, §5.4), and the re-read coalescer that replaces
//! oktell.js's 400–700 ms delayed reloads.

use std::time::{Duration, Instant};

use crate::msg::abonent::RawAbonent;
use crate::msg::reply::LineInfo;

/// Phone (line) state of §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneState {
    /// No phone, line disconnected or logged out.
    Disconnected,
    /// Idle, possibly with a party on hold.
    Ready,
    /// Auto-call: the operator answered, the PBX dials the target.
    BackCall,
    /// Outgoing call in progress, not yet connected.
    Call,
    /// Incoming call ringing at the operator.
    Ring,
    /// Auto-call: the PBX rings the operator's phone.
    BackRing,
    /// Connected (also conference and IVR).
    Talk,
}

impl PhoneState {
    /// The public string oktell.js uses (`BackCall` reads as `call`).
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneState::Disconnected => "disconnected",
            PhoneState::Ready => "ready",
            PhoneState::BackCall | PhoneState::Call => "call",
            PhoneState::Ring => "ring",
            PhoneState::BackRing => "backring",
            PhoneState::Talk => "talk",
        }
    }
}

/// A party on the line, on hold, in the queue or in a conference (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abonent {
    /// Identity: competitor id, number, user id, caller id or chain id.
    pub key: String,
    /// `number`, else `callerid`.
    pub phone: Option<String>,
    /// Display name: first of simplename, username, name, caption, userlogin, number, ivrname.
    pub name: Option<String>,
    /// The Oktell user behind the party, if any.
    pub user_id: Option<String>,
    /// That user's login.
    pub user_login: Option<String>,
    /// An external line.
    pub is_external: bool,
    /// An IVR.
    pub is_ivr: bool,
    /// Call chain id (never the all-zero GUID).
    pub chain_id: Option<String>,
    /// Conference competitor id.
    pub competitor_id: Option<String>,
    /// Conference creator.
    pub is_conference_creator: bool,
    /// Conference ghost (supervisor).
    pub is_conference_ghost: bool,
}

impl Abonent {
    /// Builds an abonent; `None` when the object has no identity key.
    pub fn from_raw(raw: &RawAbonent) -> Option<Abonent> {
        let key = raw.key()?.to_owned();
        let name = [
            &raw.simplename,
            &raw.username,
            &raw.name,
            &raw.caption,
            &raw.userlogin,
            &raw.number,
            &raw.ivrname,
        ]
        .into_iter()
        .find_map(Clone::clone);
        Some(Abonent {
            key,
            phone: raw.number.clone().or_else(|| raw.callerid.clone()),
            name,
            user_id: raw.userid.clone(),
            user_login: raw.userlogin.clone(),
            is_external: raw.isextline,
            is_ivr: raw.isivr,
            chain_id: raw.real_chain().map(str::to_owned),
            competitor_id: raw.competitorid.clone(),
            is_conference_creator: raw.iscreator,
            is_conference_ghost: raw.isghost,
        })
    }
}

/// What is on hold (§5.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Hold {
    /// Nothing.
    #[default]
    None,
    /// A party.
    Party(Abonent),
    /// A conference.
    Conference {
        /// Conference id.
        id: String,
        /// Conference name.
        name: Option<String>,
        /// Room.
        room: Option<String>,
    },
}

impl Hold {
    fn from_line(info: &LineInfo) -> Hold {
        let Some(flashed) = info.flashed.as_ref().filter(|_| info.isflashing) else {
            return Hold::None;
        };
        if let Some(id) = &flashed.conferenceid {
            return Hold::Conference {
                id: id.clone(),
                name: flashed.conferencename.clone(),
                room: flashed.conferenceroom.clone(),
            };
        }
        // Keyed by userid or number; anything else is silently no hold (§3.5).
        if flashed.userid.is_none() && flashed.number.is_none() {
            return Hold::None;
        }
        Abonent::from_raw(flashed).map_or(Hold::None, Hold::Party)
    }

    /// The held party's key or the held conference's id; the hold "changes"
    /// only when this does (§5.4), not when details of the same party do.
    pub fn identity(&self) -> Option<&str> {
        match self {
            Hold::None => None,
            Hold::Party(a) => Some(&a.key),
            Hold::Conference { id, .. } => Some(id),
        }
    }

    /// Whether anything is on hold.
    pub fn is_held(&self) -> bool {
        !matches!(self, Hold::None)
    }
}

/// Everything the panel shows about the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    /// Phone state.
    pub state: PhoneState,
    /// Current parties (one, or the visible conference competitors).
    pub abonents: Vec<Abonent>,
    /// Held party.
    pub hold: Hold,
    /// Current conference id.
    pub conference: Option<String>,
    /// When the current talk started (seeded from `timertalklensec`).
    pub talk_since: Option<Instant>,
}

impl Default for LineView {
    fn default() -> Self {
        LineView {
            state: PhoneState::Disconnected,
            abonents: Vec::new(),
            hold: Hold::None,
            conference: None,
            talk_since: None,
        }
    }
}

/// Conference states in which a competitor is no longer shown (§3.7).
const GONE: [&str; 7] = [
    "Exited",
    "MisInviteBusy",
    "MisInviteNotRespond",
    "MisInviteTimeout",
    "MisInviteStop",
    "MisInviteAbort",
    "MisInviteRefuse",
];

/// Visible conference competitors as abonents. In a ghost conference only
/// ghosts and the user itself are shown.
pub fn conference_abonents(
    competitors: &[RawAbonent],
    ghost: bool,
    my_user_id: Option<&str>,
    my_number: Option<&str>,
) -> Vec<Abonent> {
    competitors
        .iter()
        .filter(|c| !c.confstatestr.as_deref().is_some_and(|s| GONE.contains(&s)))
        .filter(|c| {
            !ghost
                || c.isghost
                || (my_user_id.is_some() && c.userid.as_deref() == my_user_id)
                || (my_number.is_some() && c.number.as_deref() == my_number)
        })
        .filter_map(Abonent::from_raw)
        .collect()
}

/// What a line reply changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineChange {
    /// Phone state, abonents or conference changed.
    pub line: bool,
    /// The hold changed.
    pub hold: bool,
    /// The reply named a conference we were not tracking yet.
    pub entered_conference: bool,
}

/// Derives the line view from replies, keeping oktell.js's auto-call flag.
#[derive(Debug, Default)]
pub struct LineTracker {
    view: LineView,
    auto_call: bool,
}

impl LineTracker {
    /// The current view.
    pub fn view(&self) -> &LineView {
        &self.view
    }

    /// `phoneevent_acmcallstarted`: the next reply decides with rules 1–2.
    pub fn auto_call_started(&mut self) {
        self.auto_call = true;
    }

    /// The link is gone: an auto-call flag set before cannot be trusted,
    /// because the replies that would clear it were lost with the link. The
    /// line read after the reconnect is decided by what the server reports
    /// (a stale flag turned a connected call into "call" for good).
    pub fn link_lost(&mut self) {
        self.auto_call = false;
    }

    /// Applies a successful `getextendedlineinfo` reply (§3.5 rules 1–9; the
    /// WebRTC-only rules 7–8 do not apply to a desk phone).
    pub fn apply(&mut self, now: Instant, info: &LineInfo) -> LineChange {
        let before = self.view.clone();
        let hold = Hold::from_line(info);
        let empty = RawAbonent::default();
        let ab = info.abonent.as_ref().unwrap_or(&empty);
        let old = self.view.state;
        let line = info.linestatestr.as_deref().unwrap_or_default();

        let mut merged = ab.clone();
        if merged.real_chain().is_none() {
            merged.chainid = info.chainid.clone();
        }
        if merged.callerid.is_none() {
            merged.callerid = info.calledid.clone();
        }

        let state = if self.auto_call && !ab.isautocall && old == PhoneState::Ready {
            PhoneState::BackRing
        } else if ab.isautocall {
            self.auto_call = false;
            PhoneState::BackCall
        } else if ab.isringing {
            if ab.direction.as_deref() == Some("acm_callback") || old == PhoneState::BackRing {
                PhoneState::BackRing
            } else {
                PhoneState::Ring
            }
        } else if (!self.auto_call && (ab.iscommutated || ab.iswaitinginflash || ab.isconference))
            || (line == "lsCommutated" && ab.isivr && !ab.iswaitingforanswer)
        {
            PhoneState::Talk
        } else if ab.extline.is_some() || ab.number.is_some() {
            self.auto_call = false;
            PhoneState::Call
        } else if line == "lsDisconnected" {
            PhoneState::Disconnected
        } else if line != "lsReserved" {
            PhoneState::Ready
        } else {
            old
        };

        let mut entered_conference = false;
        match &ab.conferenceid {
            Some(id) if state == PhoneState::Talk => {
                entered_conference = self.view.conference.as_deref() != Some(id.as_str());
                if entered_conference {
                    self.view.abonents.clear();
                }
                self.view.conference = Some(id.clone());
            }
            _ => {
                self.view.conference = None;
                match Abonent::from_raw(&merged) {
                    Some(a) => self.view.abonents = vec![a],
                    // An auto-call or IVR phase may briefly report no party.
                    None if matches!(state, PhoneState::BackCall | PhoneState::BackRing) || ab.isivr => {}
                    None => self.view.abonents.clear(),
                }
            }
        }
        if matches!(state, PhoneState::Ready | PhoneState::Disconnected) {
            self.view.abonents.clear();
            self.view.conference = None;
        }
        self.view.hold = if state == PhoneState::Disconnected {
            Hold::None
        } else {
            hold
        };
        if state == PhoneState::Talk {
            if old != PhoneState::Talk || self.view.talk_since.is_none() {
                let talked = info
                    .timertalklensec
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(Duration::ZERO, Duration::from_secs);
                self.view.talk_since = Some(now.checked_sub(talked).unwrap_or(now));
            }
        } else {
            self.view.talk_since = None;
        }
        self.view.state = state;
        LineChange {
            line: before.state != self.view.state
                || before.abonents != self.view.abonents
                || before.conference != self.view.conference,
            hold: before.hold.identity() != self.view.hold.identity(),
            entered_conference,
        }
    }

    /// Replaces the conference parties (from `getconferenceinfo` or
    /// `confcompositionchanged`). Returns whether the view changed.
    pub fn set_conference_parties(&mut self, id: &str, parties: Vec<Abonent>) -> bool {
        if self.view.conference.as_deref() != Some(id) || self.view.abonents == parties {
            return false;
        }
        self.view.abonents = parties;
        true
    }

    /// Updates one conference party (`confcompetitorstatechanged`).
    pub fn update_conference_party(&mut self, id: &str, raw: &RawAbonent) -> bool {
        if self.view.conference.as_deref() != Some(id) {
            return false;
        }
        let Some(key) = raw.key().map(str::to_owned) else {
            return false;
        };
        let before = self.view.abonents.clone();
        self.view.abonents.retain(|a| a.key != key);
        let gone = raw.confstatestr.as_deref().is_some_and(|s| GONE.contains(&s));
        if !gone && let Some(a) = Abonent::from_raw(raw) {
            self.view.abonents.push(a);
        }
        before != self.view.abonents
    }

    /// The user state went to 7 (no phone) or we logged out: the phone is
    /// disconnected whatever the last reply said.
    pub fn force_disconnected(&mut self) -> bool {
        let changed = self.view != LineView::default();
        self.view = LineView::default();
        self.auto_call = false;
        changed
    }
}

/// At most one `getextendedlineinfo` in flight and at most one pending: any
/// number of triggers while a read is outstanding collapse into one re-read
/// that starts as soon as the outstanding one is answered.
#[derive(Debug, Default)]
pub struct Rereads {
    in_flight: bool,
    pending: bool,
}

impl Rereads {
    /// A trigger arrived. Returns true when a read must be sent now.
    pub fn request(&mut self) -> bool {
        if self.in_flight {
            self.pending = true;
            false
        } else {
            self.in_flight = true;
            true
        }
    }

    /// The outstanding read was answered (or failed). Returns true when the
    /// pending re-read must be sent now.
    pub fn completed(&mut self) -> bool {
        self.in_flight = false;
        if std::mem::take(&mut self.pending) {
            self.in_flight = true;
            true
        } else {
            false
        }
    }

    /// Whether a read is outstanding.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// A new socket: nothing is outstanding any more.
    pub fn reset(&mut self) {
        *self = Rereads::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::reply::decode;
    use serde_json::{Value, json};

    fn info(v: Value) -> LineInfo {
        let Value::Object(m) = v else { unreachable!() };
        decode(&m).unwrap()
    }

    fn idle() -> LineInfo {
        info(
            json!({"result":1,"linestatestr":"lsFree","chainid":"00000000-0000-0000-0000-000000000000",
            "calledid":"","timertalklensec":0,"isflashing":false,"flashed":null,"abonent":{}}),
        )
    }

    #[test]
    fn idle_reply_means_ready_without_parties() {
        let mut t = LineTracker::default();
        let c = t.apply(Instant::now(), &idle());
        assert!(c.line);
        assert_eq!(t.view().state, PhoneState::Ready);
        assert!(t.view().abonents.is_empty());
    }

    #[test]
    fn auto_call_flag_turns_an_empty_reply_into_backring() {
        let mut t = LineTracker::default();
        t.apply(Instant::now(), &idle());
        t.auto_call_started();
        t.apply(Instant::now(), &idle());
        assert_eq!(t.view().state, PhoneState::BackRing);
    }

    #[test]
    fn ringing_incoming_call_is_ring_with_the_caller() {
        let mut t = LineTracker::default();
        t.apply(Instant::now(), &idle());
        t.apply(
            Instant::now(),
            &info(
                json!({"linestatestr":"lsRinging","chainid":"C2","abonent":{"number":"89161234567",
                "isextline":true,"name":"Client A","isringing":true,"direction":"in"}}),
            ),
        );
        let v = t.view();
        assert_eq!(v.state, PhoneState::Ring);
        assert_eq!(v.abonents[0].key, "89161234567");
        assert_eq!(v.abonents[0].name.as_deref(), Some("Client A"));
        assert_eq!(v.abonents[0].chain_id.as_deref(), Some("C2"));
    }

    #[test]
    fn talk_seeds_the_timer_from_timertalklensec() {
        let now = Instant::now() + Duration::from_secs(100);
        let mut t = LineTracker::default();
        t.apply(
            now,
            &info(json!({"linestatestr":"lsCommutated","timertalklensec":3,
                "abonent":{"number":"102","iscommutated":true}})),
        );
        assert_eq!(t.view().state, PhoneState::Talk);
        assert_eq!(t.view().talk_since, Some(now - Duration::from_secs(3)));
    }

    #[test]
    fn hold_needs_a_number_userid_or_conference() {
        let mut t = LineTracker::default();
        let c = t.apply(
            Instant::now(),
            &info(json!({"linestatestr":"lsHookUp","isflashing":true,
                "flashed":{"number":"84951234567","isextline":true},"abonent":{}})),
        );
        assert!(c.hold);
        assert_eq!(t.view().state, PhoneState::Ready);
        assert!(matches!(&t.view().hold, Hold::Party(a) if a.key == "84951234567"));
        let c = t.apply(
            Instant::now(),
            &info(json!({"isflashing":true,"flashed":{"callerid":"x"},"abonent":{}})),
        );
        assert!(c.hold);
        assert_eq!(t.view().hold, Hold::None);
    }

    #[test]
    fn disconnected_line_clears_the_hold() {
        let mut t = LineTracker::default();
        t.apply(
            Instant::now(),
            &info(json!({"isflashing":true,"flashed":{"number":"1"},"abonent":{}})),
        );
        t.apply(
            Instant::now(),
            &info(json!({"linestatestr":"lsDisconnected","isflashing":true,"flashed":{"number":"1"},"abonent":{}})),
        );
        assert_eq!(t.view().state, PhoneState::Disconnected);
        assert_eq!(t.view().hold, Hold::None);
    }

    #[test]
    fn reserved_line_keeps_the_previous_state() {
        let mut t = LineTracker::default();
        t.apply(
            Instant::now(),
            &info(json!({"abonent":{"number":"5","isringing":true}})),
        );
        t.apply(Instant::now(), &info(json!({"linestatestr":"lsReserved","abonent":{}})));
        assert_eq!(t.view().state, PhoneState::Ring);
    }

    #[test]
    fn conference_parties_hide_exited_and_non_ghosts_in_ghost_mode() {
        let comps: Vec<RawAbonent> = serde_json::from_value(json!([
            {"competitorid":"c1","userid":"me","number":"101"},
            {"competitorid":"c2","number":"2","confstatestr":"Exited"},
            {"competitorid":"c3","number":"3"},
            {"competitorid":"c4","number":"4","isghost":true}
        ]))
        .unwrap();
        let keys = |v: Vec<Abonent>| v.into_iter().map(|a| a.key).collect::<Vec<_>>();
        assert_eq!(
            keys(conference_abonents(&comps, false, Some("me"), None)),
            ["c1", "c3", "c4"]
        );
        assert_eq!(keys(conference_abonents(&comps, true, Some("me"), None)), ["c1", "c4"]);
    }

    #[test]
    fn rereads_coalesce_into_one_pending() {
        let mut r = Rereads::default();
        assert!(r.request());
        assert!(!r.request());
        assert!(!r.request());
        assert!(r.completed(), "one re-read for all triggers");
        assert!(!r.completed());
        assert!(!r.in_flight());
    }
}
