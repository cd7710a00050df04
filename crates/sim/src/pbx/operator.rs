//! What the operator does to the line: answer, decline, hang up, hold (flash), transfer.

use std::time::Instant;

use super::{CallId, CallState, FlashMode, Pbx, Refused};
use crate::directory::UserIdx;

impl Pbx {
    /// `pbxanswercall`, the desk phone picking up by itself, or the control API.
    pub fn operator_answers(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let id = self.line(user).current.ok_or(Refused::WrongLineState)?;
        let Some(call) = self.calls.get_mut(&id) else {
            return Err(Refused::UnknownCall(id));
        };
        let chain = call.chain.clone();
        let peer = call.peer;
        match call.state {
            CallState::Ringing => {
                call.state = CallState::Talking { since: now };
                call.timer = None;
                self.tell(user, "phoneevent_ringstopped", Some(&chain));
                self.comm(user, true, &chain);
                if let Some(peer) = peer {
                    self.far_end_answers(peer, now);
                }
                Ok(())
            }
            CallState::BackRing if call.abonent_first => {
                call.state = CallState::Talking { since: now };
                call.timer = None;
                self.tell(user, "phoneevent_ringstopped", Some(&chain));
                self.comm(user, true, &chain);
                self.tell(user, "phoneevent_acmcallstopped", Some(&chain));
                Ok(())
            }
            CallState::BackRing => {
                call.state = CallState::Dialling;
                let pickup = self.pickup_of(id);
                self.arm_remote(id, pickup, now);
                self.tell(user, "phoneevent_ringstopped", Some(&chain));
                self.tell(user, "linestatechanged", None);
                Ok(())
            }
            _ => Err(Refused::WrongLineState),
        }
    }

    /// `pbxdeclinecall`: refuse a ringing call or a back ring.
    pub fn decline(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let id = self.line(user).current.ok_or(Refused::WrongLineState)?;
        match self.calls.get(&id).map(|c| &c.state) {
            Some(CallState::Ringing | CallState::BackRing) => {
                self.end_current(id);
                self.settle(user, now);
                Ok(())
            }
            _ => Err(Refused::WrongLineState),
        }
    }

    /// `pbxautocallabort`: stop an auto-call that has not connected yet.
    pub fn autocall_abort(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let id = self.line(user).current.ok_or(Refused::WrongLineState)?;
        match self.calls.get(&id).map(|c| &c.state) {
            Some(CallState::BackRing | CallState::Dialling) => {
                self.end_current(id);
                self.settle(user, now);
                Ok(())
            }
            _ => Err(Refused::WrongLineState),
        }
    }

    /// `pbxabortcall`: hang up; with a party on hold, connect the two parties and leave.
    pub fn abort_call(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let line = self.line(user);
        match (line.current, line.held) {
            (Some(current), Some(held)) => {
                self.hand_over_peers(held, current);
                let chain = self.calls.get(&current).map(|c| c.chain.clone()).unwrap_or_default();
                let a = self.calls.remove(&held);
                let b = self.calls.remove(&current);
                if let (Some(a), Some(b)) = (a, b) {
                    tracing::info!(held = a.id.0, current = b.id.0, "parties commutated, operator left");
                }
                self.comm(user, false, &chain);
                self.tell(user, "flashstatechanged", None);
                self.tell(user, "linestatechanged", None);
            }
            (Some(current), None) => self.end_current(current),
            (None, Some(held)) => {
                self.calls.remove(&held);
                self.tell(user, "flashstatechanged", None);
                self.tell(user, "linestatechanged", None);
            }
            (None, None) => return Err(Refused::WrongLineState),
        }
        self.settle(user, now);
        Ok(())
    }

    /// Before the operator leaves a commutation of `a` and `b`, colleagues' legs are re-pointed
    /// at the other party so that their calls go on.
    pub(super) fn hand_over_peers(&mut self, a: CallId, b: CallId) {
        let leg = |pbx: &Self, id: CallId| pbx.calls.get(&id).map(|c| (c.peer, c.remote.clone()));
        let (Some((peer_a, remote_a)), Some((peer_b, remote_b))) = (leg(self, a), leg(self, b)) else {
            return;
        };
        for (peer, new_remote, new_peer) in [(peer_a, remote_b, peer_b), (peer_b, remote_a, peer_a)] {
            let Some(call) = peer.and_then(|p| self.calls.get_mut(&p)) else {
                continue;
            };
            call.remote = new_remote;
            call.peer = new_peer;
            let user = call.operator;
            self.tell(user, "linestatechanged", None);
        }
    }

