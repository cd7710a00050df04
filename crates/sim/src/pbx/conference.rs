//! Conferences: built from a conversation, created from idle, invitations, kicks, leaving.

use std::time::Instant;

use serde_json::{Value, json};

use super::{Audience, Call, CallId, CallState, Member, Pbx, Refused};
use crate::directory::UserIdx;

impl Pbx {
    /// `buildconferencefromcommutation`: the current conversation becomes a conference.
    pub fn build_conference(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let id = self.line(user).current.ok_or(Refused::WrongLineState)?;
        let conference_id = self.guid();
        let competitor_id = self.guid();
        let Some(call) = self.calls.get_mut(&id) else {
            return Err(Refused::UnknownCall(id));
        };
        if !matches!(call.state, CallState::Talking { .. }) {
            return Err(Refused::WrongLineState);
        }
        call.state = CallState::Conference {
            id: conference_id.clone(),
            members: vec![Member {
                competitor_id,
                party: call.remote.clone(),
            }],
            since: now,
        };
        self.conference_started(user, &conference_id);
        Ok(())
    }

    pub(super) fn conference_started(&mut self, user: UserIdx, conference_id: &str) {
        let payload = json!({"isconference": true, "confid": conference_id});
        self.notify_value(Audience::User(user), "phoneevent_commstarted", payload);
    }

    /// `createnewconference` from an idle line: every invited number joins at once.
    pub fn create_conference(
        &mut self,
        user: UserIdx,
        conference_id: Option<String>,
        numbers: &[String],
        now: Instant,
    ) -> Result<(), Refused> {
        let line = self.line(user);
        if line.current.is_some() {
            return Err(Refused::WrongLineState);
        }
        if numbers.is_empty() {
            return Err(Refused::BadArgument("competitors"));
        }
        let conference_id = conference_id.unwrap_or_else(|| self.guid());
        let members = numbers
            .iter()
            .map(|n| Member {
                competitor_id: self.guid(),
                party: self.resolve(n).0,
            })
            .collect::<Vec<_>>();
        let remote = members
            .first()
            .map(|m| m.party.clone())
            .ok_or(Refused::BadArgument("competitors"))?;
        let state = CallState::Conference {
            id: conference_id.clone(),
            members,
            since: now,
        };
        self.new_call(user, remote, false, state);
        self.enter_busy(user);
        self.conference_started(user, &conference_id);
        Ok(())
    }

    pub(super) fn conference_call(&mut self, user: UserIdx, conference_id: Option<&str>) -> Result<CallId, Refused> {
        let id = self.line(user).current.ok_or(Refused::WrongLineState)?;
        match self.calls.get(&id).map(|c| &c.state) {
            Some(CallState::Conference { id: cid, .. }) if conference_id.is_none_or(|c| c == cid) => Ok(id),
            _ => Err(Refused::WrongLineState),
        }
    }

    pub(super) fn composition_changed(&mut self, call: CallId, gone: Option<Member>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let CallState::Conference { id, members, .. } = &c.state else {
            return;
        };
        let mut list: Vec<Value> = members.iter().map(|m| self.competitor_json(m, "Connected")).collect();
        if let Some(gone) = &gone {
            list.push(self.competitor_json(gone, "Exited"));
        }
        let payload = json!({"eventinfo": {"conferenceid": id, "competitorlist": list}});
        let user = c.operator;
        self.notify_value(Audience::User(user), "confcompositionchanged", payload);
    }

    pub fn can_connect_together(&self, user: UserIdx) -> bool {
        let line = self.line(user);
        line.held.is_some() && line.current.is_some()
    }

    /// `connecttogathertoconference`: the held party joins the conference (built first if needed).
    pub fn connect_together(&mut self, user: UserIdx, now: Instant) -> Result<(), Refused> {
        let line = self.line(user);
        let held = line.held.ok_or(Refused::WrongLineState)?;
        if self.conference_call(user, None).is_err() {
            self.build_conference(user, now)?;
        }
        let call = self.conference_call(user, None)?;
        let party = self
            .calls
            .remove(&held)
            .map(|c| c.remote)
            .ok_or(Refused::UnknownCall(held))?;
        let competitor_id = self.guid();
        if let Some(Call {
            state: CallState::Conference { members, .. },
            ..
        }) = self.calls.get_mut(&call)
        {
            members.push(Member { competitor_id, party });
        }
        self.tell(user, "flashstatechanged", None);
        self.composition_changed(call, None);
        Ok(())
    }

    /// `invitetoconference`: the invited numbers join at once.
    pub fn invite(&mut self, user: UserIdx, conference_id: &str, numbers: &[String]) -> Result<(), Refused> {
        let call = self.conference_call(user, Some(conference_id))?;
        let new: Vec<Member> = numbers
            .iter()
            .map(|n| Member {
                competitor_id: self.guid(),
                party: self.resolve(n).0,
            })
            .collect();
        if let Some(Call {
            state: CallState::Conference { members, .. },
            ..
        }) = self.calls.get_mut(&call)
        {
            members.extend(new);
        }
        self.composition_changed(call, None);
        Ok(())
    }

    /// `confdisconnectcompetitor`; the conference ends when nobody else is left.
    pub fn kick(
        &mut self,
        user: UserIdx,
        conference_id: &str,
        competitor_id: &str,
        now: Instant,
    ) -> Result<(), Refused> {
        let call = self.conference_call(user, Some(conference_id))?;
        let mut gone = None;
        let mut empty = false;
        if let Some(Call {
            state: CallState::Conference { members, .. },
            ..
        }) = self.calls.get_mut(&call)
        {
            let index = members
                .iter()
                .position(|m| m.competitor_id == competitor_id)
                .ok_or(Refused::BadArgument("competitorid"))?;
            gone = Some(members.remove(index));
            empty = members.is_empty();
        }
        self.composition_changed(call, gone);
        if empty {
            self.end_current(call);
            self.settle(user, now);
        }
        Ok(())
    }

    /// `exitconference`: the operator leaves and the conference ends for this line.
    pub fn exit_conference(&mut self, user: UserIdx, conference_id: &str, now: Instant) -> Result<(), Refused> {
        let call = self.conference_call(user, Some(conference_id))?;
        self.end_current(call);
        self.settle(user, now);
        Ok(())
    }
}
