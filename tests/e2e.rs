//! End-to-end tests of the real app window: the release-shaped binary under a private Xvfb, driven through
//! tauri-driver and WebKitWebDriver. Each test owns its display, driver, app and configuration folder, and all of
//! them stop when the test ends, passing or failing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use support::display::Display;
use support::sim::{self, control};
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
    output: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl App {
    /// Launches the app with an empty configuration (the built-in demo world) in a fresh home.
    fn launch(test: &str) -> App {
        App::launch_in(test, None)
    }

    /// Launches the app with an empty configuration in a fresh home; the demo serves `world` (TOML) when given.
    fn launch_in(test: &str, world: Option<&str>) -> App {
        App::launch_with(test, world, None)
    }

    /// Launches the app with this configuration file (TOML) in a fresh home: configured servers, no demo.
    fn launch_configured(test: &str, config: &str) -> App {
        App::launch_with(test, None, Some(config))
    }

    fn launch_with(test: &str, world: Option<&str>, config_text: Option<&str>) -> App {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let output = support::output_dir(test);
        let home = tempfile::tempdir().expect("a temporary home");
        let config = home.path().join("config");
        let data = home.path().join("data");
        let world_file = home.path().join("world.toml");
        // The checks read English words: the app's language follows the locale when none is configured.
        let mut env = vec![
            ("XDG_CONFIG_HOME", config.as_path()),
            ("XDG_DATA_HOME", data.as_path()),
            ("LC_ALL", Path::new("C.UTF-8")),
        ];
        if let Some(world) = world {
            std::fs::write(&world_file, world).expect("write the world file");
            env.push(("OKTELL_PANEL_DEMO_WORLD", world_file.as_path()));
        }
        if let Some(text) = config_text {
            let folder = config.join("oktell-panel");
            std::fs::create_dir_all(&folder).expect("the configuration folder");
            std::fs::write(folder.join("config.toml"), text).expect("write the configuration");
        }
        let display = Display::start();
        let tray = Tray::start(&display);
        let (driver, session) = Driver::open(
            &display,
            &env,
            Path::new(env!("CARGO_BIN_EXE_oktell-panel")),
            &[],
            &output,
        );
        App {
            session,
            _driver: driver,
            _tray: tray,
            display,
            home,
            output,
            _turn: turn,
        }
    }

    /// The simulator's control address, from the endpoints file the demo writes into its data folder.
    fn control(&self) -> String {
        sim::demo_control(&self.home.path().join("data"))
    }

    /// Waits until the panel shows Oktell connected.
    fn wait_for_oktell(&self) {
        wait_for("Oktell to connect", Duration::from_secs(20), || {
            let class = self
                .session
                .execute("return document.querySelector('#systems [data-system=oktell]')?.className ?? '';");
            (class.as_str() == Some("system ok")).then_some(())
        });
    }

    /// A screenshot of the whole X screen (the popup is a window of its own, outside the WebDriver session).
    fn screen_shot(&self, name: &str) -> PathBuf {
        let file = self.output.join(format!("{name}.png"));
        let status = std::process::Command::new("import")
            .args(["-display", &self.display.name, "-window", "root"])
            .arg(&file)
            .status()
            .expect("ImageMagick's import");
        assert!(status.success(), "import failed: {status}");
        file
    }

    /// How many distinct colours a window shows: one while WebKit has not painted it yet, many once text and
    /// buttons are drawn.
    fn window_colours(&self, window: &str) -> usize {
        let file = self.output.join("window-probe.png");
        let captured = std::process::Command::new("import")
            .args(["-display", &self.display.name, "-window", window])
            .arg(&file)
            .status()
            .is_ok_and(|status| status.success());
        let colours = std::process::Command::new("identify")
            .args(["-format", "%k"])
            .arg(&file)
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok());
        let _ = std::fs::remove_file(&file);
        if captured { colours.unwrap_or(0) } else { 0 }
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

/// The sample world without its background callers (they would ring the operator in the middle of a test), plus
/// a Creatio contact whose name is markup.
fn quiet_world_with_contact(name: &str, phone: &str) -> String {
    let contact = json!({ "name": name, "phones": [{ "kind": "mobile", "number": phone }] });
    format!(
        "{}\n\n[[creatio.contacts]]\nname = {}\nphones = [{{ kind = \"mobile\", number = {} }}]\n",
        sim::quiet_world(),
        contact["name"],
        contact["phones"][0]["number"],
    )
}

#[test]
fn the_demo_panel_logs_in_as_op1_and_shows_the_agent_status() {
    let app = App::launch("demo_login");
    app.wait_for_oktell();
    let status = app.session.find("#agent-status");
    let text = wait_for("the agent status", Duration::from_secs(10), || {
        let text = status.text();
        text.starts_with("Ready").then_some(text)
    });
    assert!(
        app.session.find("#status-select").displayed(),
        "no status selector while connected ({text})"
    );
    let state = control(&app.control(), "GET", "/state", None);
    let op1 = state["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .any(|connection| connection["login"] == "op1");
    assert!(op1, "op1 has no connection to the simulator: {state}");

    let picked = app.session.execute(
        "const select = document.getElementById('status-select'); \
         const option = [...select.options].find((o) => o.value.startsWith('break')); \
         select.value = option.value; select.dispatchEvent(new Event('change')); return option.textContent;",
    );
    let control_api = app.control();
    wait_for("op1 on a break in the simulator", Duration::from_secs(10), || {
        let state = control(&control_api, "GET", "/state", None);
        let users = state["users"].as_array()?.clone();
        users
            .iter()
            .any(|user| user["login"] == "op1" && user["presence"]["userstateid"] == 2)
            .then_some(())
    });
    let picked = picked.as_str().expect("the picked reason");
    wait_for(
        "the break and its reason in the header",
        Duration::from_secs(10),
        || (status.text() == picked).then_some(()),
    );
    app.session.screenshot("panel_on_break");

    // Call-center on, then off: the header follows what the simulator now holds.
    for (choice, on, shown) in [
        ("ready_call_center", true, "Ready (call centre)"),
        ("ready", false, "Ready"),
    ] {
        app.session.execute(&format!(
            "const select = document.getElementById('status-select'); select.value = {choice:?}; \
             select.dispatchEvent(new Event('change')); return null;"
        ));
        wait_for(
            &format!("op1 {choice} in the simulator"),
            Duration::from_secs(10),
            || {
                let state = control(&control_api, "GET", "/state", None);
                state["users"]
                    .as_array()?
                    .iter()
                    .any(|user| {
                        user["login"] == "op1"
                            && user["presence"]["userstateid"] == 1
                            && user["presence"]["oncallcenter"] == on
                    })
                    .then_some(())
            },
        );
        wait_for(&format!("the header to say {shown}"), Duration::from_secs(10), || {
            (status.text() == shown).then_some(())
        });
    }
}

#[test]
fn a_call_rings_with_the_creatio_name_shown_as_text_and_answering_reaches_the_pbx() {
    const NAME: &str = "<img src=x onerror=\"document.title='pwned'\"><b>Зоя Взломова</b>";
    let app = App::launch_in(
        "ringing_call",
        Some(&quiet_world_with_contact(NAME, "+7 926 000-11-22")),
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

    let name = app.session.find("#call-name");
    wait_for("the caller's Creatio name", Duration::from_secs(20), || {
        (name.text() == NAME).then_some(())
    });
    let markup = app
        .session
        .execute("return document.querySelectorAll('#call-name *, #history *:is(img, b)').length;");
    assert_eq!(markup, json!(0), "the caller's name was parsed as HTML");
    assert_eq!(app.session.title(), "Oktell Panel", "a script in the caller's name ran");
    let popup = wait_for("the popup window", Duration::from_secs(10), || {
        x11::visible_windows(&app.display, "^Incoming call").into_iter().next()
    });
    wait_for(
        "the popup to paint the caller and its buttons",
        Duration::from_secs(10),
        || (app.window_colours(&popup) > 16).then_some(()),
    );
    app.session.screenshot("panel_ringing");
    app.screen_shot("screen_with_popup");
    assert!(
        app.session.find("#action-decline").displayed(),
        "a ringing call without Decline"
    );
    assert!(
        !app.session.find("#action-hangup").displayed(),
        "Hang up beside Decline on a call that only rings"
    );

    app.session.find("#action-answer").click();
    let state = wait_for("the simulator to connect the call", Duration::from_secs(15), || {
        let state = control(&control_api, "GET", "/state", None);
        let talking = state["calls"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == call && c["state"] == "talking");
        talking.then_some(state)
    });
    assert!(
        state["calls"].as_array().is_some_and(|calls| calls.len() == 1),
        "{state}"
    );
    let call_state = app.session.find("#call-state");
    wait_for("the panel to show the conversation", Duration::from_secs(10), || {
        call_state.text().contains("Talking").then_some(())
    });
    let hangup = app.session.find("#action-hangup");
    wait_for("Hang up once the call is answered", Duration::from_secs(10), || {
        hangup.displayed().then_some(())
    });
    wait_for("the popup to close", Duration::from_secs(10), || {
        x11::visible_windows(&app.display, "^Incoming call")
            .is_empty()
            .then_some(())
    });
    app.session.screenshot("panel_talking");

    control(&control_api, "POST", &format!("/calls/{call}/hangup"), None);
    let history = app.session.find("#history");
    wait_for("the call in the history", Duration::from_secs(10), || {
        history.text().contains(NAME).then_some(())
    });
    app.session.screenshot("panel_history");
    let records = wait_for(
        "the call record in the simulated Creatio",
        Duration::from_secs(20),
        || {
            let records = control(&control_api, "GET", "/creatio/calls", None);
            let ours = records.as_array()?.iter().any(|record| {
                record["CallerId"]
                    .as_str()
                    .is_some_and(|caller| caller.contains("9260001122"))
            });
            ours.then_some(records)
        },
    );
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{records}");
}

/// The popup is a window of its own: the operator sees who calls and from which company, and answers there
/// without finding the panel.
#[test]
fn answering_from_the_popup_connects_the_call_and_the_popup_goes() {
    const NAME: &str = "Пётр Всплывающий";
    const COMPANY: &str = "ООО «Ромашка»";
    let world = format!(
        "{}account = {COMPANY:?}\n",
        quiet_world_with_contact(NAME, "+7 926 000-11-22")
    );
    let app = App::launch_in("popup_answer", Some(&world));
    app.wait_for_oktell();
    let control_api = app.control();
    let created = control(
        &control_api,
        "POST",
        "/calls",
        Some(json!({"from": "89260001122", "to": "101"})),
    );
    let call = created["call"].as_u64().expect("a call id");
    let popup = wait_for("the popup window", Duration::from_secs(10), || {
        x11::visible_windows(&app.display, "^Incoming call").into_iter().next()
    });

    app.session.switch_to("/popup.html");
    app.session.wait_script(
        "the popup to show the caller with Answer enabled",
        &format!(
            "return document.getElementById('caller-name').textContent === {NAME:?} \
             && document.getElementById('caller-company').textContent === {COMPANY:?} \
             && !document.getElementById('answer').disabled;"
        ),
    );
    wait_for(
        "the popup to paint the caller and its buttons",
        Duration::from_secs(10),
        || (app.window_colours(&popup) > 16).then_some(()),
    );
    app.screen_shot("screen_with_popup");
    app.session.find("#answer").click();
    wait_for("the simulator to connect the call", Duration::from_secs(15), || {
        let state = control(&control_api, "GET", "/state", None);
        state["calls"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == call && c["state"] == "talking")
            .then_some(())
    });
    wait_for(
        "the popup to go once the call is answered",
        Duration::from_secs(10),
        || {
            x11::visible_windows(&app.display, "^Incoming call")
                .is_empty()
                .then_some(())
        },
    );
    app.session.switch_to("/index.html");
    let call_state = app.session.find("#call-state");
    wait_for("the panel to show the conversation", Duration::from_secs(10), || {
        call_state.text().contains("Talking").then_some(())
    });
}

#[test]
fn holding_and_resuming_from_the_panel_reaches_the_pbx_and_the_panel_follows() {
    const NAME: &str = "Зоя Тестова";
    let app = App::launch_in("hold_resume", Some(&quiet_world_with_contact(NAME, "+7 926 000-11-22")));
    app.wait_for_oktell();
    let control_api = app.control();
    let created = control(
        &control_api,
        "POST",
        "/calls",
        Some(json!({"from": "89260001122", "to": "101"})),
    );
    let call = created["call"].as_u64().expect("a call id");
    let call_is = |wanted: &str| {
        let state = control(&control_api, "GET", "/state", None);
        let found = state["calls"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == call && c["state"] == wanted);
        found.then_some(())
    };
    // The operator answers once the caller is named, as a person would; the buttons stay put from then on.
    let name = app.session.find("#call-name");
    wait_for("the caller's Creatio name", Duration::from_secs(20), || {
        (name.text() == NAME).then_some(())
    });
    let answer = app.session.find("#action-answer");
    wait_for("the answer button", Duration::from_secs(20), || {
        answer.displayed().then_some(())
    });
    answer.click();
    wait_for("the simulator to connect the call", Duration::from_secs(10), || {
        call_is("talking")
    });

    app.session.find("#action-hold").click();
    wait_for("the simulator to hold the call", Duration::from_secs(10), || {
        call_is("on_hold")
    });
    let resume = app.session.find("#action-resume");
    wait_for("the resume button", Duration::from_secs(10), || {
        resume.displayed().then_some(())
    });
    app.session.screenshot("panel_on_hold");
    resume.click();
    wait_for("the simulator to resume the call", Duration::from_secs(10), || {
        call_is("talking")
    });
    let call_state = app.session.find("#call-state");
    wait_for(
        "the panel to show the conversation again",
        Duration::from_secs(10),
        || call_state.text().contains("Talking").then_some(()),
    );
    control(&control_api, "POST", &format!("/calls/{call}/hangup"), None);
    let history = app.session.find("#history");
    wait_for("the call in the history", Duration::from_secs(10), || {
        history.text().contains(NAME).then_some(())
    });
}

#[test]
fn configured_servers_without_a_saved_password_say_what_to_do_in_the_header() {
    let app = App::launch_configured(
        "configured_no_password",
        "[oktell]\nurls = [\"ws://127.0.0.1:9\"]\nlogin = \"op1\"\n\n[secrets]\nstore = \"file\"\n",
    );
    // The header is rebuilt on every view, so its text is read fresh each time.
    let system = |name: &str| {
        let script = format!("return document.querySelector('#systems [data-system={name}]')?.textContent ?? '';");
        app.session.execute(&script).as_str().unwrap_or_default().to_owned()
    };
    wait_for("the Oktell sentence in the header", Duration::from_secs(20), || {
        system("oktell")
            .contains("No password is saved for oktell:op1; save it with `oktell-panel secret set oktell`.")
            .then_some(())
    });
    assert!(
        !app.session.find("#mode").displayed(),
        "the demo badge shows in configured mode"
    );
    let sip = system("sip");
    assert!(sip.contains("not configured"), "the phone is not configured: {sip}");
    let creatio = system("creatio");
    assert!(
        creatio.contains("not configured"),
        "Creatio is not configured: {creatio}"
    );
    // WebKit paints a moment after the DOM changes; the screenshot should show the sentence.
    std::thread::sleep(Duration::from_millis(500));
    app.session.screenshot("panel_configured_no_password");
}

/// The simulated PBX's SIP side (`GET /sip`): registrations and live legs with their RTP counters.
fn sip_side(control_api: &str) -> Value {
    control(control_api, "GET", "/sip", None)
}

#[test]
fn the_demo_phone_registers_carries_the_call_audio_and_transfers_from_the_directory() {
    const NAME: &str = "Олег Переводов";
    let app = App::launch_in(
        "phone_transfer",
        Some(&quiet_world_with_contact(NAME, "+7 926 000-33-44")),
    );
    app.wait_for_oktell();
    let control_api = app.control();
    wait_for("the phone registered in the header", Duration::from_secs(20), || {
        let class = app
            .session
            .execute("return document.querySelector('#systems [data-system=sip]')?.className ?? '';");
        (class.as_str() == Some("system ok")).then_some(())
    });
    let sip = sip_side(&control_api);
    let registered = sip["registrations"]
        .as_array()
        .is_some_and(|bindings| bindings.iter().any(|binding| binding["login"] == "op1"));
    assert!(registered, "op1's phone is not bound at the simulated PBX: {sip}");

    let created = control(
        &control_api,
        "POST",
        "/calls",
        Some(json!({"from": "89260003344", "to": "101"})),
    );
    let call = created["call"].as_u64().expect("a call id");
    let name = app.session.find("#call-name");
    wait_for("the caller's Creatio name", Duration::from_secs(20), || {
        (name.text() == NAME).then_some(())
    });
    let answer = app.session.find("#action-answer");
    wait_for("the answer button", Duration::from_secs(20), || {
        answer.displayed().then_some(())
    });
    answer.click();
    wait_for("audio both ways on op1's leg", Duration::from_secs(15), || {
        let sip = sip_side(&control_api);
        let flowing = sip["legs"].as_array()?.iter().any(|leg| {
            leg["login"] == "op1"
                && leg["phase"] == "up"
                && leg["rtp"]["packets_received"].as_u64().is_some_and(|n| n > 10)
                && leg["rtp"]["packets_sent"].as_u64().is_some_and(|n| n > 10)
        });
        flowing.then_some(())
    });

    let keypad = app.session.find("#keypad-toggle");
    wait_for("the keypad button", Duration::from_secs(10), || {
        keypad.displayed().then_some(())
    });
    let pad = app.session.find("#keypad");
    assert!(!pad.displayed(), "the keypad shows before it is asked for");
    assert!(
        !app.session.find("#transfer").displayed(),
        "the transfer box shows before it is asked for"
    );
    keypad.click();
    assert!(pad.displayed(), "the keypad button did not open the keypad");
    app.session.find("#keypad [data-digit='5']").click();
    app.session.screenshot("panel_keypad");

    app.session.find("#transfer-toggle").click();
    app.session.find("#transfer-search").send_keys("Иван");
    let first_match = app.session.find("#transfer-matches .match");
    wait_for(
        "Иван Петров in the directory matches",
        Duration::from_secs(10),
        || first_match.text().contains("Иван Петров").then_some(()),
    );
    app.session.screenshot("panel_transfer_search");
    first_match.click();
    let picked = app
        .session
        .execute("return document.getElementById('transfer-search').value;");
    assert_eq!(picked, json!("102"), "picking a colleague fills in the number");
    app.session.find("#transfer-blind").click();

    wait_for(
        "the call to leave op1 at the simulated PBX",
        Duration::from_secs(15),
        || {
            let state = control(&control_api, "GET", "/state", None);
            let op1_free = state["users"]
                .as_array()?
                .iter()
                .any(|user| user["login"] == "op1" && user["line"]["linestatestr"] == "lsFree");
            op1_free.then_some(())
        },
    );
    let empty = app.session.find("#call-empty");
    wait_for("the panel without a call", Duration::from_secs(10), || {
        empty.displayed().then_some(())
    });
    let history = app.session.find("#history");
    wait_for("the transferred call in the history", Duration::from_secs(10), || {
        history.text().contains(NAME).then_some(())
    });
    eprintln!("transferred call {call}");
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
    // The icon changes picture (offline to ready) once the demo logs in; find it after that.
    app.wait_for_oktell();
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
