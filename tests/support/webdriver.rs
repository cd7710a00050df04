//! A small W3C WebDriver client over std's TcpStream, driving the real app through tauri-driver and
//! WebKitWebDriver. No browser-automation crate: fantoccini would pull a second copy of the Tauri dependency tree
//! into the test build (see shared/reference/build-and-test.md §2).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::display::Display;
use super::process::{Owned, free_port};
use super::wait_for;

/// The WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How many times a driver that failed before the app was launched is replaced by a fresh one.
const DRIVER_ATTEMPTS: usize = 3;

/// tauri-driver on free ports, on a given display. Its output, and so the app's log, goes to a file in the test's
/// output folder; the tail of it is printed when the test fails.
#[derive(Debug)]
pub struct Driver {
    port: u16,
    process: Owned,
    log: PathBuf,
}

impl Driver {
    /// Starts tauri-driver (cargo install tauri-driver) with `env` added to what the app will inherit and opens a
    /// session on `application` started with `args`.
    ///
    /// A driver that dies or answers nothing before the app is launched (a free port taken by another process in
    /// between, WebKitWebDriver failing to start on a loaded machine) is the test rig's failure, not the app's: it
    /// is replaced by a fresh one on fresh ports, up to three times, and every failure is printed. An error reply
    /// to the session request (the app did not start) fails the test at once.
    pub fn open<V: AsRef<OsStr>>(
        display: &Display,
        env: &[(&str, V)],
        application: &Path,
        args: &[&str],
        output: &Path,
    ) -> (Driver, Session) {
        let mut failures = Vec::new();
        for attempt in 1..=DRIVER_ATTEMPTS {
            let log = output.join(format!("driver-{attempt}.log"));
            let mut driver = Driver::start(display, env, log);
            let opened = driver.ready().and_then(|()| driver.session(application, args, output));
            match opened {
                Ok(session) => return (driver, session),
                Err(failure) => {
                    let failure = format!("attempt {attempt}: {failure}\n{}", driver.log_tail(30));
                    eprintln!("tauri-driver failed, {failure}");
                    failures.push(failure);
                }
            }
        }
        panic!(
            "no WebDriver session after {DRIVER_ATTEMPTS} drivers:\n{}",
            failures.join("\n")
        );
    }

    fn start<V: AsRef<OsStr>>(display: &Display, env: &[(&str, V)], log: PathBuf) -> Driver {
        let port = free_port();
        let native_port = free_port();
        let log_file = File::create(&log).expect("create the driver log");
        let mut command = Command::new(tauri_driver());
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display.name)
            .stdout(log_file.try_clone().expect("share the driver log"))
            .stderr(log_file);
        for (key, value) in env {
            command.env(key, value);
        }
        let process = Owned::spawn("tauri-driver (cargo install tauri-driver --locked)", &mut command);
        Driver { port, process, log }
    }

    /// Waits until WebKitWebDriver answers `/status` through tauri-driver: both listen, on the ports we chose, and
    /// the one behind is a WebDriver.
    fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.process.exited() {
                return Err(format!("tauri-driver exited ({status})"));
            }
            let last = match exchange(self.port, "GET", "/status", None) {
                Ok((_, status)) if status["value"]["ready"] == json!(true) => return Ok(()),
                Ok((head, status)) => format!("{head} {status}"),
                Err(failure) => failure,
            };
            if Instant::now() > deadline {
                return Err(format!("not ready after 20 s: {last}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn session(&self, application: &Path, args: &[&str], output: &Path) -> Result<Session, String> {
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "wry",
                "tauri:options": {"application": application, "args": args}
            }}
        });
        let (head, reply) = exchange(self.port, "POST", "/session", Some(&capabilities))?;
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("the app did not start under WebDriver: {head}\n{reply}"))
            .to_owned();
        Ok(Session {
            port: self.port,
            id,
            output: output.to_path_buf(),
        })
    }

    /// The last `lines` lines the driver, WebKitWebDriver and the app printed.
    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.process.stop(Duration::from_secs(5));
        if std::thread::panicking() {
            eprintln!(
                "the end of what the app printed ({}):\n{}",
                self.log.display(),
                self.log_tail(80)
            );
        }
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

    /// Waits up to 20 s until `script` returns something other than null, false or an empty string.
    pub fn wait_script(&self, what: &str, script: &str) -> Value {
        wait_for(what, Duration::from_secs(20), || {
            let value = self.execute(script);
            let empty = value.is_null() || value == json!(false) || value == json!("");
            (!empty).then_some(value)
        })
    }

    /// The result of a Tauri command invoked from the current window: `{"ok": value}` or `{"error": reason}`.
    pub fn invoke(&self, command: &str, args: Value) -> Value {
        self.execute(&format!(
            "window.__result = undefined; window.__TAURI__.core.invoke({command:?}, {args}).then(\
             (value) => {{ window.__result = {{ok: value ?? null}}; }}, \
             (error) => {{ window.__result = {{error}}; }}); return null;"
        ));
        self.wait_script(&format!("the {command} command"), "return window.__result ?? null;")
    }

    /// Makes the window showing `page` (e.g. `/settings.html`) the one scripts run in, waiting up to 20 s for it.
    pub fn switch_to(&self, page: &str) {
        let mut seen = Vec::new();
        let found = (0..400).find_map(|_| {
            let handles = self.call("GET", "/window/handles", None)["value"].clone();
            let found = handles.as_array()?.iter().find_map(|handle| {
                self.call("POST", "/window", Some(&json!({"handle": handle})));
                let location = self.execute("return location.href;");
                // The panel is the app's root page: `tauri://localhost` (or `.../index.html`).
                let here = location.as_str().is_some_and(|href| {
                    href.ends_with(page) || (page == "/index.html" && href.trim_end_matches('/').ends_with("localhost"))
                });
                if seen.len() < 8 {
                    seen.push(location);
                }
                here.then_some(())
            });
            if found.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            found
        });
        assert!(found.is_some(), "no window shows {page}; seen {seen:?}");
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
/// Returns the status line and the JSON body; an error when no HTTP reply with a JSON body came back.
fn exchange(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(String, Value), String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|err| format!("connect to tauri-driver: {err}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|err| format!("set a read timeout: {err}"))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|err| format!("send {method} {path}: {err}"))?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .map_err(|err| format!("read the reply to {method} {path}: {err}"))?;
    let text = String::from_utf8_lossy(&reply);
    let (head, json) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("malformed WebDriver reply to {method} {path}: {text:?}"))?;
    let value: Value =
        serde_json::from_str(json).map_err(|err| format!("WebDriver reply is not JSON ({err}): {json}"))?;
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    Ok((status_line, value))
}

/// [`exchange`] for a test step: anything but a 2xx reply fails the test (DELETE and element lookups, which
/// tests poll, excepted).
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let (head, value) = exchange(port, method, path, body).unwrap_or_else(|failure| panic!("{failure}"));
    let status_ok = head.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2'));
    if !status_ok && method != "DELETE" && !path.ends_with("/element") {
        panic!("WebDriver {method} {path} failed: {head}\n{value}");
    }
    value
}
