//! Start-up and idle-memory benchmark of the real app: the optimised binary under a private Xvfb.
//!
//! Start-up is timed in the demo world (a fresh home), from spawn until the panel window is mapped and the page has
//! asked the core for its first view.
//!
//! Idle memory is measured in both modes, after the panel has idled, as proportional set size (so libraries shared
//! between the processes are not counted twice), per process: the app process and the WebKit processes below it.
//! - Configured: what every workstation runs, and what the goals of issue #7 are about. The app reads a
//!   `config.toml` naming Oktell, the SIP registrar and Creatio, with its passwords in the `file` store, and logs in
//!   to a simulated world that runs as a process of its own (`oktell-panel sim`), so the simulator is not counted as
//!   the app's. The simulator runs from a copy of the binary: the same file would share its code pages with the app
//!   and halve what PSS charges the app for them. Measured once the panel is logged in to Oktell and its phone is
//!   registered.
//! - Demo: the simulator runs inside the app process (a fresh home, no configuration); printed for comparison.
//!
//! Run through `scripts/dev bench`, which gathers every benchmark's rows into one table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::display::Display;
use support::process::Owned;
use support::sim::control;
use support::{wait_for, x11};

const STARTS: usize = 5;
const IDLE: Duration = Duration::from_secs(5);
const APP: &str = env!("CARGO_BIN_EXE_oktell-panel");

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("startup: bench");
        return;
    }
    let display = Display::start();
    let mut starts = Vec::new();
    let mut demo = None;
    for run in 0..STARTS {
        let home = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let (app, ready) = launch(&display, home.path());
        starts.push(ready - started);
        if run == STARTS - 1 {
            std::thread::sleep(IDLE);
            demo = Some(Memory::of(app.id()));
        }
    }
    let demo = demo.expect("measured on the last run");
    let configured = configured_memory(&display);
    starts.sort();
    let median = starts[STARTS / 2];
    let worst = starts[STARTS - 1];
    let mut rows = vec![
        (
            "start to visible panel, median of 5 (ms)".to_owned(),
            format!("{}", median.as_millis()),
            "< 1000",
        ),
        (
            "start to visible panel, worst of 5 (ms)".to_owned(),
            format!("{}", worst.as_millis()),
            "< 1500",
        ),
    ];
    rows.extend(configured.rows("configured", ["<= 40", "", "", "<= 160", "<= 200"]));
    rows.extend(demo.rows("demo, simulator inside", ["", "", "", "", ""]));
    bench_table::report(&rows).expect("write the bench table");
}

/// Starts the app with `home` as its configuration and data folders and waits until its panel is mapped and its page
/// has requested the first view; returns the app and the moment the later of the two was seen.
fn launch(display: &Display, home: &Path) -> (Owned, Instant) {
    let mut command = Command::new(APP);
    command
        .env("DISPLAY", &display.name)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("RUST_LOG", "oktell_panel=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut app = Owned::spawn("oktell-panel", &mut command);
    let stderr = app.take_stderr().expect("stderr is piped");
    let (view_served, served) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("view requested") {
                let _ = view_served.send(Instant::now());
            }
        }
    });
    let rendered = served
        .recv_timeout(Duration::from_secs(30))
        .expect("the page asked for its view");
    let mapped = wait_for("the panel window", Duration::from_secs(30), || {
        (!x11::visible_windows(display, "^Oktell Panel$").is_empty()).then(Instant::now)
    });
    (app, rendered.max(mapped))
}

