//! The Creatio stand-in over real HTTP on loopback: a plain HTTP/1.1 client for the wire-level
//! rules and fault injection, and the `creatio` crate's own `Session`, `Identifier` and `Outbox`
//! driven by a small driver in this file, and nested `$expand` as OData 4 writes it.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client_crate;
mod nested_expand;
mod wire;

use std::time::Duration;

use sim::{RunningSim, SimOptions, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn start(world: World) -> RunningSim {
    sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world,
        seed: 3,
    })
    .await
    .unwrap()
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Why no answer came.
#[derive(Debug)]
pub enum NoAnswer {
    Closed,
    Io(std::io::Error),
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
pub async fn http(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, NoAnswer> {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).await.map_err(NoAnswer::Io)?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(NoAnswer::Io)?;
    stream.write_all(body).await.map_err(NoAnswer::Io)?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| NoAnswer::Closed)?
        .map_err(NoAnswer::Io)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(NoAnswer::Closed)?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(NoAnswer::Closed)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// Control API call.
pub async fn control(sim: &RunningSim, method: &str, path: &str, body: &str) -> serde_json::Value {
    let answer = http(&sim.endpoints().control, method, path, &[], body.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", String::from_utf8_lossy(&answer.body));
    answer.json()
}
