//! The PBX's SIP side over real loopback sockets: a phone built from our own `sip` crate's
//! user agent registers with the simulator, gets rung when the PBX model rings its operator,
//! exchanges RTP with the simulated caller, and its actions show in the model, the control
//! API and the Oktell events.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audio;
mod baresip;
mod calls;
mod core_pair;
mod oktell_side;
mod phone;
mod registration;

use std::time::Duration;

use serde_json::Value;
use sim::world::Pickup;
use sim::{RunningSim, SimOptions, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any single expectation may take.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The default world with nobody acting on their own: far ends and desk phones wait for the
/// control API, so every step of a test is the test's.
pub fn manual_world() -> World {
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = None;
    for subscriber in &mut world.subscribers {
        subscriber.pickup = Pickup::Manual;
    }
    world
}

pub async fn start(world: World) -> RunningSim {
    sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world,
        seed: 23,
    })
    .await
    .unwrap()
}

/// One control API request; panics unless the status is `expected`.
pub async fn control(sim: &RunningSim, method: &str, path: &str, body: &str, expected: u16) -> Value {
    let address = sim.endpoints().control.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("control API went silent")
        .unwrap();
    let text = String::from_utf8(answer).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(status, expected, "{method} {path}: {body}");
    serde_json::from_str(body).unwrap()
}

/// The control API's view of one user's line (`linestatestr` etc.).
pub async fn line_of(sim: &RunningSim, login: &str) -> Value {
    let state = control(sim, "GET", "/state", "", 200).await;
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == login)
        .unwrap()["line"]
        .clone()
}

/// Polls the control API until `check` holds (the simulator acts on its own clock).
pub async fn eventually(sim: &RunningSim, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    match poll_until(sim, path, PATIENCE, check).await {
        Ok(value) => value,
        Err(last) => panic!("{what}; last {path}: {last}"),
    }
}

/// Polls the control API until `check` holds; the last answer as the error after `patience`.
pub async fn poll_until(
    sim: &RunningSim,
    path: &str,
    patience: Duration,
    check: impl Fn(&Value) -> bool,
) -> Result<Value, Value> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let value = control(sim, "GET", path, "", 200).await;
        if check(&value) {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(value);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
