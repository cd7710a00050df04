//! The desktop around the app, seen and driven through X11 tools: an XEmbed system tray (wmsystemtray) so the
//! app's tray icon docks, and xdotool/xwininfo to find windows and click like an operator does.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::display::Display;
use super::process::Owned;
use super::wait_for;

/// A window's place on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Left edge, absolute.
    pub x: i32,
    /// Top edge, absolute.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

impl Geometry {
    fn centre(self) -> (i32, i32) {
        (self.x + self.width / 2, self.y + self.height / 2)
    }
}

/// A system tray on the display (apt install wmsystemtray xfonts-base).
#[derive(Debug)]
pub struct Tray {
    _process: Owned,
}

impl Tray {
    /// Starts the tray; start it before the app so the app's icon docks.
    pub fn start(display: &Display) -> Tray {
        let mut command = Command::new("wmsystemtray");
        command
            .args(["--non-wmaker", "--bgcolor", "gray"])
            .env("DISPLAY", &display.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = Owned::spawn("wmsystemtray (apt install wmsystemtray xfonts-base)", &mut command);
        wait_for("the system tray window", Duration::from_secs(10), || {
            find_in_tree(display, "(\"wmsystemtray0\"").first().copied()
        });
        Tray { _process: process }
    }
}

/// Every window in the display's tree whose line contains `needle`, with absolute geometry, as xwininfo prints it.
pub fn find_in_tree(display: &Display, needle: &str) -> Vec<Geometry> {
    let output = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .env("DISPLAY", &display.name)
        .output()
        .expect("run xwininfo (apt install x11-utils)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(parse_tree_line)
        .collect()
}

/// Parses `...  24x24+8+4  +9+5`: the size, then the absolute position last.
pub fn parse_tree_line(line: &str) -> Option<Geometry> {
    let mut words = line.split_whitespace().rev();
    let absolute = words.next()?;
    let relative = words.next()?;
    let (size, _) = relative.split_once(['+', '-'])?;
    let (width, height) = size.split_once('x')?;
    let (x, y) = split_signed_pair(absolute)?;
    Some(Geometry {
        x,
        y,
        width: width.parse().ok()?,
        height: height.parse().ok()?,
    })
}

/// `+9+5` -> (9, 5); `+-100+-100` -> (-100, -100).
fn split_signed_pair(text: &str) -> Option<(i32, i32)> {
    let rest = text.strip_prefix('+')?;
    let split = rest
        .char_indices()
        .skip(1)
        .find(|(_, ch)| *ch == '+')
        .map(|(index, _)| index)?;
    Some((rest[..split].parse().ok()?, rest[split + 1..].parse().ok()?))
}

/// The ids of the mapped windows whose title matches the regular expression `title`.
pub fn visible_windows(display: &Display, title: &str) -> Vec<String> {
    let output = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", title])
        .env("DISPLAY", &display.name)
        .output()
        .expect("run xdotool (apt install xdotool)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Clicks the left mouse button at an absolute position.
pub fn click(display: &Display, (x, y): (i32, i32)) {
    let status = Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .env("DISPLAY", &display.name)
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool click failed");
}

/// Clicks the centre of a window.
pub fn click_centre(display: &Display, window: Geometry) {
    click(display, window.centre());
}
