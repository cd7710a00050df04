//! End-to-end tests of the desktop integration, in the real app under a private Xvfb and a private D-Bus session,
//! driven through tauri-driver and WebKitWebDriver: a second start with a `tel:` link hands it to the running panel,
//! the settings window saves the configuration file and a password, the language switch re-renders the windows,
//! and a global hotkey answers a call. Same conventions as `tests/e2e.rs`: one app at a time, everything stops
//! with the test, screenshots in `tests/output/<test>/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use support::display::Display;
use support::process::Owned;
use support::pulse::PulseDaemon;
use support::sim::{control, quiet_world};
use support::webdriver::{Driver, Session};
use support::{wait_for, x11};

/// One app at a time, as in `tests/e2e.rs`: on two cores several WebKits at once starve each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const APP: &str = env!("CARGO_BIN_EXE_oktell-panel");

/// A private session bus: the single-instance plugin finds the running panel through it.
struct SessionBus {
    address: String,
    _daemon: Owned,
}

impl SessionBus {
    fn start() -> SessionBus {
        let mut command = Command::new("dbus-daemon");
        command
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut daemon = Owned::spawn("dbus-daemon (apt install dbus)", &mut command);
        let stdout = daemon.take_stdout().expect("dbus-daemon stdout is piped");
        let mut address = String::new();
        BufReader::new(stdout)
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {address:?}");
        SessionBus {
            address,
            _daemon: daemon,
        }
    }
}

