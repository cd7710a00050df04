//! The panel's history carries the operator's calls from Creatio: at start the calls Creatio already has (made
//! at another workstation), and after a call on this panel ends, the list fetched afresh. Against the simulated
//! world (Oktell and Creatio stand-ins) on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

#[path = "creatio_support/standin.rs"]
mod standin;

use std::time::{Duration, Instant, SystemTime};

use call::history::Source;
use creatio::calls::{self, CallTimeline, Direction};
use runtime::creatio::{CreatioLink, OutboxStore};
use runtime::panel::{CallConfig, CardOpen, Drivers, Panel, PanelView, SharedLogin, UiCommand};
use sim::RunningSim;
use standin::{settings, start_world};
use tokio::sync::mpsc;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(20);

/// A finished incoming call of `number` to op1, recorded from another workstation (its own outbox).
async fn recorded_elsewhere(sim: &RunningSim, id: Uuid, number: &str, talk: Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let (events, _heard) = mpsc::channel(64);
    let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio, "op1", 5), store, events).unwrap();
    let started = SystemTime::now() - Duration::from_secs(3600);
    let call = CallTimeline {
        record_id: id,
        integration_id: format!("elsewhere:{id}"),
        caption: "Call elsewhere".into(),
        direction: Direction::Incoming,
        caller_id: number.into(),
        called_id: "101".into(),
        started: started.into(),
        answered: talk.map(|_| (started + Duration::from_secs(3)).into()),
        holds: Vec::new(),
        ended: Some((started + Duration::from_secs(3 + talk.unwrap_or(20))).into()),
    };
    link.record(vec![calls::created(&call), calls::ended(&call).unwrap()])
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while link.status().await.unwrap().waiting > 0 {
        assert!(
            Instant::now() < deadline,
            "the other workstation's call never reached Creatio"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    link.shutdown().await;
    task.await.unwrap();
}

async fn view_where(panel: &Panel, what: &str, check: impl Fn(&PanelView) -> bool) -> PanelView {
    let mut views = panel.views();
    let found = tokio::time::timeout(PATIENCE, views.wait_for(|view| check(view)))
        .await
        .map(|view| view.map(|view| view.clone()));
    match found {
        Ok(Ok(view)) => view,
        _ => panic!("no view with {what}; the last: {:?}", *views.borrow()),
    }
}

fn lists(view: &PanelView, record: Uuid) -> bool {
    view.history
        .iter()
        .any(|e| e.record == record && e.source == Source::Creatio)
}

/// One request to the simulator's control API with a JSON body, off the async threads.
async fn post(sim: &RunningSim, path: &str, body: &str) -> serde_json::Value {
    let address = sim.endpoints().control.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(" 200 "), "{head}\n{body}");
        serde_json::from_str(body).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_shows_creatio_calls_at_start_and_refreshes_after_a_call_ends() {
    let sim = start_world(41).await;
    let before = Uuid::from_u128(0x4157_0001);
    recorded_elsewhere(&sim, before, "+74957771234", None).await;

    let folder = tempfile::tempdir().unwrap();
    let endpoints = sim.endpoints().clone();
    let drivers = Drivers::start(&SharedLogin {
        oktell_url: endpoints.oktell.clone(),
        creatio_url: endpoints.creatio.clone(),
        user: "op1".into(),
        password: "demo".into(),
        outbox: folder.path().join("outbox.sqlite3"),
    })
    .unwrap();
    let config = CallConfig {
        sip_configured: false,
        own_number: "101".into(),
        card_open: CardOpen::Never,
        ..CallConfig::default()
    };
    let (panel, _shell, _task) = Panel::spawn(config, drivers);

    let view = view_where(&panel, "the call Creatio already had", |v| {
        lists(v, before) && v.health.creatio.history_offline.is_none()
    })
    .await;
    let earlier = view.history.iter().find(|e| e.record == before).unwrap();
    assert_eq!(
        earlier.outcome,
        call::history::Outcome::Missed,
        "Creatio's rule: no talk time"
    );
    assert_eq!(
        earlier.party.number.as_deref(),
        Some("+74957771234"),
        "call back dials the caller"
    );
    assert!(earlier.id.is_none() && !earlier.unseen);
    view_where(&panel, "Oktell connected", |v| {
        v.health.oktell.state == "ok" && v.agent.status.starts_with("ready")
    })
    .await;

    // Meanwhile another workstation records a call; this panel learns of it when its own call ends.
    let meanwhile = Uuid::from_u128(0x4157_0002);
    recorded_elsewhere(&sim, meanwhile, "+74957775678", Some(40)).await;
    post(&sim, "/calls", r#"{"from":"89257778899","to":"101"}"#).await;
    view_where(&panel, "the ringing call", |v| v.popup.is_some()).await;
    panel.command(UiCommand::Answer).await.unwrap();
    view_where(&panel, "the conversation", |v| {
        v.call.as_ref().is_some_and(|c| c.state == "talking")
    })
    .await;
    panel.command(UiCommand::Hangup).await.unwrap();

    let view = view_where(&panel, "the refreshed list after the call", |v| {
        v.call.is_none() && lists(v, meanwhile)
    })
    .await;
    let own: Vec<_> = view.history.iter().filter(|e| e.source == Source::Panel).collect();
    assert_eq!(own.len(), 1, "the panel's own call, once: {:?}", view.history);
    assert!(
        view.history.iter().filter(|e| e.record == own[0].record).count() == 1,
        "Creatio's copy of the panel's call is not listed again"
    );
    sim.shutdown().await;
}
