//! Start-up and idle-memory benchmark of the real app: the optimised binary under a private Xvfb, launched with a
//! fresh home (the demo world), measured from spawn until its panel window is mapped and the page has asked the
//! core for its first view; then, after it has idled, the memory of the app process and of its WebKit processes
//! (proportional set size, so libraries shared between them are not counted twice).
//!
//! Run through `scripts/dev bench`, which gathers every benchmark's rows into one table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::display::Display;
use support::process::Owned;
use support::x11;

const STARTS: usize = 5;
const IDLE: Duration = Duration::from_secs(5);

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("startup: bench");
        return;
    }
    let display = Display::start();
    let mut starts = Vec::new();
    let mut memory = None;
    for run in 0..STARTS {
        let (elapsed, app, home) = start_once(&display);
        starts.push(elapsed);
        if run == STARTS - 1 {
            std::thread::sleep(IDLE);
            memory = Some(idle_memory(app.id()));
        }
        drop(app);
        drop(home);
    }
    starts.sort();
    let median = starts[STARTS / 2];
    let worst = starts[STARTS - 1];
    let (core, webkit) = memory.expect("measured on the last run");
    bench_table::report(&[
        (
            "start to visible panel, median of 5 (ms)",
            format!("{}", median.as_millis()),
            "< 1000",
        ),
        (
            "start to visible panel, worst of 5 (ms)",
            format!("{}", worst.as_millis()),
            "< 1500",
        ),
        ("idle memory, app process PSS (MB)", format!("{:.1}", core), "<= 40"),
        (
            "idle memory, WebKit processes PSS (MB)",
            format!("{:.1}", webkit),
            "<= 160",
        ),
        ("idle memory, total PSS (MB)", format!("{:.1}", core + webkit), "<= 200"),
    ])
    .expect("write the bench table");
}

/// Starts the app and waits until its panel is mapped and its page has requested the first view.
fn start_once(display: &Display) -> (Duration, Owned, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oktell-panel"));
    command
        .env("DISPLAY", &display.name)
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("RUST_LOG", "oktell_panel=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
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
    let mapped = support::wait_for("the panel window", Duration::from_secs(30), || {
        (!x11::visible_windows(display, "^Oktell Panel$").is_empty()).then(Instant::now)
    });
    (rendered.max(mapped) - started, app, home)
}

/// Proportional set sizes in MB: the app process, and every process below it (WebKit's web and network
/// processes).
fn idle_memory(app: u32) -> (f64, f64) {
    let core = pss_kib(app);
    let webkit: u64 = descendants(app).into_iter().map(pss_kib).sum();
    (core as f64 / 1024.0, webkit as f64 / 1024.0)
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
