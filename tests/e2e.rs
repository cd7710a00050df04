//! End-to-end tests of the real app window: the release-shaped binary under a private Xvfb, driven through
//! tauri-driver and WebKitWebDriver. Each test owns its display, driver, app and configuration folder, and all of
//! them stop when the test ends, passing or failing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use support::display::Display;
use support::wait_for;
use support::webdriver::{Driver, Session};
use support::x11::{self, Tray};

/// One app at a time: each brings up a display, a tray, WebKit and the app, and on two cores several at once
/// starve each other into timeouts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One running app. Fields drop in order: the session (closes the app), the driver, the tray, the display, the
/// folders, and last the turn.
struct App {
    session: Session,
    _driver: Driver,
    _tray: Tray,
    display: Display,
    home: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl App {
    /// Launches the app with an empty configuration (the demo world) in a fresh home.
    fn launch(test: &str) -> App {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let output = support::output_dir(test);
        let home = tempfile::tempdir().expect("a temporary home");
        let config = home.path().join("config");
        let data = home.path().join("data");
        let display = Display::start();
        let tray = Tray::start(&display);
        let driver = Driver::start(&display, &[("XDG_CONFIG_HOME", &config), ("XDG_DATA_HOME", &data)]);
        let session = driver.launch(Path::new(env!("CARGO_BIN_EXE_oktell-panel")), &[], &output);
        App {
            session,
            _driver: driver,
            _tray: tray,
            display,
            home,
            _turn: turn,
        }
    }

    fn config_file(&self) -> PathBuf {
        self.home.path().join("config").join("oktell-panel").join("config.toml")
    }
}

#[test]
fn the_panel_opens_in_demo_mode() {
    let app = App::launch("panel_opens");
    assert_eq!(app.session.title(), "Oktell Panel");
    let badge = app.session.find("#mode");
    wait_for("the demo badge", Duration::from_secs(10), || {
        badge.displayed().then_some(())
    });
    assert_eq!(badge.text(), "Demo");
    let systems = app.session.find("#systems");
    wait_for("the three systems", Duration::from_secs(10), || {
        let text = systems.text();
        (text.contains("Oktell") && text.contains("Phone") && text.contains("Creatio")).then_some(())
    });
    let shot = app.session.screenshot("panel");
    assert!(
        std::fs::metadata(&shot).map(|meta| meta.len() > 1000).unwrap_or(false),
        "empty screenshot {shot:?}"
    );
    eprintln!("panel screenshot: {}", shot.display());
}

#[test]
fn the_diagnostics_button_round_trips_a_command() {
    let app = App::launch("diagnostics");
    let facts = app.session.find("#diagnostics");
    assert!(!facts.displayed(), "diagnostics show before they are asked for");
    app.session.find("#diagnostics-button").click();
    let text = wait_for("the diagnostics", Duration::from_secs(10), || {
        let text = facts.text();
        text.contains(env!("CARGO_PKG_VERSION")).then_some(text)
    });
    let config_file = app.config_file();
    assert!(
        text.contains(&config_file.display().to_string()),
        "config path missing from {text:?}"
    );
    assert!(text.contains("Tray icon"), "{text:?}");
}

#[test]
fn closing_hides_the_panel_to_the_tray_and_the_tray_menu_brings_it_back() {
    let app = App::launch("close_to_tray");
    let panel_visible = || !x11::visible_windows(&app.display, "^Oktell Panel$").is_empty();
    wait_for("the panel window", Duration::from_secs(10), || {
        panel_visible().then_some(())
    });
    let icon = wait_for("the tray icon to dock", Duration::from_secs(10), || {
        x11::find_in_tree(&app.display, "(\"tray-icon tray app main\"")
            .into_iter()
            .find(|icon| icon.x >= 0)
    });

    // Asked after the script returns, so WebDriver's reply is not lost with the window's visibility.
    app.session
        .execute("setTimeout(() => window.__TAURI__.window.getCurrentWindow().close(), 0); return true;");
    wait_for("the panel to hide", Duration::from_secs(10), || {
        (!panel_visible()).then_some(())
    });
    assert_eq!(app.session.title(), "Oktell Panel", "the app quit instead of hiding");

    x11::click_centre(&app.display, icon);
    let menu = wait_for("the tray menu", Duration::from_secs(10), || {
        x11::find_in_tree(&app.display, "\"oktell-panel\": (\"oktell-panel\"")
            .into_iter()
            .find(|window| window.width > 50 && window.height > 40 && window.y >= 0)
    });
    x11::click(&app.display, (menu.x + menu.width / 2, menu.y + 16));
    wait_for("the panel to show again", Duration::from_secs(10), || {
        panel_visible().then_some(())
    });
    app.session.screenshot("shown_again");
}

#[test]
fn xwininfo_tree_lines_parse() {
    use support::x11::{Geometry, parse_tree_line};
    let line = "        0x400028 \"oktell-panel\": (\"tray-icon tray app main\" \"x\")  24x24+8+4  +9+5";
    assert_eq!(
        parse_tree_line(line),
        Some(Geometry {
            x: 9,
            y: 5,
            width: 24,
            height: 24
        })
    );
    let hidden = "     0x400038 \"oktell-panel\": ()  10x10+-100+-100  +-100+-100";
    assert_eq!(
        parse_tree_line(hidden),
        Some(Geometry {
            x: -100,
            y: -100,
            width: 10,
            height: 10
        })
    );
}
