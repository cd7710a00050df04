//! Agent (user) state and status (§5.2), and the `setuserstate` bodies that
//! request a status (§3.2).

use crate::error::CommandError;
use crate::msg::reply::{BreakReason, UserStateBody};
use crate::msg::request::SetUserState;

/// Server `userstateid` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStateId {
    /// 0.
    Disconnected,
    /// 1.
    Ready,
    /// 2.
    Break,
    /// 3: off / do-not-disturb.
    Dnd,
    /// 5: in a call or task.
    Busy,
    /// 6: reserved by the PBX (presumably for a call-center call).
    Reserved,
    /// 7: no phone.
    NoPhone,
    /// Any other value, kept as sent.
    Other(i64),
}

impl UserStateId {
    /// Reads the wire code.
    pub fn from_code(code: i64) -> UserStateId {
        match code {
            0 => UserStateId::Disconnected,
            1 => UserStateId::Ready,
            2 => UserStateId::Break,
            3 => UserStateId::Dnd,
            5 => UserStateId::Busy,
            6 => UserStateId::Reserved,
            7 => UserStateId::NoPhone,
            other => UserStateId::Other(other),
        }
    }
}

/// The agent's full state as the server last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    /// `userstateid`.
    pub state: UserStateId,
    /// Logged into the call-center.
    pub call_center: bool,
    /// Manual call-center mode.
    pub cc_manual: bool,
    /// `onlunch`: on a break, or a break requested during a call.
    pub on_break: bool,
    /// Redirect active.
    pub redirect: bool,
    /// `lunchreasonid`.
    pub break_reason: Option<i64>,
    /// Busy with a call-center task.
    pub on_task: bool,
}

/// The status the panel shows (§5.2 "user status").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentStatus {
    /// Not logged in.
    Disconnected,
    /// Ready outside the call-center.
    Ready,
    /// Ready in the call-center.
    ReadyCallCenter,
    /// Ready in the call-center, manual mode.
    ReadyCallCenterManual,
    /// On a break.
    Break,
    /// Do not disturb.
    Dnd,
    /// Calls are redirected.
    Redirect,
    /// No phone attached.
    NoPhone,
}

impl AgentState {
    /// The state before any report.
    pub fn disconnected() -> AgentState {
        AgentState {
            state: UserStateId::Disconnected,
            call_center: false,
            cc_manual: false,
            on_break: false,
            redirect: false,
            break_reason: None,
            on_task: false,
        }
    }

    /// Reads a reported state. `honour_ontask` is false for servers dated
    /// before 150416, which make `ontask` follow "busy" (§5.2).
    pub fn from_body(body: &UserStateBody, honour_ontask: bool) -> Option<AgentState> {
        let state = UserStateId::from_code(body.userstateid?);
        Some(AgentState {
            state,
            call_center: body.oncallcenter,
            cc_manual: body.onccmanual,
            on_break: body.onlunch,
            redirect: body.onredirect,
            break_reason: body.lunchreasonid,
            on_task: if honour_ontask {
                body.ontask
            } else {
                state == UserStateId::Busy
            },
        })
    }

    fn ready_variant(&self) -> AgentStatus {
        match (self.call_center, self.cc_manual) {
            (false, _) => AgentStatus::Ready,
            (true, false) => AgentStatus::ReadyCallCenter,
            (true, true) => AgentStatus::ReadyCallCenterManual,
        }
    }

    /// The status of the §5.2 table, with redirect overriding the rest.
    pub fn status(&self) -> AgentStatus {
        if self.redirect && self.state != UserStateId::Disconnected {
            return AgentStatus::Redirect;
        }
        match self.state {
            UserStateId::Ready => self.ready_variant(),
            UserStateId::Break => AgentStatus::Break,
            UserStateId::Dnd => AgentStatus::Dnd,
            UserStateId::Busy | UserStateId::Reserved => {
                if self.on_break && !self.on_task {
                    AgentStatus::Break
                } else {
                    self.ready_variant()
                }
            }
            UserStateId::NoPhone => AgentStatus::NoPhone,
            UserStateId::Disconnected | UserStateId::Other(_) => AgentStatus::Disconnected,
        }
    }