/// The running app with its display, bus, driver and folders. Fields drop in order: the session (closes the app),
/// the driver, the bus, the display, the folders, the turn.
struct App {
    session: Session,
    _driver: Driver,
    bus: SessionBus,
    display: Display,
    home: tempfile::TempDir,
    output: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl App {
    /// Starts the demo panel (`--demo`, quiet world) with `config` as its configuration file.
    fn launch(test: &str, config: &str) -> App {
        App::launch_with_env(test, config, Vec::new())
    }

    /// [`App::launch`] with `extra` added to the app's environment.
    fn launch_with_env(test: &str, config: &str, extra: Vec<(&'static str, String)>) -> App {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let output = support::output_dir(test);
        let home = tempfile::tempdir().expect("a temporary home");
        let config_file = home.path().join("config").join("oktell-panel").join("config.toml");
        std::fs::create_dir_all(config_file.parent().unwrap()).unwrap();
        std::fs::write(&config_file, config).unwrap();
        std::fs::write(home.path().join("world.toml"), quiet_world()).unwrap();
        let display = Display::start();
        let bus = SessionBus::start();
        let mut env = App::env_of(home.path(), &display, &bus);
        env.extend(extra);
        let (driver, session) = Driver::open(&display, &env, Path::new(APP), &["--demo"], &output);
        App {
            session,
            _driver: driver,
            bus,
            display,
            home,
            output,
            _turn: turn,
        }
    }

    /// What the app and a second start of it see: the display, the bus, the private folders, the quiet world.
    fn env_of(home: &Path, display: &Display, bus: &SessionBus) -> Vec<(&'static str, String)> {
        vec![
            ("DISPLAY", display.name.clone()),
            ("DBUS_SESSION_BUS_ADDRESS", bus.address.clone()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
            ("XDG_DATA_HOME", home.join("data").display().to_string()),
            ("OKTELL_PANEL_DEMO_WORLD", home.join("world.toml").display().to_string()),
        ]
    }

    fn execute(&self, script: &str) -> Value {
        self.session.execute(script)
    }

    fn wait_script(&self, what: &str, script: &str) -> Value {
        self.session.wait_script(what, script)
    }

    fn invoke(&self, command: &str, args: Value) -> Value {
        self.session.invoke(command, args)
    }

    fn switch_to(&self, page: &str) {
        self.session.switch_to(page);
    }

    fn click(&self, css: &str) {
        self.session.find(css).click();
    }

    fn text_of(&self, css: &str) -> String {
        self.execute(&format!("return document.querySelector({css:?})?.textContent ?? '';"))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The panel's current view, read from the main window.
    fn view(&self) -> Value {
        self.switch_to("/index.html");
        self.invoke("get_view", json!({}))["ok"].clone()
    }

    fn wait_for_oktell(&self) {
        wait_for("the demo panel to log in to Oktell", Duration::from_secs(30), || {
            let view = self.view();
            (view["health"]["oktell"]["state"] == "ok").then_some(())
        });
    }

    fn screen_shot(&self, name: &str) -> PathBuf {
        let file = self.output.join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.display.name, "-window", "root"])
            .arg(&file)
            .status()
            .expect("ImageMagick's import");
        assert!(status.success(), "import failed: {status}");
        file
    }

    fn config_file(&self) -> PathBuf {
        self.home.path().join("config").join("oktell-panel").join("config.toml")
    }

    fn control(&self) -> String {
        support::sim::demo_control(&self.home.path().join("data"))
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

const ENGLISH: &str = "[behaviour]\nlanguage = \"en\"\n";

#[test]
fn a_second_start_with_a_tel_link_dials_through_the_running_panel_and_exits() {
    let app = App::launch("second_instance_link", ENGLISH);
    app.wait_for_oktell();

    let mut second = Command::new(APP);
    second
        .arg("tel:+7%20999%20123-45-67")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in App::env_of(app.home.path(), &app.display, &app.bus) {
        second.env(key, value);
    }
    let mut second = Owned::spawn("a second oktell-panel", &mut second);
    let status = wait_for("the second start to exit", Duration::from_secs(30), || second.exited());
    let mut stderr = String::new();
    if let Some(mut pipe) = second.take_stderr() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(status.success(), "the second start failed ({status}): {stderr}");

    let view = wait_for("the panel to dial the link's number", Duration::from_secs(20), || {
        let view = app.view();
        let number = view["call"]["party"]["number"].as_str().map(digits)?;
        number.ends_with("9991234567").then_some(view)
    });
    assert_eq!(view["call"]["direction"], "outgoing", "{view}");
    let shown = app.text_of("body");
    assert!(
        digits(&shown).contains("9991234567"),
        "the panel does not show the number: {shown}"
    );
    app.screen_shot("panel_dialling_the_link");
}

#[test]
fn the_settings_window_saves_the_file_keeps_its_comments_and_stores_the_password() {
    let config = "# Workstation 12, set up by IT.\n[oktell]\n# The PBX of the second floor.\nurls = [\"ws://127.0.0.1:9\"]\nlogin = \"op7\"\n\n[behaviour]\nlanguage = \"en\"\n\n[secrets]\nstore = \"file\"\n";
    let app = App::launch("settings_window", config);
    app.switch_to("/index.html");
    app.click("#settings-button");
    app.switch_to("/settings.html");
    app.wait_script(
        "the form to show the configured login",
        "return document.getElementById('oktell-login').value === 'op7';",
    );
    assert_eq!(app.text_of("#settings-title"), "Settings");
    assert_eq!(
        app.execute("return document.getElementById('oktell-password').placeholder;"),
        json!("not saved")
    );

    app.execute(
        "document.getElementById('oktell-login').value = 'op8'; \
         document.getElementById('oktell-password').value = 'correct horse'; \
         document.getElementById('behaviour-ring-popup').checked = false; \
         document.getElementById('hotkey-answer').value = 'Ctrl+Shift+F9'; return null;",
    );
    app.click("#save");
    let status = app.wait_script(
        "the save to finish",
        "const s = document.getElementById('status').textContent; return s.startsWith('Saved') || s.startsWith('Not') ? s : null;",
    );
    assert_eq!(
        status,
        json!("Saved. Restart the panel to apply: servers and accounts.")
    );
    assert_eq!(
        app.execute("return document.getElementById('oktell-password').placeholder;"),
        json!("saved")
    );
    assert_eq!(
        app.execute("return document.getElementById('oktell-password').value;"),
        json!("")
    );
    assert_eq!(app.text_of("#hotkey-answer-state"), "active");

    let saved = std::fs::read_to_string(app.config_file()).unwrap();
    for line in [
        "# Workstation 12, set up by IT.",
        "# The PBX of the second floor.",
        "login = \"op8\"",
        "ring_popup = false",
        "answer = \"Ctrl+Shift+F9\"",
        "store = \"file\"",
    ] {
        assert!(saved.contains(line), "`{line}` missing from the saved file:\n{saved}");
    }
    let secrets_file = app.home.path().join("data").join("oktell-panel").join("secrets.toml");
    let secrets = std::fs::read_to_string(&secrets_file).unwrap();
    assert!(secrets.contains("\"oktell:op8\" = \"correct horse\""), "{secrets}");
    assert!(
        !saved.contains("correct horse"),
        "the password went into the configuration file"
    );
    let shown = app.execute("return document.documentElement.outerHTML;");
    assert!(
        !shown.as_str().unwrap().contains("correct horse"),
        "the password came back to the window"
    );

    app.execute("document.getElementById('hotkey-hold').value = 'Ctrl+Nope'; return null;");
    app.click("#save");
    let refused = app.wait_script(
        "the invalid hotkey to be refused",
        "const s = document.getElementById('status').textContent; return s.startsWith('Not saved') ? s : null;",
    );
    assert!(refused.as_str().unwrap().contains("hotkeys.hold"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(app.config_file()).unwrap(),
        saved,
        "a refused form was written"
    );
    app.screen_shot("settings");
}

#[test]
fn switching_the_language_re_renders_the_settings_and_the_popup_and_is_kept() {
    let app = App::launch("language_switch", ENGLISH);
    app.switch_to("/popup.html");
    app.wait_script(
        "the popup in English",
        "return document.getElementById('answer').textContent === 'Answer';",
    );
    app.switch_to("/index.html");
    app.invoke("open_settings", json!({}));
    app.switch_to("/settings.html");
    app.wait_script(
        "the settings in English",
        "return document.getElementById('settings-title').textContent === 'Settings';",
    );

    app.execute(
        "const select = document.getElementById('language'); select.value = 'ru'; \
         select.dispatchEvent(new Event('change')); return null;",
    );
    app.wait_script(
        "the settings in Russian",
        "return document.getElementById('settings-title').textContent === 'Настройки';",
    );
    assert_eq!(app.text_of("#save"), "Сохранить");
    assert_eq!(app.execute("return document.documentElement.lang;"), json!("ru"));
    app.switch_to("/popup.html");
    app.wait_script(
        "the popup in Russian",
        "return document.getElementById('answer').textContent === 'Ответить';",
    );
    let saved = std::fs::read_to_string(app.config_file()).unwrap();
    assert!(saved.contains("language = \"ru\""), "{saved}");
    app.switch_to("/index.html");
    app.wait_script(
        "the panel's words in Russian",
        "return (document.querySelector('#systems [data-system=sip]')?.textContent ?? '').includes('Телефон');",
    );

    app.switch_to("/settings.html");
    app.execute(
        "const select = document.getElementById('language'); select.value = 'en'; \
         select.dispatchEvent(new Event('change')); return null;",
    );
    app.switch_to("/popup.html");
    app.wait_script(
        "the popup in English again",
        "return document.getElementById('answer').textContent === 'Answer';",
    );
    assert!(
        std::fs::read_to_string(app.config_file())
            .unwrap()
            .contains("language = \"en\"")
    );
}

/// Ctrl+Shift rather than the default Ctrl+Alt: Xvfb's default keymap has no Alt on a modifier xdotool presses
/// for the grab, so Ctrl+Alt shortcuts register but never fire there (they do on a real desktop).
#[test]
fn the_answer_hotkey_answers_a_ringing_call() {
    let app = App::launch(
        "answer_hotkey",
        &format!("{ENGLISH}[hotkeys]\nanswer = \"Ctrl+Shift+F7\"\n"),
    );
    app.wait_for_oktell();
    let control_api = app.control();
    let created = control(
        &control_api,
        "POST",
        "/calls",
        Some(json!({"from": "89260001122", "to": "101"})),
    );
    let call = created["call"].as_u64().expect("a call id");
    wait_for("the call to ring in the panel", Duration::from_secs(20), || {
        (app.view()["call"]["state"] == "ringing").then_some(())
    });
    let pressed = Command::new("xdotool")
        .args(["key", "--clearmodifiers", "ctrl+shift+F7"])
        .env("DISPLAY", &app.display.name)
        .status()
        .expect("xdotool (apt install xdotool)");
    assert!(pressed.success());
    wait_for("the simulator to connect the call", Duration::from_secs(15), || {
        let state = control(&control_api, "GET", "/state", None);
        state["calls"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == call && c["state"] == "talking")
            .then_some(())
    });
}

/// With the popup turned off, a ringing call is announced as a desktop notification: the `Notify` call on the
/// session bus is watched with dbus-monitor (no notification daemon is needed to see it leave).
#[test]
fn with_the_popup_off_a_ringing_call_becomes_a_desktop_notification() {
    let app = App::launch("ringing_notification", &format!("{ENGLISH}ring_popup = false\n"));
    app.wait_for_oktell();
    let mut command = Command::new("dbus-monitor");
    command
        .args([
            "--address",
            &app.bus.address,
            "interface='org.freedesktop.Notifications'",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut monitor = Owned::spawn("dbus-monitor (apt install dbus)", &mut command);
    let seen = Arc::new(Mutex::new(String::new()));
    let stdout = monitor.take_stdout().expect("dbus-monitor stdout is piped");
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut seen = sink.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push_str(&line);
            seen.push('\n');
        }
    });
    wait_for("dbus-monitor to listen", Duration::from_secs(10), || {
        (!seen.lock().unwrap_or_else(PoisonError::into_inner).is_empty()).then_some(())
    });

    control(
        &app.control(),
        "POST",
        "/calls",
        Some(json!({"from": "89260001122", "to": "101"})),
    );
    wait_for("the call to ring in the panel", Duration::from_secs(20), || {
        (app.view()["call"]["state"] == "ringing").then_some(())
    });
    let notified = wait_for("the Notify call on the session bus", Duration::from_secs(10), || {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (seen.contains("member=Notify") && seen.contains("\"Incoming call\"")).then_some(seen)
    });
    assert!(
        digits(&notified).contains("9260001122"),
        "the caller is not in the notification:\n{notified}"
    );
    assert!(
        x11::visible_windows(&app.display, "^Incoming call").is_empty(),
        "the popup showed although it is turned off"
    );
}

/// The settings window's audio check on real streams: a private PulseAudio whose default sink's monitor is the
/// default microphone, so the ringer's test sound comes back to the level meter. The chime is found in a recording
/// of the sink, and the meter moves while it plays.
#[test]
fn the_settings_test_sound_plays_the_ringtone_and_the_microphone_meter_moves() {
    let pulse = PulseDaemon::start();
    let app = App::launch_with_env("settings_audio_check", ENGLISH, pulse.env());
    app.switch_to("/index.html");
    app.click("#settings-button");
    app.switch_to("/settings.html");
    app.wait_script(
        "the meter to open the default microphone",
        "return document.getElementById('audio-level-note').textContent.startsWith('Speak') ? true : \
         document.getElementById('audio-level-note').textContent.startsWith('No level') ? \
         document.getElementById('audio-level-note').textContent : null;",
    )
    .as_bool()
    .unwrap_or_else(|| panic!("the meter did not open: {}", app.text_of("#audio-level-note")));

    let recording = app.output.join("ringer.wav");
    let mut command = pulse.command("parecord");
    command
        .args([
            "--device=ci_headset.monitor",
            "--rate=48000",
            "--channels=1",
            "--format=s16le",
            "--file-format=wav",
        ])
        .arg(&recording);
    let mut recorder = Owned::spawn("parecord (apt install pulseaudio-utils)", &mut command);
    // parecord takes a moment to connect: the chime must not start before the recording does (a quarter of a
    // second of audio on disk says it runs).
    wait_for("parecord to record", Duration::from_secs(10), || {
        let size = std::fs::metadata(&recording).ok()?.len();
        (size > 24_000).then_some(())
    });
    // The meter reads the sink's monitor: the test sound must lift it from the floor.
    app.execute(
        "window.__loudest = -60; setInterval(() => { window.__loudest = Math.max(window.__loudest, \
         document.getElementById('audio-level').value); }, 20); return null;",
    );
    app.click("#test-ringer");
    let note = app.wait_script(
        "the test sound to finish",
        "const n = document.getElementById('audio-test-note').textContent; \
         return n.startsWith('The ringtone played') || n.startsWith('No sound') ? n : null;",
    );
    assert!(note.as_str().unwrap().starts_with("The ringtone played"), "{note}");
    recorder.stop(Duration::from_secs(5));
    let loudest = app.execute("return window.__loudest;").as_f64().unwrap_or(-60.0);
    assert!(
        loudest > -40.0,
        "the meter stayed at {loudest} dBFS while the ringtone played"
    );

    let (rate, samples) = runtime::audio::backend::wav::read_mono(&recording)
        .unwrap_or_else(|err| panic!("the recording of the sink: {err}"));
    // Each of the chime's three notes (180 ms at -12 dBFS) must be there, whole in at least one 100 ms window.
    for note in [523.25, 659.25, 783.99] {
        let strongest = samples
            .chunks(rate as usize / 10)
            .map(|chunk| runtime::audio::meter::tone_dbfs(chunk, rate, note))
            .fold(f32::MIN, f32::max);
        assert!(
            strongest > -30.0,
            "the chime's {note} Hz note is not in the sink: {strongest} dBFS"
        );
    }
    app.screen_shot("settings_audio_check");
}
