//! What the line, the queue and a conference look like on the wire (`getextendedlineinfo`,
//! `getcurrentqueue`, `getconferenceinfo`).

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{CallState, Member, Party, Pbx, ZERO_GUID};
use crate::directory::{UserIdx, state};

impl Pbx {
    /// The `getextendedlineinfo` reply body (without `qid`/`result`).
    pub fn line_info(&self, user: UserIdx, now: Instant) -> Map<String, Value> {
        let line = self.line(user);
        let current = line.current.and_then(|id| self.calls.get(&id));
        let held = line.held.and_then(|id| self.calls.get(&id));
        let mut info = Map::new();
        let (linestate, chain, talk, abonent) = match current {
            None => ("lsFree", ZERO_GUID.to_owned(), 0, Map::new()),
            Some(call) => {
                let mut abonent = self.party_json(&call.remote);
                let (linestate, talk) = match &call.state {
                    CallState::Ringing => {
                        abonent.insert("isringing".into(), true.into());
                        abonent.insert("direction".into(), "in".into());
                        ("lsRinging", 0)
                    }
                    CallState::BackRing => {
                        abonent.insert("isringing".into(), true.into());
                        abonent.insert("direction".into(), "acm_callback".into());
                        ("lsRinging", 0)
                    }
                    CallState::Dialling => {
                        abonent.insert("isautocall".into(), true.into());
                        ("lsHookUp", 0)
                    }
                    CallState::Talking { since } => {
                        abonent.insert("iscommutated".into(), true.into());
                        ("lsCommutated", now.saturating_duration_since(*since).as_secs())
                    }
                    CallState::Conference { id, since, .. } => {
                        abonent = Map::new();
                        abonent.insert("conferenceid".into(), id.clone().into());
                        abonent.insert("isconference".into(), true.into());
                        ("lsCommutated", now.saturating_duration_since(*since).as_secs())
                    }
                    CallState::Queued | CallState::OnHold => ("lsFree", 0),
                };
                (linestate, call.chain.clone(), talk, abonent)
            }
        };
        let no_phone = self
            .directory
            .presence(user)
            .is_some_and(|p| p.userstateid == state::NO_PHONE);
        let linestate = match (current, held) {
            (None, Some(_)) => "lsHookUp",
            (None, None) if no_phone => "lsDisconnected",
            _ => linestate,
        };
        info.insert("linestatestr".into(), linestate.into());
        info.insert("chainid".into(), chain.into());
        let called = current
            .filter(|c| c.incoming)
            .and_then(|c| self.directory.person(c.operator))
            .map(|p| p.user.number.clone())
            .unwrap_or_default();
        info.insert("calledid".into(), called.into());
        info.insert("timertalklensec".into(), talk.into());
        info.insert("isflashing".into(), held.is_some().into());
        let flashed = held.map(|call| {
            let mut flashed = self.party_json(&call.remote);
            flashed.insert("chainid".into(), call.chain.clone().into());
            Value::Object(flashed)
        });
        info.insert("flashed".into(), flashed.unwrap_or(Value::Null));
        info.insert("abonent".into(), Value::Object(abonent));
        info
    }

    pub(super) fn party_json(&self, party: &Party) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("number".into(), party.number().into());
        match party {
            Party::External { name, .. } => {
                map.insert("isextline".into(), true.into());
                if let Some(name) = name {
                    map.insert("name".into(), name.clone().into());
                }
            }
            Party::Internal { user, .. } => {
                map.insert("isextline".into(), false.into());
                if let Some(person) = self.directory.person(*user) {
                    map.insert("name".into(), person.user.name.clone().into());
                    map.insert("userid".into(), person.id.clone().into());
                    map.insert("username".into(), person.user.name.clone().into());
                    map.insert("userlogin".into(), person.user.login.clone().into());
                }
            }
        }
        map
    }

    /// `getcurrentqueue` items: callers waiting for this user.
    pub fn queue(&self, user: UserIdx) -> Vec<Value> {
        self.calls
            .values()
            .filter(|c| c.operator == user && c.state == CallState::Queued)
            .map(|c| {
                let mut item = self.party_json(&c.remote);
                item.insert("chainid".into(), c.chain.clone().into());
                Value::Object(item)
            })
            .collect()
    }

    /// The conference this user's line carries, with the competitor list of `getconferenceinfo`.
    pub fn conference(&self, user: UserIdx) -> Option<(String, Vec<Value>)> {
        let line = self.line(user);
        let call = self.calls.get(&line.current?)?;
        let CallState::Conference { id, members, .. } = &call.state else {
            return None;
        };
        let me = self.directory.person(user)?;
        let mut competitors = vec![json!({
            "competitorid": crate::world::derived_guid('f', user.0),
            "userid": me.id,
            "number": me.user.number,
            "username": me.user.name,
            "userlogin": me.user.login,
            "iscreator": true,
            "confstatestr": "Connected",
        })];
        competitors.extend(members.iter().map(|m| self.competitor_json(m, "Connected")));
        Some((id.clone(), competitors))
    }

    pub(super) fn competitor_json(&self, member: &Member, confstate: &str) -> Value {
        let mut map = self.party_json(&member.party);
        map.insert("competitorid".into(), member.competitor_id.clone().into());
        map.insert("confstatestr".into(), confstate.into());
        Value::Object(map)
    }
}
