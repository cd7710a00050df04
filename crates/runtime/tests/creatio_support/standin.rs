//! The Creatio stand-in of the simulated world (crates/sim) for the driver's tests: the default world served on
//! 127.0.0.1, its control API, and driver settings that log in as one of its operators with short retry delays.
//! Included by path (`#[path = "creatio_support/standin.rs"]`) by the tests that use it.

#![allow(dead_code, reason = "each test file uses part of it")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failure here is a failed test"
)]

use std::time::Duration;

use creatio::auth::{Credentials, Secret};
use creatio::identify::IdentifyConfig;
use creatio::outbox::OutboxConfig;
use creatio::site::{PlatformChoice, Site};
use runtime::creatio::CreatioSettings;
use runtime::creatio::clock::WallClock;
use runtime::creatio::transport::HttpSettings;
use serde_json::Value as Json;
use sim::{RunningSim, SimOptions, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every default-world operator's Creatio password.
pub const PASSWORD: &str = "demo";
/// In-flight requests of the outbox in these settings.
pub const MAX_IN_FLIGHT: usize = 4;

/// The default world, serving on loopback ports of its own.
pub async fn start_world(seed: u64) -> RunningSim {
    sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world: World::default_world(),
        seed,
    })
    .await
    .unwrap()
}

/// One request to the simulator's control API (HTTP/1.1, `Connection: close`); the answer must be 200.
pub async fn control(sim: &RunningSim, method: &str, path: &str) -> Json {
    let authority = sim.endpoints().control.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status_line = String::from_utf8_lossy(&raw[..split])
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(status_line.contains(" 200 "), "{method} {path}: {status_line}");
    serde_json::from_slice(&raw[split + 4..]).unwrap()
}

/// Driver settings for `user` of the default world at `creatio`: quick retries, a short HTTP timeout, UTC times.
pub fn settings(creatio: &str, user: &str, seed: u64) -> CreatioSettings {
    CreatioSettings {
        site: Site::parse(creatio).unwrap(),
        platform: PlatformChoice::Detect,
        credentials: Credentials::Forms {
            user_name: user.into(),
            password: Secret::new(PASSWORD),
        },
        identify: IdentifyConfig::default(),
        outbox: OutboxConfig {
            first_retry: Duration::from_millis(50),
            max_retry: Duration::from_millis(400),
            seed,
            max_in_flight: MAX_IN_FLIGHT,
        },
        http: HttpSettings {
            timeout: Duration::from_secs(3),
            ca_file: None,
        },
        clock: WallClock::with_offset(time::UtcOffset::UTC),
    }
}