    /// Busy in a call or task (state 5 or 6).
    pub fn is_busy(&self) -> bool {
        matches!(self.state, UserStateId::Busy | UserStateId::Reserved)
    }

    /// The current break reason, only while the status is a break: the
    /// reported one if known, else the first known reason, else the raw value.
    pub fn current_break_reason(&self, reasons: &[BreakReason]) -> Option<i64> {
        if self.status() != AgentStatus::Break {
            return None;
        }
        match self.break_reason {
            Some(id) if reasons.iter().any(|r| r.id == id) => Some(id),
            raw => reasons.first().map(|r| r.id).or(raw),
        }
    }
}

/// A status the operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRequest {
    /// Ready outside the call-center.
    Ready,
    /// Ready in the call-center.
    ReadyCallCenter,
    /// Ready in the call-center, manual mode.
    ReadyCallCenterManual,
    /// A break; `None` or an unknown id uses the first known reason.
    Break(Option<i64>),
    /// Do not disturb.
    Dnd,
    /// Busy.
    Busy,
    /// Redirect to the number of the user's redirect rule.
    Redirect,
}

/// The `setuserstate` bodies for a status request, in sending order; the
/// second (only for redirect) is sent after the first succeeded.
///
/// `oncallcenter`/`onccmanual` are omitted when they equal the known values,
/// exactly as `setUserStatus` does (§3.2, §6d).
pub fn set_status_bodies(
    request: StatusRequest,
    current: &AgentState,
    reasons: &[BreakReason],
    redirect_number: Option<&str>,
) -> Result<Vec<SetUserState>, CommandError> {
    let cc = |want: bool| (current.call_center != want).then_some(want);
    let manual = |want: bool| (current.cc_manual != want).then_some(want);
    let ready = |call_center: bool, cc_manual: bool| SetUserState {
        userstateid: Some(1),
        oncallcenter: cc(call_center),
        onccmanual: manual(cc_manual),
        onredirect: Some(false),
        lunchreasonid: None,
    };
    Ok(match request {
        StatusRequest::Ready => vec![ready(false, false)],
        StatusRequest::ReadyCallCenter => vec![ready(true, false)],
        StatusRequest::ReadyCallCenterManual => vec![ready(true, true)],
        StatusRequest::Break(reason) => {
            let id = match reason {
                Some(id) if reasons.iter().any(|r| r.id == id) => id,
                _ => reasons.first().ok_or(CommandError::NoBreakReasons)?.id,
            };
            vec![SetUserState {
                userstateid: Some(2),
                oncallcenter: cc(true),
                onredirect: Some(false),
                lunchreasonid: Some(id),
                ..SetUserState::default()
            }]
        }
        StatusRequest::Dnd => vec![SetUserState {
            userstateid: Some(3),
            oncallcenter: cc(false),
            onredirect: Some(false),
            ..SetUserState::default()
        }],
        StatusRequest::Busy => vec![SetUserState {
            userstateid: Some(5),
            onredirect: Some(false),
            ..SetUserState::default()
        }],
        StatusRequest::Redirect => {
            redirect_number.ok_or(CommandError::NoRedirectNumber)?;
            let on = SetUserState {
                onredirect: Some(true),
                ..SetUserState::default()
            };
            if current.is_busy() {
                vec![on]
            } else {
                vec![
                    SetUserState {
                        userstateid: Some(3),
                        oncallcenter: Some(false),
                        ..SetUserState::default()
                    },
                    on,
                ]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: i64, cc: bool) -> AgentState {
        AgentState::from_body(
            &UserStateBody {
                userstateid: Some(id),
                oncallcenter: cc,
                ..UserStateBody::default()
            },
            true,
        )
        .unwrap()
    }

    fn reasons() -> Vec<BreakReason> {
        vec![
            BreakReason {
                id: 1,
                name: Some("Обед".into()),
            },
            BreakReason {
                id: 2,
                name: Some("Meeting".into()),
            },
        ]
    }

    #[test]
    fn statuses_follow_the_table() {
        assert_eq!(state(1, false).status(), AgentStatus::Ready);
        assert_eq!(state(1, true).status(), AgentStatus::ReadyCallCenter);
        assert_eq!(state(2, true).status(), AgentStatus::Break);
        assert_eq!(state(3, false).status(), AgentStatus::Dnd);
        assert_eq!(state(7, false).status(), AgentStatus::NoPhone);
        let mut busy_break = state(5, true);
        busy_break.on_break = true;
        assert_eq!(busy_break.status(), AgentStatus::Break);
        busy_break.on_task = true;
        assert_eq!(busy_break.status(), AgentStatus::ReadyCallCenter);
        let mut redirected = state(3, false);
        redirected.redirect = true;
        assert_eq!(redirected.status(), AgentStatus::Redirect);
    }

    #[test]
    fn old_servers_make_ontask_follow_busy() {
        let body = UserStateBody {
            userstateid: Some(5),
            onlunch: true,
            oncallcenter: true,
            ..UserStateBody::default()
        };
        let s = AgentState::from_body(&body, false).unwrap();
        assert!(s.on_task);
        assert_eq!(s.status(), AgentStatus::ReadyCallCenter);
    }

    #[test]
    fn ready_cc_omits_unchanged_flags_as_in_6d() {
        let bodies = set_status_bodies(StatusRequest::ReadyCallCenter, &state(1, false), &[], None).unwrap();
        let json = serde_json::to_string(&bodies[0]).unwrap();
        assert_eq!(json, r#"{"userstateid":1,"oncallcenter":true,"onredirect":false}"#);
    }

    #[test]
    fn break_body_matches_6d_and_defaults_the_reason() {
        let b = set_status_bodies(StatusRequest::Break(Some(2)), &state(1, true), &reasons(), None).unwrap();
        assert_eq!(
            serde_json::to_string(&b[0]).unwrap(),
            r#"{"userstateid":2,"onredirect":false,"lunchreasonid":2}"#
        );
        let b = set_status_bodies(StatusRequest::Break(Some(99)), &state(1, false), &reasons(), None).unwrap();
        assert_eq!(
            serde_json::to_string(&b[0]).unwrap(),
            r#"{"userstateid":2,"oncallcenter":true,"onredirect":false,"lunchreasonid":1}"#
        );
        assert_eq!(
            set_status_bodies(StatusRequest::Break(None), &state(1, true), &[], None),
            Err(CommandError::NoBreakReasons)
        );
    }

    #[test]
    fn dnd_busy_and_redirect_bodies() {
        let s = state(1, true);
        let dnd = set_status_bodies(StatusRequest::Dnd, &s, &[], None).unwrap();
        assert_eq!(
            serde_json::to_string(&dnd[0]).unwrap(),
            r#"{"userstateid":3,"oncallcenter":false,"onredirect":false}"#
        );
        let busy = set_status_bodies(StatusRequest::Busy, &s, &[], None).unwrap();
        assert_eq!(
            serde_json::to_string(&busy[0]).unwrap(),
            r#"{"userstateid":5,"onredirect":false}"#
        );
        assert_eq!(
            set_status_bodies(StatusRequest::Redirect, &s, &[], None),
            Err(CommandError::NoRedirectNumber)
        );
        let r = set_status_bodies(StatusRequest::Redirect, &s, &[], Some("89031112233")).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(serde_json::to_string(&r[1]).unwrap(), r#"{"onredirect":true}"#);
        let r = set_status_bodies(StatusRequest::Redirect, &state(5, false), &[], Some("1")).unwrap();
        assert_eq!(r.len(), 1, "busy: only the redirect flag");
    }

    #[test]
    fn break_reason_is_reported_only_during_a_break() {
        let mut s = state(2, true);
        s.break_reason = Some(2);
        assert_eq!(s.current_break_reason(&reasons()), Some(2));
        s.break_reason = Some(42);
        assert_eq!(s.current_break_reason(&reasons()), Some(1));
        assert_eq!(state(1, true).current_break_reason(&reasons()), None);
    }
}
