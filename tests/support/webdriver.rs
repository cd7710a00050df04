//! A small W3C WebDriver client over std's TcpStream, driving the real app through tauri-driver and
//! WebKitWebDriver. No browser-automation crate: fantoccini would pull a second copy of the Tauri dependency tree
//! into the test build (see shared/reference/build-and-test.md §2).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::display::Display;
use super::process::{Owned, free_port};
use super::wait_for;

/// The WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// tauri-driver on free ports, on a given display.
#[derive(Debug)]
pub struct Driver {
    port: u16,
    process: Owned,
}

impl Driver {
    /// Starts tauri-driver (cargo install tauri-driver) with `env` added to what the app will inherit.
    pub fn start(display: &Display, env: &[(&str, &Path)]) -> Driver {
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(tauri_driver());
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display.name);
        for (key, value) in env {
            command.env(key, value);
        }
        let process = Owned::spawn("tauri-driver (cargo install tauri-driver --locked)", &mut command);
        // tauri-driver listens before its WebKitWebDriver child does; a session request in between gets an empty
        // reply, so wait for both.
        for (what, port) in [("tauri-driver", port), ("WebKitWebDriver", native_port)] {
            wait_for(&format!("{what} to listen"), Duration::from_secs(20), || {
                TcpStream::connect(("127.0.0.1", port)).ok()
            });
        }
        Driver { port, process }
    }

    /// Launches the app binary with `args` and opens a WebDriver session on its first window.
    pub fn launch(&self, application: &Path, args: &[&str], output: &Path) -> Session {
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "wry",
                "tauri:options": {"application": application, "args": args}
            }}
        });
        let reply = request(self.port, "POST", "/session", Some(&capabilities));
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {reply}"))
            .to_owned();
        Session {
            port: self.port,
            id,
            output: output.to_path_buf(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.process.stop(Duration::from_secs(5));
    }
}

fn tauri_driver() -> PathBuf {
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin").join("tauri-driver"));
    in_cargo_home
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// One app under WebDriver control. Dropping it closes the app; if the test is failing, a screenshot is saved
/// first as `failure.png` in the test's output folder.
#[derive(Debug)]
pub struct Session {
    port: u16,
    id: String,
    output: PathBuf,
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        request(self.port, method, &format!("/session/{}{path}", self.id), body)
    }

    /// The window title.
    pub fn title(&self) -> String {
        self.call("GET", "/title", None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Finds one element by CSS selector, waiting up to 10 s for it to appear.
    pub fn find(&self, css: &str) -> Element<'_> {
        let id = wait_for(&format!("element {css}"), Duration::from_secs(10), || {
            let reply = self.call(
                "POST",
                "/element",
                Some(&json!({"using": "css selector", "value": css})),
            );
            reply["value"][ELEMENT].as_str().map(str::to_owned)
        });
        Element { session: self, id }
    }

    /// Runs a script in the page and returns its value.
    pub fn execute(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(&json!({"script": script, "args": []})))["value"].clone()
    }

    /// Saves a PNG screenshot of the window as `<name>.png` in the output folder and returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine as _;
        let reply = self.call("GET", "/screenshot", None);
        let encoded = reply["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no screenshot in {reply}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("screenshot is base64");
        let path = self.output.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let shot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.screenshot("failure")));
            if let Ok(path) = shot {
                eprintln!("screenshot of the failing window: {}", path.display());
            }
        }
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            request(self.port, "DELETE", &format!("/session/{}", self.id), None)
        }));
    }
}

/// An element of the page.
#[derive(Debug)]
pub struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Element<'_> {
    /// Clicks it.
    pub fn click(&self) {
        self.session
            .call("POST", &format!("/element/{}/click", self.id), Some(&json!({})));
    }

    /// Types `text` into it, as the keyboard would.
    pub fn send_keys(&self, text: &str) {
        self.session.call(
            "POST",
            &format!("/element/{}/value", self.id),
            Some(&json!({"text": text})),
        );
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        self.session.call("GET", &format!("/element/{}/text", self.id), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether it is displayed.
    pub fn displayed(&self) -> bool {
        self.session
            .call("GET", &format!("/element/{}/displayed", self.id), None)["value"]
            .as_bool()
            .unwrap_or(false)
    }
}

/// One HTTP/1.0 exchange: the server closes the connection after the reply, so there is no chunking to undo.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to tauri-driver");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("set a read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the WebDriver request");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read the WebDriver reply");
    let text = String::from_utf8_lossy(&reply);
    let (head, json) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("malformed WebDriver reply to {method} {path}: {text:?}"));
    let value: Value =
        serde_json::from_str(json).unwrap_or_else(|err| panic!("WebDriver reply is not JSON ({err}): {json}"));
    let status_ok = head.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2'));
    if !status_ok && method != "DELETE" && !path.ends_with("/element") {
        panic!("WebDriver {method} {path} failed: {head}\n{value}");
    }
    value
}