/// The configured mode against a simulated world in a process of its own: idle memory once op1 is logged in and
/// its phone registered.
fn configured_memory(display: &Display) -> Memory {
    let home = tempfile::tempdir().unwrap();
    let sim_binary = home.path().join("oktell-panel-sim");
    std::fs::copy(APP, &sim_binary).expect("copy the binary for the simulator");
    let mut command = Command::new(&sim_binary);
    command
        .args(["sim", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut sim = Owned::spawn("oktell-panel sim", &mut command);
    // Kept open until the end: the simulator must not write into a closed pipe.
    let mut sim_output = BufReader::new(sim.take_stdout().expect("stdout is piped"));
    let mut endpoints = String::new();
    sim_output.read_line(&mut endpoints).expect("the simulator's endpoints");
    let endpoints: Value = serde_json::from_str(&endpoints).expect("the endpoints as JSON");
    let endpoint = |name: &str| endpoints[name].as_str().expect("an endpoint").to_owned();
    write_configuration(home.path(), &endpoint("oktell"), &endpoint("sip"), &endpoint("creatio"));

    let (app, _) = launch(display, home.path());
    let control_api = endpoint("control");
    wait_for("op1 to log in to the simulated Oktell", Duration::from_secs(30), || {
        let state = control(&control_api, "GET", "/state", None);
        let connections = state["connections"].as_array()?.clone();
        connections.iter().any(|c| c["login"] == "op1").then_some(())
    });
    wait_for("op1's phone to register", Duration::from_secs(30), || {
        let sip = control(&control_api, "GET", "/sip", None);
        let bindings = sip["registrations"].as_array()?.clone();
        bindings.iter().any(|binding| binding["login"] == "op1").then_some(())
    });
    std::thread::sleep(IDLE);
    let memory = Memory::of(app.id());
    drop(app);
    drop(sim);
    drop(sim_output);
    memory
}

/// A workstation's configuration (op1, number 101, on the simulated world's addresses) and its saved passwords.
fn write_configuration(home: &Path, oktell: &str, sip: &str, creatio: &str) {
    let config = home.join("config").join("oktell-panel");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[oktell]\nurls = [\"{oktell}\"]\nlogin = \"op1\"\n\n\
             [sip]\nuri = \"sip:101@127.0.0.1\"\nregistrar = \"sip:{sip}\"\n\n\
             [creatio]\nurl = \"{creatio}\"\nuser = \"op1\"\n\n\
             [secrets]\nstore = \"file\"\n"
        ),
    )
    .unwrap();
    let data = home.join("data").join("oktell-panel");
    std::fs::create_dir_all(&data).unwrap();
    let mut secrets = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(data.join("secrets.toml"))
        .unwrap();
    secrets
        .write_all(b"\"oktell:op1\" = \"demo\"\n\"creatio:op1\" = \"demo\"\n\"sip:sip:101@127.0.0.1\" = \"demo\"\n")
        .unwrap();
}

/// Proportional set sizes in KiB of the app process and of the processes below it (WebKit's web and network
/// processes).
#[derive(Debug)]
struct Memory {
    app: u64,
    web: Vec<u64>,
    network: Vec<u64>,
    other: Vec<u64>,
}

impl Memory {
    fn of(app: u32) -> Memory {
        let mut memory = Memory {
            app: pss_kib(app),
            web: Vec::new(),
            network: Vec::new(),
            other: Vec::new(),
        };
        for pid in descendants(app) {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let bucket = if name.starts_with("WebKitWebProces") {
                &mut memory.web
            } else if name.starts_with("WebKitNetworkPr") {
                &mut memory.network
            } else {
                &mut memory.other
            };
            bucket.push(pss_kib(pid));
        }
        memory
    }

    /// The rows of one mode: app, web processes, network process, all children, total; `goals` in that order.
    fn rows(&self, mode: &str, goals: [&'static str; 5]) -> Vec<(String, String, &'static str)> {
        let mb = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
        let children: u64 = self.web.iter().chain(&self.network).chain(&self.other).sum();
        let named = |what: String, kib: u64, goal| (format!("idle memory, {mode}: {what} PSS (MB)"), mb(kib), goal);
        let mut rows = vec![
            named("app process".into(), self.app, goals[0]),
            named(
                format!("WebKit web processes ({})", self.web.len()),
                self.web.iter().sum(),
                goals[1],
            ),
            named(
                format!("WebKit network processes ({})", self.network.len()),
                self.network.iter().sum(),
                goals[2],
            ),
        ];
        if !self.other.is_empty() {
            rows.push(named(
                format!("other child processes ({})", self.other.len()),
                self.other.iter().sum(),
                "",
            ));
        }
        rows.push(named("WebKit processes".into(), children, goals[3]));
        rows.push(named("total".into(), self.app + children, goals[4]));
        rows
    }
}

fn pss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut index = 0;
    while let Some(&parent) = found.get(index) {
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        index += 1;
    }
    found.retain(|pid| *pid != root);
    found
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(1)?.parse().ok()
}
