//! The command line as an administrator and a test script use it: the binary itself, run as a child process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::process::Owned;

fn panel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oktell-panel"))
}

/// A home with its own config and data folders, so no test touches the real ones.
fn isolated<'a>(command: &'a mut Command, home: &std::path::Path) -> &'a mut Command {
    command
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("RUST_LOG", "warn")
}

#[test]
fn version_names_the_program() {
    let output = panel().arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("oktell-panel {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_names_the_wrong_field_and_fails() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "[sip]\nuri = \"101@pbx\"\n").unwrap();
    let output = isolated(&mut panel(), home.path())
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`sip.uri`"), "{stderr}");

    let output = isolated(&mut panel(), home.path()).arg("check").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("demo world"));
}

#[test]
fn a_saved_creatio_password_is_used_and_an_unreachable_creatio_is_reported() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let closed = support::process::free_port();
    std::fs::write(
        &config,
        format!("[creatio]\nurl = \"http://127.0.0.1:{closed}\"\nuser = \"op1\"\n[secrets]\nstore = \"file\"\n"),
    )
    .unwrap();

    let output = isolated(&mut panel(), home.path())
        .arg("--config")
        .arg(&config)
        .args(["creatio", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a missing password is a setup error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("secret set creatio"));

    let mut child = isolated(&mut panel(), home.path())
        .arg("--config")
        .arg(&config)
        .args(["secret", "set", "creatio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let secrets = home.path().join("data/oktell-panel/secrets.toml");
    assert!(std::fs::read_to_string(&secrets).unwrap().contains("s3cret"));

    let output = isolated(&mut panel(), home.path())
        .arg("--config")
        .arg(&config)
        .args(["creatio", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("FAIL") && report.contains("cannot be reached"),
        "{report}"
    );
    assert!(!report.contains("s3cret") && !String::from_utf8_lossy(&output.stderr).contains("s3cret"));
}

#[test]
fn sim_prints_its_endpoints_serves_the_control_api_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let mut command = panel();
    isolated(&mut command, home.path())
        .args([
            "sim",
            "--quiet",
            "--oktell-port",
            "0",
            "--control-port",
            "0",
            "--creatio-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut sim = Owned::spawn("oktell-panel sim", &mut command);
    let mut line = String::new();
    BufReader::new(sim.take_stdout().unwrap()).read_line(&mut line).unwrap();
    let endpoints: serde_json::Value = serde_json::from_str(&line).unwrap();
    let oktell = endpoints["oktell"].as_str().unwrap();
    assert!(oktell.starts_with("ws://127.0.0.1:"), "{oktell}");
    let creatio = endpoints["creatio"].as_str().unwrap();
    assert!(creatio.starts_with("http://127.0.0.1:"), "{creatio}");
    let control = endpoints["control"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();

    let mut stream = TcpStream::connect(&control).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /state HTTP/1.0\r\nHost: {control}\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
        "{reply}"
    );
    let body = reply.split_once("\r\n\r\n").unwrap().1;
    let state: serde_json::Value = serde_json::from_str(body).unwrap();
    let logins: Vec<&str> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|user| user["login"].as_str())
        .collect();
    assert!(logins.contains(&"op1") && logins.contains(&"op2"), "{logins:?}");

    sim.stop(Duration::from_secs(10));
    assert!(
        sim.exited().is_some_and(|status| status.success()),
        "sim did not exit cleanly on SIGTERM"
    );
}

#[test]
fn phone_prints_json_events_and_stops_after_its_duration() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(&mut panel(), home.path())
        .args([
            "phone",
            "--account",
            "sip:101@127.0.0.1",
            "--no-password",
            "--no-register",
        ])
        .args([
            "--bind",
            "127.0.0.1:0",
            "--rtp-bind",
            "127.0.0.1:0",
            "--duration",
            "0.5",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(events.iter().any(|event| event["event"] == "started"), "{events:?}");

    let output = isolated(&mut panel(), home.path())
        .args(["phone", "--account", "101@pbx"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("sip:101@pbx.local"));
}
