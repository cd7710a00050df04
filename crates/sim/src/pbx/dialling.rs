//! How calls start: callers ringing an operator (or queueing), auto-calls, and the far end of a
//! dialled number, including colleagues whose own line rings.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Audience, Call, CallId, CallState, CallTimer, Party, Pbx, Refused};
use crate::directory::{UserIdx, state};
use crate::world::Pickup;

impl Pbx {
    pub(super) fn new_call(&mut self, operator: UserIdx, remote: Party, incoming: bool, state: CallState) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let chain = self.guid();
        self.calls.insert(
            id,
            Call {
                id,
                chain,
                operator,
                remote,
                incoming,
                state,
                timer: None,
                peer: None,
                abonent_first: false,
            },
        );
        id
    }

    pub(super) fn link(&mut self, a: CallId, b: CallId) {
        if let Some(call) = self.calls.get_mut(&a) {
            call.peer = Some(b);
        }
        if let Some(call) = self.calls.get_mut(&b) {
            call.peer = Some(a);
        }
    }

    /// Ends every call whose colleague leg is gone (hung up, declined, timed out).
    pub fn reap_orphans(&mut self, now: Instant) {
        loop {
            let orphan = self
                .calls
                .values()
                .find(|c| c.peer.is_some_and(|p| !self.calls.contains_key(&p)))
                .map(|c| c.id);
            let Some(id) = orphan else {
                break;
            };
            if let Some(call) = self.calls.get_mut(&id) {
                call.peer = None;
            }
            if let Err(error) = self.hang_up(id, now) {
                tracing::debug!(call = id.0, %error, "orphaned leg already gone");
            }
        }
    }

    /// Who a number is and how it answers. A colleague without a session answers by the state
    /// the directory shows: busy or DND is busy, offline or without a phone never answers.
    pub(super) fn resolve(&self, number: &str) -> (Party, Pickup) {
        if let Some(user) = self.directory.by_number(number) {
            let pickup = match self.directory.presence(user).map(|p| p.userstateid) {
                Some(state::BUSY | state::DND) => Pickup::Busy,
                Some(state::OFFLINE | state::NO_PHONE) => Pickup::NoAnswer,
                _ => Pickup::Answers,
            };
            return (
                Party::Internal {
                    user,
                    number: number.to_owned(),
                },
                pickup,
            );
        }
        match self.world.subscribers.iter().find(|s| s.number == number) {
            Some(s) => (
                Party::External {
                    number: number.to_owned(),
                    name: Some(s.name.clone()),
                },
                s.pickup,
            ),
            None => (
                Party::External {
                    number: number.to_owned(),
                    name: None,
                },
                self.world.timing.unknown_number,
            ),
        }
    }

    /// A caller dials an operator's number, or a service number of the world (`[[numbers]]`),
    /// which routes like a call-centre queue (control API or background activity).
    pub fn incoming(&mut self, from: &str, to: &str, now: Instant) -> Result<CallId, Refused> {
        if from.is_empty() {
            return Err(Refused::BadArgument("from"));
        }
        let user = match self.directory.by_number(to) {
            Some(user) => user,
            None => self
                .route_service_number(to)
                .ok_or_else(|| Refused::UnknownNumber(to.to_owned()))?,
        };
        let (remote, _) = self.resolve(from);
        Ok(self.offer(user, remote, now))
    }

    /// Picks the call-centre operator for a service number: a ready one with a free line if any
    /// (the one idle longest is not tracked, so the first in the world file), otherwise the one
    /// with the shortest queue. Operators of the number's department only, when it has one.
    fn route_service_number(&self, number: &str) -> Option<UserIdx> {
        let service = self.world.numbers.iter().find(|n| n.number == number)?;
        let agents: Vec<UserIdx> = self
            .directory
            .people()
            .filter(|(_, p)| p.user.call_center)
            .filter(|(_, p)| service.department.is_none() || p.user.department == service.department)
            .map(|(idx, _)| idx)
            .collect();
        let free = agents.iter().copied().find(|u| {
            let line = self.line(*u);
            let ready = self
                .directory
                .presence(*u)
                .is_some_and(|p| p.userstateid == state::READY);
            ready && line.current.is_none() && line.held.is_none()
        });
        free.or_else(|| {
            agents.iter().copied().min_by_key(|u| {
                self.calls
                    .values()
                    .filter(|c| c.operator == *u && c.state == CallState::Queued)
                    .count()
            })
        })
    }

    /// Rings the user, or queues the caller while the line is busy.
    pub(super) fn offer(&mut self, user: UserIdx, remote: Party, now: Instant) -> CallId {
        let line = self.line(user);
        if line.current.is_some() || line.held.is_some() {
            let id = self.new_call(user, remote, true, CallState::Queued);
            tracing::debug!(call = id.0, "caller queued");
            return id;
        }
        let id = self.new_call(user, remote, true, CallState::Ringing);
        self.start_ringing(id, now);
        id
    }

    pub(super) fn start_ringing(&mut self, id: CallId, now: Instant) {
        let timeout = Duration::from_millis(self.world.timing.ring_timeout_ms);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.state = CallState::Ringing;
        call.timer = Some((now + timeout, CallTimer::CallerGivesUp));
        let (user, chain, number) = (call.operator, call.chain.clone(), call.remote.number().to_owned());
        self.enter_busy(user);
        let payload = json!({"chainid": chain, "callerid": number});
        self.notify_value(Audience::User(user), "phoneevent_ringstarted", payload);
    }

    /// `pbxautocallstart`: from idle the operator's phone rings first ("back ring"); from a
    /// conversation the party goes on hold and the PBX dials at once (consultation).
    pub fn autocall(
        &mut self,
        user: UserIdx,
        number: &str,
        abonent_first: bool,
        now: Instant,
    ) -> Result<CallId, Refused> {
        if number.trim().is_empty() {
            return Err(Refused::BadArgument("number"));
        }
        if self
            .directory
            .presence(user)
            .is_some_and(|p| p.userstateid == state::NO_PHONE)
        {
            return Err(Refused::WrongLineState);
        }
        let (remote, pickup) = self.resolve(number.trim());
        let line = self.line(user);
        let current_talking = line
            .current
            .and_then(|id| self.calls.get(&id))
            .is_some_and(|c| matches!(c.state, CallState::Talking { .. }));
        match (line.current, line.held) {
            (None, None) if abonent_first => {
                let id = self.new_call(user, remote, false, CallState::Dialling);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.abonent_first = true;
                }
                self.arm_remote(id, pickup, now);
                self.acm_started(id);
                self.enter_busy(user);
                Ok(id)
            }
            (None, None) => {
                let id = self.new_call(user, remote, false, CallState::BackRing);
                let pickup_ms = self.world.timing.operator_pickup_ms;
                if let Some(call) = self.calls.get_mut(&id) {
                    call.timer = pickup_ms.map(|ms| (now + Duration::from_millis(ms), CallTimer::OperatorPicksUp));
                }
                self.acm_started(id);
                self.enter_busy(user);
                Ok(id)
            }
            (None, Some(_)) => {
                let id = self.new_call(user, remote, false, CallState::Dialling);
                self.arm_remote(id, pickup, now);
                self.acm_started(id);
                Ok(id)
            }
            (Some(current), None) if current_talking => {
                let old_chain = self.put_on_hold(current);
                let id = self.new_call(user, remote, false, CallState::Dialling);
                self.arm_remote(id, pickup, now);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, false, &old_chain);
                self.acm_started(id);
                Ok(id)
            }
            _ => Err(Refused::WrongLineState),
        }
    }

    pub(super) fn acm_started(&mut self, id: CallId) {
        if let Some(call) = self.calls.get(&id) {
            let payload = json!({"chainid": call.chain, "number": call.remote.number()});
            let user = call.operator;
            self.notify_value(Audience::User(user), "phoneevent_acmcallstarted", payload);
        }
    }

    pub(super) fn put_on_hold(&mut self, id: CallId) -> String {
        match self.calls.get_mut(&id) {
            Some(call) => {
                call.state = CallState::OnHold;
                call.timer = None;
                call.chain.clone()
            }
            None => String::new(),
        }
    }

    /// Starts the far end of a dialling call: a logged-in colleague's line rings (busy if that
    /// line is taken); anybody else follows its pickup behaviour on the world's clock.
    pub(super) fn arm_remote(&mut self, id: CallId, mut pickup: Pickup, now: Instant) {
        if let Some(colleague) = self.online_colleague(id) {
            let line = self.line(colleague);
            if line.current.is_none() && line.held.is_none() {
                self.ring_colleague(id, colleague, now);
                return;
            }
            pickup = Pickup::Busy;
        }
        let t = &self.world.timing;
        let ms = Duration::from_millis;
        let timer = match pickup {
            Pickup::Answers => Some((now + ms(t.answer_after_ms), CallTimer::RemoteAnswers)),
            Pickup::Busy => Some((now + ms(t.busy_after_ms), CallTimer::RemoteBusy)),
            Pickup::NoAnswer => Some((now + ms(t.no_answer_timeout_ms), CallTimer::RemoteGivesUp)),
            Pickup::Manual => None,
        };
        if let Some(call) = self.calls.get_mut(&id) {
            call.timer = timer;
        }
    }

    pub(super) fn online_colleague(&self, id: CallId) -> Option<UserIdx> {
        let call = self.calls.get(&id)?;
        match call.remote {
            Party::Internal { user, .. } if user != call.operator && self.online.contains(&user) => Some(user),
            _ => None,
        }
    }

    pub(super) fn ring_colleague(&mut self, id: CallId, colleague: UserIdx, now: Instant) {
        let Some(operator) = self.calls.get(&id).map(|c| c.operator) else {
            return;
        };
        let Some(number) = self.directory.person(operator).map(|p| p.user.number.clone()) else {
            return;
        };
        let caller = Party::Internal { user: operator, number };
        let leg = self.new_call(colleague, caller, true, CallState::Ringing);
        self.link(id, leg);
        self.start_ringing(leg, now);
    }

    pub(super) fn pickup_of(&self, id: CallId) -> Pickup {
        self.calls
            .get(&id)
            .map(|c| self.resolve(c.remote.number()).1)
            .unwrap_or_default()
    }
}
