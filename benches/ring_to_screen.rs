//! Ring-to-screen benchmark of the real app: the optimised binary under a private Xvfb in demo mode (a quiet
//! world), with op1 logged in. Each round asks the simulator to ring op1 (`POST /calls` on its control API) and
//! measures from sending that request until the ringing popup window ("Incoming call — Oktell Panel") is mapped on
//! the display; the caller then hangs up and the popup must go before the next round.
//!
//! The clock starts before the request, so the figure includes the simulator's work, the Oktell event over the
//! WebSocket, the call model, the shell and the window system. The moment the popup is mapped comes from the X
//! server itself: `xev` (x11-utils) watches the root window's children and reports each MapNotify as it happens,
//! so the figures do not depend on how often anything is polled.
//!
//! Run through `scripts/dev bench`, which gathers every benchmark's rows into one table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::display::Display;
use support::process::Owned;
use support::sim::{control, demo_control, quiet_world};
use support::{wait_for, x11};

const ROUNDS: usize = 40;
const POPUP: &str = "^Incoming call";

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("ring_to_screen: bench");
        return;
    }
    let display = Display::start();
    let home = tempfile::tempdir().unwrap();
    let world = home.path().join("world.toml");
    std::fs::write(&world, quiet_world()).unwrap();
    let data = home.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_oktell-panel"));
    command
        .env("DISPLAY", &display.name)
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", &data)
        .env("OKTELL_PANEL_DEMO_WORLD", &world)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _app = Owned::spawn("oktell-panel", &mut command);
    let control_api = demo_control(&data);
    wait_for("op1 to log in to the simulator", Duration::from_secs(30), || {
        let state = control(&control_api, "GET", "/state", None);
        let connections = state["connections"].as_array()?.clone();
        connections.iter().any(|c| c["login"] == "op1").then_some(())
    });
    wait_for("the panel window", Duration::from_secs(30), || {
        (!x11::visible_windows(&display, "^Oktell Panel$").is_empty()).then_some(())
    });

    let maps = watch_maps(&display);
    // xev reports nothing until it has selected the root's events, and says nothing when it has: give it time.
    std::thread::sleep(Duration::from_secs(1));

    let mut rings = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        while maps.try_recv().is_ok() {}
        let started = Instant::now();
        let created = control(
            &control_api,
            "POST",
            "/calls",
            Some(json!({"from": "89161234567", "to": "101"})),
        );
        let shown = loop {
            let (window, at) = maps
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("round {round}: the popup was not mapped"));
            if is_popup(&display, window) {
                break at;
            }
        };
        rings.push(bench_table::millis(shown - started));
        let call = created["call"].as_u64().expect("a call id");
        control(&control_api, "POST", &format!("/calls/{call}/hangup"), None);
        wait_for("the popup to go", Duration::from_secs(10), || {
            x11::visible_windows(&display, POPUP).is_empty().then_some(())
        });
        wait_for("op1's line to be free", Duration::from_secs(10), || {
            let state = control(&control_api, "GET", "/state", None);
            state["calls"].as_array()?.is_empty().then_some(())
        });
    }
    bench_table::report(&[
        (
            format!("ring to popup on screen, p50 of {ROUNDS} (ms)"),
            format!("{:.1}", bench_table::percentile(&rings, 50)),
            "< 50",
        ),
        (
            format!("ring to popup on screen, p99 of {ROUNDS} (ms)"),
            format!("{:.1}", bench_table::percentile(&rings, 99)),
            "< 50",
        ),
    ])
    .expect("write the bench table");
}

/// Every window the X server maps as a child of the root window, with the moment `xev` reported it. `xev` prints
/// a MapNotify as two lines; the mapped window is on the second (`event 0x.., window 0x.., override NO`).
fn watch_maps(display: &Display) -> mpsc::Receiver<(u64, Instant)> {
    let mut command = Command::new("xev");
    command
        .args(["-root", "-event", "substructure"])
        .env("DISPLAY", &display.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut xev = Owned::spawn("xev (apt install x11-utils)", &mut command);
    let stdout = xev.take_stdout().expect("xev's stdout is piped");
    let (maps, received) = mpsc::channel();
    std::thread::spawn(move || {
        let _xev = xev;
        let mut mapped_at = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("MapNotify") {
                mapped_at = Some(Instant::now());
            } else if let Some(at) = mapped_at.take() {
                let window = line
                    .split(", ")
                    .find_map(|field| field.trim().strip_prefix("window 0x"))
                    .and_then(|hex| u64::from_str_radix(hex, 16).ok());
                if let Some(window) = window
                    && maps.send((window, at)).is_err()
                {
                    return;
                }
            }
        }
    });
    received
}

/// Whether this window is the ringing popup, by its title (asked after the fact: the time was taken already).
fn is_popup(display: &Display, window: u64) -> bool {
    Command::new("xdotool")
        .args(["getwindowname", &window.to_string()])
        .env("DISPLAY", &display.name)
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).starts_with("Incoming call"))
}
