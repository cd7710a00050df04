//! A private X display (Xvfb) for tests that open windows; everything X-bound dies with it.

use std::io::Read;
use std::process::{Command, Stdio};

use super::process::Owned;

/// A running Xvfb server.
#[derive(Debug)]
pub struct Display {
    /// The `DISPLAY` value, e.g. `:5`.
    pub name: String,
    _server: Owned,
}

impl Display {
    /// Starts Xvfb on the first free display number; it reports the number it took on a pipe (`-displayfd`).
    pub fn start() -> Display {
        let mut command = Command::new("Xvfb");
        command
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut server = Owned::spawn("Xvfb (apt install xvfb)", &mut command);
        let mut stdout = server.take_stdout().expect("Xvfb stdout is piped");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
            number.push(char::from(byte[0]));
        }
        assert!(!number.trim().is_empty(), "Xvfb did not report a display number");
        let name = format!(":{}", number.trim());
        Display { name, _server: server }
    }
}
