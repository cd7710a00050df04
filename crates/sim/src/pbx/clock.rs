//! The world's clock: call deadlines and background activity.

use std::time::{Duration, Instant};

use rand::Rng;

use super::{CallId, CallTimer, Line, Pbx};
use crate::directory::{UserIdx, state};

impl Pbx {
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| c.timer.map(|(at, _)| at))
            .chain(self.next_incoming)
            .chain(self.next_presence)
            .min()
    }

    /// Fires every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        loop {
            let due = self
                .calls
                .values()
                .filter_map(|c| c.timer.filter(|(at, _)| *at <= now).map(|(at, t)| (at, c.id, t)))
                .min_by_key(|(at, id, _)| (*at, *id));
            let Some((_, id, timer)) = due else {
                break;
            };
            if let Some(call) = self.calls.get_mut(&id) {
                call.timer = None;
            }
            self.fire(id, timer, now);
        }
        if self.next_incoming.is_some_and(|at| at <= now) {
            let every = self.world.activity.incoming_call_every_ms.unwrap_or(60_000);
            self.next_incoming = Some(now + Duration::from_millis(every));
            self.random_incoming_call(now);
        }
        if self.next_presence.is_some_and(|at| at <= now) {
            let every = self.world.activity.presence_change_every_ms.unwrap_or(60_000);
            self.next_presence = Some(now + Duration::from_millis(every));
            self.random_presence_change();
        }
    }

    pub(super) fn fire(&mut self, id: CallId, timer: CallTimer, now: Instant) {
        tracing::debug!(call = id.0, ?timer, "call timer fired");
        let outcome = match timer {
            CallTimer::OperatorPicksUp | CallTimer::RemoteAnswers => self.answer(id, now),
            CallTimer::RemoteBusy => self.busy(id, now),
            CallTimer::RemoteGivesUp | CallTimer::CallerGivesUp => self.hang_up(id, now),
            CallTimer::QueueRings => {
                let operator = self.calls.get(&id).map(|c| c.operator);
                match operator.map(|u| self.line(u)) {
                    Some(Line {
                        current: None,
                        held: None,
                    }) => {
                        self.start_ringing(id, now);
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
        };
        if let Err(error) = outcome {
            tracing::debug!(call = id.0, %error, "call timer had nothing to do");
        }
    }

    /// Background activity: a random subscriber calls a random ready operator with a free line.
    pub(super) fn random_incoming_call(&mut self, now: Instant) {
        let subscribers = self.world.subscribers.len();
        let candidates: Vec<UserIdx> = self
            .directory
            .people()
            .filter(|(idx, p)| p.presence.userstateid == state::READY && self.line(*idx).current.is_none())
            .map(|(idx, _)| idx)
            .collect();
        if subscribers == 0 || candidates.is_empty() {
            return;
        }
        let who = self.rng.random_range(0..subscribers);
        let whom = self.rng.random_range(0..candidates.len());
        let from = self.world.subscribers.get(who).map(|s| s.number.clone());
        let to = candidates
            .get(whom)
            .and_then(|u| self.directory.person(*u))
            .map(|p| p.user.number.clone());
        if let (Some(from), Some(to)) = (from, to)
            && let Err(error) = self.incoming(&from, &to, now)
        {
            tracing::debug!(%error, "background call not placed");
        }
    }

    pub(super) fn random_presence_change(&mut self) {
        const STATES: [u8; 6] = [
            state::READY,
            state::READY,
            state::BUSY,
            state::BREAK,
            state::DND,
            state::OFFLINE,
        ];
        let idle: Vec<UserIdx> = self
            .directory
            .people()
            .map(|(idx, _)| idx)
            .filter(|idx| {
                let line = self.line(*idx);
                line.current.is_none() && line.held.is_none() && !self.is_in_session(*idx)
            })
            .collect();
        if idle.is_empty() {
            return;
        }
        let pick = self.rng.random_range(0..idle.len());
        let new_state = STATES
            .get(self.rng.random_range(0..STATES.len()))
            .copied()
            .unwrap_or(state::READY);
        if let Some(user) = idle.get(pick).copied()
            && let Some(person) = self.directory.person_mut(user)
        {
            let p = &mut person.presence;
            let changed = p.userstateid != new_state;
            p.userstateid = new_state;
            p.onlunch = new_state == state::BREAK;
            if changed {
                self.presence_changed(user, true);
            }
        }
    }
}
