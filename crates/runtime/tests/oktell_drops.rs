//! Connection drops at random moments: the simulator closes the link's
//! socket after random frames (its seeded `drop_probability`) and the test
//! drops every connection through the control API at random instants,
//! interleaved with random call steps. After every recovery the state folded
//! from the link's events must equal the server's, and the link must never
//! panic or give up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oktell_support;

use std::time::Duration;

use oktell::agent::StatusRequest;
use oktell::msg::request::Sequence;
use oktell::{CloseReason, Command, ConnectionState};
use oktell_support::*;
use serde_json::{Value, json};

/// Drops made through the control API, each of a live connection.
const CONTROL_DROPS: usize = 110;
/// The run's seed; `OKTELL_DROPS_SEED` replays or explores another run.
fn seed() -> u64 {
    std::env::var("OKTELL_DROPS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0d70_9b5e)
}
const CALLERS: [&str; 4] = ["89161234567", "84951234567", "+79031112233", "89257778899"];

/// SplitMix64: a tiny seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// op1's call that is not queued (ringing, dialling, talking), if any.
fn current_call(state: &Value) -> Option<u64> {
    state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["operator"] == "op1" && c["state"] != "queued" && c["state"] != "on_hold")
        .and_then(|c| c["id"].as_u64())
}

/// One random step of call handling, chosen from what the server's line
/// allows. Refusals are fine: a drop may have raced the step.
async fn random_step(rng: &mut Rng, sim: &Simulator, client: &Client) {
    let state = sim.control.state().await;
    let line = user_of(&state, "op1")["line"].clone();
    let held = line["isflashing"] == true;
    let status = line["linestatestr"].as_str().unwrap_or_default().to_owned();
    let command = |c: Command| async { client.link.command(c).await.is_ok() };
    match status.as_str() {
        "lsFree" if !held => match rng.below(5) {
            0 | 1 => {
                let caller = *rng.pick(&CALLERS);
                sim.control
                    .request("POST", "/calls", Some(json!({"from": caller, "to": "101"})))
                    .await;
            }
            2 => {
                let number = (*rng.pick(&CALLERS)).to_owned();
                command(Command::Call {
                    number,
                    sequence: Sequence::User,
                })
                .await;
            }
            3 => {
                let request = *rng.pick(&[
                    StatusRequest::Break(Some(1)),
                    StatusRequest::ReadyCallCenter,
                    StatusRequest::Ready,
                ]);
                command(Command::SetStatus(request)).await;
            }
            _ => {
                let id = *rng.pick(&[1, 2, 1]);
                sim.control
                    .request("POST", "/users/op1/state", Some(json!({"userstateid": id})))
                    .await;
            }
        },
        "lsRinging" => match (rng.below(3), current_call(&state)) {
            (0, _) => {
                command(Command::Answer).await;
            }
            (1, Some(call)) => {
                sim.control
                    .request("POST", &format!("/calls/{call}/hangup"), None)
                    .await;
            }
            _ => {
                command(Command::Decline).await;
            }
        },
        "lsCommutated" => match (rng.below(5), current_call(&state)) {
            (0, _) if !held => {
                command(Command::Hold).await;
            }
            (1, Some(call)) => {
                sim.control
                    .request("POST", &format!("/calls/{call}/hangup"), None)
                    .await;
            }
            (2, _) if !held => {
                let number = (*rng.pick(&CALLERS)).to_owned();
                command(Command::Call {
                    number,
                    sequence: Sequence::User,
                })
                .await;
            }
            (3, _) if held => {
                command(Command::Commutate).await;
            }
            _ => {
                command(Command::Hangup).await;
            }
        },
        _ if held && current_call(&state).is_none() => {
            command(Command::Resume).await;
        }
        _ => {
            command(Command::Hangup).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_recovers_the_servers_state_after_every_drop() {
    let mut world = quick_world();
    // Besides the control drops: any frame the link sends may be its socket's last.
    world.server.drop_probability = 0.03;
    let seed = seed();
    let sim = Simulator::start(world, seed).await;
    let mut rng = Rng(seed);
    let mut client = Client::connect(&sim, "op1", seed).await;
    client.converge(&sim.control, "op1").await;

    let mut control_drops = 0;
    let mut steps = 0;
    while control_drops < CONTROL_DROPS {
        steps += 1;
        assert!(steps < CONTROL_DROPS * 4, "too few live connections to drop");
        random_step(&mut rng, &sim, &client).await;
        // Let the step's events and re-reads start, then cut in at a random instant.
        tokio::time::sleep(Duration::from_micros(rng.below(3_000))).await;
        let connects = client.mirror.connects;
        client.drain();
        if sim.control.drop_connections().await == 0 {
            // Already down (a random drop): recovering from that counts below too.
            client.converge(&sim.control, "op1").await;
            continue;
        }
        control_drops += 1;
        client
            .until("a reconnect after the drop", |m| m.connects > connects)
            .await;
        client.converge(&sim.control, "op1").await;
        assert!(!client.task.is_finished(), "the link task ended");
    }
    let recoveries = client.mirror.connects - 1;
    assert!(recoveries >= CONTROL_DROPS, "only {recoveries} recoveries");

    client.link.command(Command::Logout).await.unwrap();
    client
        .until("logged out", |m| {
            m.connection == ConnectionState::Closed(CloseReason::LoggedOut)
        })
        .await;
    tokio::time::timeout(PATIENCE, &mut client.task).await.unwrap().unwrap();
}
