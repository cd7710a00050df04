//! The simulated world as the suites and benches drive it: its control API and a world without background
//! activity.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// The sample world without its background callers and presence changes, which would ring the operator in the
/// middle of a test or a measurement.
pub fn quiet_world() -> String {
    let example = include_str!("../../crates/sim/world.example.toml");
    let background = ["incoming_call_every_ms", "presence_change_every_ms"];
    let quiet: Vec<&str> = example
        .lines()
        .filter(|line| !background.iter().any(|key| line.starts_with(key)))
        .collect();
    assert_eq!(
        quiet.len() + 2,
        example.lines().count(),
        "the sample world's [activity] changed"
    );
    quiet.join("\n")
}

/// The control address of the demo world started by an app whose data folder (`XDG_DATA_HOME`) is `data`, from
/// the endpoints file the demo writes.
pub fn demo_control(data: &Path) -> String {
    let file = data.join("oktell-panel").join("demo-endpoints.json");
    let endpoints: Value = super::wait_for("the demo endpoints file", Duration::from_secs(20), || {
        serde_json::from_str(&std::fs::read_to_string(&file).ok()?).ok()
    });
    endpoints["control"].as_str().expect("a control address").to_owned()
}

/// One request to the simulator's control API (HTTP/1.0: the answer is the body up to the close).
pub fn control(base: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let address = base.strip_prefix("http://").expect("an http:// control address");
    let mut stream = TcpStream::connect(address).expect("connect to the control API");
    stream
        .set_nodelay(true)
        .expect("no Nagle delay on the control connection");
    let body = body.map(|body| body.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the reply");
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{method} {path}: {head}\n{body}"
    );
    serde_json::from_str(body).expect("a JSON body")
}
