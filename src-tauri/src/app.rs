//! Wires the Tauri application: windows, tray, commands, and the close-to-tray behaviour.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::Arc;

use runtime::audio::backend::cpal::CpalBackend;
use runtime::audio::devices::DevicePreferences;
use runtime::audio::tones::ToneSpec;
use runtime::config::Config;
use runtime::panel::ringer::Ringer;
use runtime::panel::{Panel, ShellEffect, configured};
use runtime::secrets;
use runtime::sip_link::DeviceAudio;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tokio::sync::mpsc;

use crate::startup::Startup;
use crate::view::StartupView;
use crate::{bridge, commands, demo, desktop, settings, tray, windows};

/// The shell's managed state, reached by commands through `State<Shell>`.
#[derive(Debug)]
pub struct Shell {
    /// The configuration file in use.
    pub config_file: PathBuf,
    /// The folder of the log files.
    pub log_dir: Option<PathBuf>,
    /// What start-up decided, for the windows.
    pub startup: StartupView,
    tray: AtomicBool,
    panel: OnceLock<Panel>,
    demo_world: OnceLock<sim::RunningSim>,
}

impl Shell {
    /// The panel task, once it runs (against the demo world or the configured servers).
    pub fn panel(&self) -> Option<&Panel> {
        self.panel.get()
    }

    /// Whether the tray icon exists. Without it, closing the panel must quit: a hidden window with no tray icon
    /// would leave the operator no way back.
    pub fn has_tray(&self) -> bool {
        self.tray.load(Ordering::Relaxed)
    }
}

/// Runs the desktop application until the operator quits.
pub fn run(startup: Startup) -> tauri::Result<()> {
    let start_hidden = startup.config.behaviour.start_hidden;
    let demo_data = startup.demo.then(|| startup.data_dir.clone());
    let servers = (!startup.demo).then(|| Servers {
        config: startup.config.clone(),
        data_dir: startup.data_dir.clone(),
        secrets_file: startup.secrets_file.clone(),
    });
    let shell = Shell {
        config_file: startup.config_file.clone(),
        log_dir: startup.log_dir.clone(),
        startup: StartupView::initial(&startup),
        tray: AtomicBool::new(false),
        panel: OnceLock::new(),
        demo_world: OnceLock::new(),
    };
    let app = tauri::Builder::default()
        .plugin(desktop::links::plugin())
        .plugin(desktop::hotkeys::plugin())
        .plugin(tauri_plugin_notification::init())
        .plugin(desktop::session::autostart_plugin())
        .plugin(desktop::session::window_state_plugin())
        .plugin(desktop::plugin(&startup))
        .manage(shell)
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::get_view,
            commands::command,
            commands::diagnostics,
            commands::export_rejected,
            settings::open_settings,
            settings::settings_load,
            settings::settings_save,
            settings::settings_save_password,
            settings::ui_language,
            settings::set_language,
            settings::audio_devices,
            desktop::audio_check::audio_meter_start,
            desktop::audio_check::audio_meter_stop,
            desktop::audio_check::audio_test_sound
        ])
        .setup(move |app| {
            let handle = app.handle();
            match tray::create(handle) {
                Ok(_) => app.state::<Shell>().tray.store(true, Ordering::Relaxed),
                Err(err) => tracing::warn!(%err, "no tray icon; closing the panel will quit"),
            }
            let show_main = !(start_hidden && app.state::<Shell>().has_tray());
            windows::build(handle, windows::MAIN, Some(show_main))?;
            windows::build_beside_panel(handle, windows::POPUP, Some(false))?;
            match demo_data {
                Some(Some(data_dir)) => {
                    tauri::async_runtime::spawn(start_demo(handle.clone(), data_dir));
                }
                Some(None) => tracing::error!("the demo world needs a data folder; this account has none"),
                None => match servers {
                    Some(servers) => {
                        tauri::async_runtime::spawn(start_configured(handle.clone(), servers));
                    }
                    None => tracing::error!("neither the demo world nor configured servers: nothing to start"),
                },
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == windows::MAIN
                && window.state::<Shell>().has_tray()
            {
                api.prevent_close();
                if let Err(err) = window.hide() {
                    tracing::warn!(%err, "could not hide the panel to the tray");
                }
                tracing::info!("panel hidden to the tray");
            }
        })
        .build(tauri::generate_context!())?;

    app.run(|app, event| {
        if let RunEvent::ExitRequested { code: None, api, .. } = event
            && app.state::<Shell>().has_tray()
        {
            api.prevent_exit();
        }
    });
    Ok(())
}

/// Starts the embedded world and the panel against it, then hands the panel to the windows.
async fn start_demo(app: AppHandle, data_dir: PathBuf) {
    let demo = match demo::start(&data_dir).await {
        Ok(demo) => demo,
        Err(err) => {
            tracing::error!(%err, "the demo world did not start");
            return;
        }
    };
    let shell = app.state::<Shell>();
    if shell.demo_world.set(demo.sim).is_err() {
        tracing::error!("the demo world was started twice; keeping the first");
        return;
    }
    install(&app, demo.panel, demo.effects, None);
}

/// What the configured mode needs from start-up.
struct Servers {
    config: Config,
    data_dir: Option<PathBuf>,
    secrets_file: Option<PathBuf>,
}

/// Starts the panel against the configuration's servers with the saved passwords. A system that cannot start
/// (no password saved, a wrong address) shows its sentence in the header; the others run.
async fn start_configured(app: AppHandle, servers: Servers) {
    let (Some(data_dir), Some(secrets_file)) = (servers.data_dir, servers.secrets_file) else {
        tracing::error!("this account has no data folder: no call-record outbox and no saved passwords");
        return;
    };
    let store = secrets::open(servers.config.secrets.store, &secrets_file);
    let outbox = data_dir.join("outbox.sqlite3");
    let started = configured::start(
        &servers.config,
        store.as_ref(),
        &outbox,
        &configured::SoftphoneOptions {
            devices: Some(operator_devices()),
            ..configured::SoftphoneOptions::default()
        },
    )
    .await;
    for problem in &started.drivers.problems {
        tracing::warn!(?problem, "a configured system did not start");
    }
    let (panel, effects, _task) = Panel::spawn(started.call, started.drivers);
    install(&app, panel, effects, servers.config.audio.ringer);
}

/// Hands a running panel to the commands and the windows; the ringtone plays on `ringer_device` (the system default
/// when `None`).
fn install(app: &AppHandle, panel: Panel, effects: mpsc::Receiver<ShellEffect>, ringer_device: Option<String>) {
    if app.state::<Shell>().panel.set(panel.clone()).is_err() {
        tracing::error!("the panel was started twice; keeping the first");
        return;
    }
    let ringer = Ringer::new(Arc::new(CpalBackend::new()), ringer_device, ToneSpec::Ringtone);
    bridge::start(app.clone(), &panel, effects, ringer);
}

/// The operator's microphone and headset through the sound system, with the default microphone processing; the
/// configured choice of devices is filled in by `configured::start`. Without a sound card a call goes on silent
/// and the link says why.
pub(crate) fn operator_devices() -> DeviceAudio {
    DeviceAudio::new(Arc::new(CpalBackend::new()), DevicePreferences::default())
}
