//! Latency of the Oktell link against the simulated server on loopback:
//!
//! * ring to state: from the control request that makes a caller dial the
//!   operator (the server pushes the ring events while answering it) until
//!   the link's events show the line `ring`, over many rings;
//! * login to ready: from spawning the link until it is connected with a
//!   directory of 10,000 users and 10,000 numbers loaded, which the server
//!   sends as multipart messages.
//!
//! Prints markdown rows `| metric | value | goal |` and appends them to the
//! file named by `OKTELL_PANEL_BENCH_ROWS` (the convention of the root
//! `benches/startup.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/oktell_support/mod.rs"]
mod oktell_support;

use std::time::{Duration, Instant};

use oktell::line::PhoneState;
use oktell_support::{Client, Simulator, quick_world};
use sim::World;
use sim::world::{PbxNumber, User};

const RINGS: usize = 1_000;
const LOGINS: usize = 5;
const DIRECTORY: usize = 10_000;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("oktell_link: bench");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rings = runtime.block_on(ring_to_state());
    let logins = runtime.block_on(login_to_ready());
    bench_table::report(&[
        (
            format!("Oktell ring to line state `ring`, p50 of {RINGS} (ms)"),
            format!("{:.2}", bench_table::percentile(&rings, 50)),
            "-".to_owned(),
        ),
        (
            format!("Oktell ring to line state `ring`, p99 of {RINGS} (ms)"),
            format!("{:.2}", bench_table::percentile(&rings, 99)),
            "< 5".to_owned(),
        ),
        (
            format!("Oktell login to ready, 10k users + 10k numbers (multipart), median of {LOGINS} (ms)"),
            format!("{:.0}", bench_table::percentile(&logins, 50)),
            "< 1000".to_owned(),
        ),
        (
            format!("Oktell login to ready, 10k users + 10k numbers (multipart), worst of {LOGINS} (ms)"),
            format!("{:.0}", bench_table::percentile(&logins, 100)),
            "< 1000".to_owned(),
        ),
    ])
    .expect("write the bench table");
}

/// Milliseconds of each ring, measured `RINGS` times.
async fn ring_to_state() -> Vec<f64> {
    let mut world = quick_world();
    world.timing.operator_pickup_ms = None;
    let sim = Simulator::start(world, 1).await;
    let mut client = Client::connect(&sim, "op1", 1).await;
    let mut samples = Vec::with_capacity(RINGS);
    for _ in 0..RINGS {
        // The control answer is not waited for: it races the ring events.
        let control = sim.control.clone();
        let start = Instant::now();
        let call = tokio::spawn(async move { control.call_in("89161234567", "101").await });
        client.until("ring", |m| m.phone() == PhoneState::Ring).await;
        samples.push(bench_table::millis(start.elapsed()));
        sim.control.hang_up(call.await.unwrap()).await;
        client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    }
    sim.running.shutdown().await;
    samples
}

/// A world whose directory holds `DIRECTORY` users besides op1 and `DIRECTORY` service numbers.
fn big_world() -> World {
    let mut world = World::default_world();
    let template = world.users[0].clone();
    world.users.extend((0..DIRECTORY).map(|i| User {
        login: format!("user{i}"),
        name: format!("Сотрудник {i}"),
        number: format!("{}", 300_000 + i),
        call_center: false,
        department: None,
        ..template.clone()
    }));
    world.numbers.extend((0..DIRECTORY).map(|i| PbxNumber {
        number: format!("{}", 700_000 + i),
        caption: format!("Номер {i}"),
        department: None,
    }));
    world
}

/// Milliseconds from spawning the link to a loaded directory, `LOGINS` times.
async fn login_to_ready() -> Vec<f64> {
    let world = big_world();
    let users = world.users.len();
    let numbers = world.numbers.len();
    let sim = Simulator::start(world, 2).await;
    let mut samples = Vec::with_capacity(LOGINS);
    for run in 0..LOGINS {
        let start = Instant::now();
        let mut client = Client::spawn(
            oktell_support::config(&sim.oktell, "op1", "demo", run as u64),
            oktell_support::plain_tls(),
        );
        client
            .until("ready with the directory", |m| {
                m.is_connected() && m.users == users && m.numbers >= numbers
            })
            .await;
        samples.push(bench_table::millis(start.elapsed()));
        client.link.command(oktell::Command::Logout).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), client.task)
            .await
            .unwrap()
            .unwrap();
    }
    sim.running.shutdown().await;
    samples
}