    /// Removes the current call of a line and tells the operator what stopped.
    pub(super) fn end_current(&mut self, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        let user = call.operator;
        let chain = call.chain.as_str();
        match call.state {
            CallState::Ringing => self.tell(user, "phoneevent_ringstopped", Some(chain)),
            CallState::BackRing => {
                self.tell(user, "phoneevent_ringstopped", Some(chain));
                self.tell(user, "phoneevent_acmcallstopped", Some(chain));
            }
            CallState::Dialling => self.tell(user, "phoneevent_acmcallstopped", Some(chain)),
            CallState::Talking { .. } | CallState::Conference { .. } => self.comm(user, false, chain),
            CallState::OnHold => self.tell(user, "flashstatechanged", None),
            CallState::Queued => return,
        }
        self.tell(user, "linestatechanged", None);
    }

    /// `pbxmakeflash`.
    pub fn flash(&mut self, user: UserIdx, mode: FlashMode, now: Instant) -> Result<(), Refused> {
        let line = self.line(user);
        let current_state = line.current.and_then(|id| self.calls.get(&id)).map(|c| c.state.clone());
        match (mode, line.current, current_state, line.held) {
            (FlashMode::Switch, Some(current), Some(CallState::Talking { .. }), None) => {
                let chain = self.put_on_hold(current);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, false, &chain);
            }
            (FlashMode::Switch, None, _, Some(held)) => {
                let chain = self.resume(held, now);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, true, &chain);
            }
            (FlashMode::Switch, Some(current), Some(CallState::Talking { .. }), Some(held)) => {
                let old = self.put_on_hold(current);
                let new = self.resume(held, now);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, false, &old);
                self.comm(user, true, &new);
            }
            (_, Some(current), Some(CallState::Dialling | CallState::Talking { .. }), Some(held)) => {
                // Abort, or switch away from a number still dialling: drop it, back to the held party.
                self.end_current_quietly(current);
                let chain = self.resume(held, now);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, true, &chain);
            }
            _ => return Err(Refused::WrongLineState),
        }
        Ok(())
    }

    pub(super) fn end_current_quietly(&mut self, id: CallId) {
        if let Some(call) = self.calls.remove(&id) {
            let event = match call.state {
                CallState::Dialling => "phoneevent_acmcallstopped",
                _ => "phoneevent_commstopped",
            };
            self.tell(call.operator, event, Some(&call.chain));
        }
    }

    pub(super) fn resume(&mut self, id: CallId, now: Instant) -> String {
        match self.calls.get_mut(&id) {
            Some(call) => {
                call.state = CallState::Talking { since: now };
                call.chain.clone()
            }
            None => String::new(),
        }
    }

    /// `pbxmaketransfer`: hand the current party to `to`; with a hold, the operator goes back to
    /// the held party.
    pub fn transfer(&mut self, user: UserIdx, to: &str, now: Instant) -> Result<(), Refused> {
        let to = to.trim();
        if to.is_empty() {
            return Err(Refused::BadArgument("transferto"));
        }
        let line = self.line(user);
        let Some(current) = line.current else {
            return Err(Refused::WrongLineState);
        };
        let Some(call) = self.calls.get(&current) else {
            return Err(Refused::UnknownCall(current));
        };
        if !matches!(call.state, CallState::Talking { .. }) {
            return Err(Refused::WrongLineState);
        }
        if let Some(held) = line.held
            && self.calls.get(&held).is_some_and(|c| c.remote.number() == to)
        {
            return self.abort_call(user, now);
        }
        let Some(call) = self.calls.remove(&current) else {
            return Err(Refused::UnknownCall(current));
        };
        self.comm(user, false, &call.chain);
        match line.held {
            Some(held) => {
                let chain = self.resume(held, now);
                self.tell(user, "flashstatechanged", None);
                self.comm(user, true, &chain);
            }
            None => {
                self.tell(user, "linestatechanged", None);
                self.settle(user, now);
            }
        }
        let (target_party, _) = self.resolve(to);
        if let Some(peer) = call.peer.and_then(|p| self.calls.get_mut(&p)) {
            peer.remote = target_party;
            peer.peer = None;
            let user = peer.operator;
            self.tell(user, "linestatechanged", None);
        }
        match self.directory.by_number(to) {
            Some(target) => {
                let leg = self.offer(target, call.remote, now);
                if let Some(peer) = call.peer {
                    self.link(peer, leg);
                }
            }
            None => tracing::info!(call = call.id.0, "call transferred out of the simulated PBX"),
        }
        Ok(())
    }
}
