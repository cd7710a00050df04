//! Agent states: `setuserstate`, busy while on the phone, back to the previous state after the
//! last call.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Audience, CallState, CallTimer, Pbx, Refused};
use crate::directory::{Presence, PresenceChange, UserIdx, state};

impl Pbx {
    /// Applies a `setuserstate`; while the user is busy in a call the requested state is kept for
    /// when the call ends (a break requested during a call shows as `onlunch`).
    pub fn set_presence(&mut self, user: UserIdx, change: PresenceChange) -> Result<Presence, Refused> {
        if let Some(id) = change.userstateid
            && !matches!(id, 0..=3 | 5..=7)
        {
            return Err(Refused::BadArgument("userstateid"));
        }
        let busy_with_calls = self.line(user).current.is_some() || self.line(user).held.is_some();
        let person = self
            .directory
            .person_mut(user)
            .ok_or(Refused::UnknownUser(format!("#{}", user.0)))?;
        let p = &mut person.presence;
        let before = p.clone();
        if let Some(v) = change.oncallcenter {
            p.oncallcenter = v;
        }
        if let Some(v) = change.onccmanual {
            p.onccmanual = v;
        }
        if let Some(v) = change.onredirect {
            p.onredirect = v;
        }
        if let Some(id) = change.userstateid {
            if id == state::BREAK {
                p.oncallcenter = true;
                p.lunchreasonid = change.lunchreasonid.or(p.lunchreasonid);
            } else {
                p.lunchreasonid = None;
            }
            p.onlunch = id == state::BREAK;
            if busy_with_calls && p.userstateid == state::BUSY && id != state::BUSY {
                p.after_busy = id;
            } else {
                p.userstateid = id;
            }
        } else if let Some(reason) = change.lunchreasonid {
            p.lunchreasonid = Some(reason);
        }
        let after = p.clone();
        if after != before {
            self.presence_changed(user, before.userstateid != after.userstateid);
        }
        Ok(after)
    }

    pub(super) fn presence_changed(&mut self, user: UserIdx, number_state_changed: bool) {
        let Some(person) = self.directory.person(user) else {
            return;
        };
        let payload = person.presence.to_payload();
        let number = person.user.number.clone();
        let numstate = person.presence.userstateid;
        self.notify(Audience::User(user), "userstatechanged", payload);
        if number_state_changed {
            let payload = json!({"numbers": [{"num": number, "numstateid": numstate}]});
            self.notify_value(Audience::Everyone, "pbxnumberstatechanged", payload);
        }
    }

    pub(super) fn enter_busy(&mut self, user: UserIdx) {
        let Some(person) = self.directory.person_mut(user) else {
            return;
        };
        let p = &mut person.presence;
        if p.userstateid == state::BUSY {
            return;
        }
        p.after_busy = p.userstateid;
        p.userstateid = state::BUSY;
        self.presence_changed(user, true);
    }

    /// After a call ended: back to the state before the call if the line is idle, and let the
    /// next queued caller ring.
    pub(super) fn settle(&mut self, user: UserIdx, now: Instant) {
        let line = self.line(user);
        if line.current.is_some() || line.held.is_some() {
            return;
        }
        if let Some(person) = self.directory.person_mut(user) {
            let p = &mut person.presence;
            if p.userstateid == state::BUSY {
                p.userstateid = p.after_busy;
                p.onlunch = p.userstateid == state::BREAK;
                self.presence_changed(user, true);
            }
        }
        let delay = Duration::from_millis(self.world.timing.queue_ring_delay_ms);
        if let Some(next) = self
            .calls
            .values_mut()
            .find(|c| c.operator == user && c.state == CallState::Queued && c.timer.is_none())
        {
            next.timer = Some((now + delay, CallTimer::QueueRings));
        }
    }
}
