//! What the other side does: answers, reports busy, hangs up.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Audience, CallId, CallState, CallTimer, Pbx, Refused};

impl Pbx {
    /// The party being rung picks up: the far end while dialling, the operator's phone otherwise.
    pub fn answer(&mut self, id: CallId, now: Instant) -> Result<(), Refused> {
        let call = self.calls.get_mut(&id).ok_or(Refused::UnknownCall(id))?;
        let user = call.operator;
        match (&call.state, call.peer) {
            (CallState::Dialling, Some(peer)) => {
                let colleague = self
                    .calls
                    .get(&peer)
                    .map(|c| c.operator)
                    .ok_or(Refused::UnknownCall(peer))?;
                self.operator_answers(colleague, now)
            }
            (CallState::Dialling, None) => {
                self.far_end_answers(id, now);
                Ok(())
            }
            (CallState::Ringing | CallState::BackRing, _) => self.operator_answers(user, now),
            _ => Err(Refused::WrongLineState),
        }
    }

    /// The dialled far end picks up: talk, or with `sequence: "abonent"` ring the operator now.
    pub(super) fn far_end_answers(&mut self, id: CallId, now: Instant) {
        let pickup_ms = self.world.timing.operator_pickup_ms;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.state != CallState::Dialling {
            return;
        }
        let (user, chain) = (call.operator, call.chain.clone());
        if call.abonent_first {
            call.state = CallState::BackRing;
            call.timer = pickup_ms.map(|ms| (now + Duration::from_millis(ms), CallTimer::OperatorPicksUp));
            let payload = json!({"chainid": chain, "callerid": call.remote.number()});
            self.notify_value(Audience::User(user), "phoneevent_ringstarted", payload);
        } else {
            call.state = CallState::Talking { since: now };
            call.timer = None;
            self.comm(user, true, &chain);
            self.tell(user, "phoneevent_acmcallstopped", Some(&chain));
        }
    }

    /// The far end reports busy while being dialled.
    pub fn busy(&mut self, id: CallId, now: Instant) -> Result<(), Refused> {
        let call = self.calls.get(&id).ok_or(Refused::UnknownCall(id))?;
        if call.state != CallState::Dialling {
            return Err(Refused::WrongLineState);
        }
        let user = call.operator;
        self.end_current(id);
        self.settle(user, now);
        Ok(())
    }

    /// The far end hangs up, whatever the call is doing.
    pub fn hang_up(&mut self, id: CallId, now: Instant) -> Result<(), Refused> {
        let call = self.calls.get(&id).ok_or(Refused::UnknownCall(id))?;
        let user = call.operator;
        match call.state {
            CallState::Queued => {
                self.calls.remove(&id);
            }
            CallState::OnHold => {
                self.calls.remove(&id);
                self.tell(user, "flashstatechanged", None);
                self.tell(user, "linestatechanged", None);
            }
            _ => self.end_current(id),
        }
        self.settle(user, now);
        Ok(())
    }
}
