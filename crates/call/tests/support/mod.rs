//! A virtual-clock harness around `CallModel<u32>`: dialog handles are plain numbers, time
//! only moves when a test says so, and Oktell/SIP/Creatio inputs are built from small
//! helpers that read like the scenario transcripts of PROTOCOL.md §6.
// Each test binary uses a different part of the harness; a missing effect is a test failure.
#![allow(dead_code, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime};

use call::{
    Action, CallConfig, CallInput, CallModel, CreatioEffect, CreatioInput, Effect, PanelView, SipAction, SipEvent,
    UiCommand,
};
use creatio::identify::{Identification, Subscriber, SubscriberKind};
use oktell::line::{Abonent, Hold, LineView, PhoneState};
use oktell::{ConnectionState, Event};
use uuid::Uuid;

pub type Fx = Vec<Effect<u32>>;

pub struct Harness {
    pub model: CallModel<u32>,
    pub now: Instant,
    pub start: Instant,
}

/// Wall clock of the harness start: 2026-01-01T00:00:00Z.
pub const WALL_START_SECS: u64 = 1_767_225_600;

impl Harness {
    pub fn new(config: CallConfig) -> Harness {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START_SECS);
        Harness {
            model: CallModel::new(config, now, wall),
            now,
            start: now,
        }
    }

    /// Oktell and the softphone both in use, both up.
    pub fn connected() -> Harness {
        let mut h = Harness::new(config());
        h.oktell(Event::Connection(ConnectionState::Connected));
        h.oktell(Event::Line(idle()));
        h.sip(SipEvent::Registered);
        h
    }

    /// A plain SIP server, no Oktell.
    pub fn sip_only() -> Harness {
        let mut h = Harness::new(CallConfig {
            oktell_configured: false,
            ..config()
        });
        h.sip(SipEvent::Registered);
        h
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
    }

    pub fn handle(&mut self, input: CallInput<u32>) -> Fx {
        self.model.handle(self.now, input)
    }

    pub fn oktell(&mut self, event: Event) -> Fx {
        self.handle(CallInput::Oktell(event))
    }

    pub fn line(&mut self, line: LineView) -> Fx {
        self.oktell(Event::Line(line))
    }

    pub fn sip(&mut self, event: SipEvent<u32>) -> Fx {
        self.handle(CallInput::Sip(event))
    }

    pub fn ui(&mut self, command: UiCommand) -> Fx {
        self.handle(CallInput::Ui(command))
    }

    pub fn tick(&mut self) -> Fx {
        self.handle(CallInput::Tick)
    }

    pub fn view(&self) -> &PanelView {
        self.model.view()
    }

    pub fn allows(&self, action: Action) -> bool {
        self.view().actions.contains(&action)
    }

    /// An INVITE from `number` on dialog `dialog`.
    pub fn invite(&mut self, dialog: u32, number: &str) -> Fx {
        self.sip(SipEvent::Incoming {
            dialog,
            number: Some(number.into()),
            name: None,
        })
    }

    /// The id of the call the Identify effect asked about.
    pub fn identified(&mut self, fx: &Fx, result: Identification) -> Fx {
        let call = fx
            .iter()
            .find_map(|e| match e {
                Effect::Creatio(CreatioEffect::Identify { call, .. }) => Some(*call),
                _ => None,
            })
            .expect("an Identify effect");
        self.handle(CallInput::Creatio(CreatioInput::Identified { call, result }))
    }
}

pub fn config() -> CallConfig {
    CallConfig {
        own_number: "101".into(),
        ..CallConfig::default()
    }
}

pub fn party(number: &str, chain: &str) -> Abonent {
    Abonent {
        key: number.into(),
        phone: Some(number.into()),
        name: None,
        user_id: None,
        user_login: None,
        is_external: true,
        is_ivr: false,
        chain_id: Some(chain.into()),
        competitor_id: None,
        is_conference_creator: false,
        is_conference_ghost: false,
    }
}

pub fn idle() -> LineView {
    LineView {
        state: PhoneState::Ready,
        ..LineView::default()
    }
}

pub fn line(state: PhoneState, who: Abonent) -> LineView {
    LineView {
        state,
        abonents: vec![who],
        ..LineView::default()
    }
}

pub fn with_hold(mut line: LineView, held: Abonent) -> LineView {
    line.hold = Hold::Party(held);
    line
}

pub fn talking(who: Abonent, since: Instant) -> LineView {
    LineView {
        talk_since: Some(since),
        ..line(PhoneState::Talk, who)
    }
}

pub fn ready_with_hold(held: Abonent) -> LineView {
    with_hold(idle(), held)
}

pub fn contact(name: &str) -> Subscriber {
    Subscriber {
        kind: SubscriberKind::Contact,
        id: Uuid::from_u128(0x1234),
        name: name.into(),
        account_id: None,
        account_name: None,
        number: "+7 916 123-45-67".into(),
        communication_type: None,
    }
}

pub fn oktell_commands(fx: &Fx) -> Vec<oktell::Command> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Oktell(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

pub fn sip_actions(fx: &Fx) -> Vec<SipAction<u32>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Sip(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

pub fn rejection(fx: &Fx) -> Option<String> {
    fx.iter().find_map(|e| match e {
        Effect::Rejected(r) => Some(r.to_string()),
        _ => None,
    })
}

pub fn has(fx: &Fx, wanted: &Effect<u32>) -> bool {
    fx.iter().any(|e| e == wanted)
}

pub fn views(fx: &Fx) -> usize {
    fx.iter().filter(|e| matches!(e, Effect::View(_))).count()
}

pub fn opened_cards(fx: &Fx) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Creatio(CreatioEffect::OpenCard { .. })))
        .count()
}

pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("serialisable")
}

/// A sentence's parameters as the UI gets them (JSON), for comparing with `serde_json::json!`.
pub fn params_json(sentence: &call::Sentence) -> serde_json::Value {
    serde_json::to_value(&sentence.params).expect("serialisable")
}
