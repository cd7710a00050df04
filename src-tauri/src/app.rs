//! Wires the Tauri application: windows, tray, commands, and the close-to-tray behaviour.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use runtime::panel::Panel;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};

use crate::startup::Startup;
use crate::view::StartupView;
use crate::{bridge, commands, demo, tray, windows};

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
    /// The panel task, once it runs (the demo world; configured servers are not wired to it yet).
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
    let shell = Shell {
        config_file: startup.config_file.clone(),
        log_dir: startup.log_dir.clone(),
        startup: StartupView::initial(&startup),
        tray: AtomicBool::new(false),
        panel: OnceLock::new(),
        demo_world: OnceLock::new(),
    };
    let app = tauri::Builder::default()
        .manage(shell)
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::get_view,
            commands::command,
            commands::diagnostics
        ])
        .setup(move |app| {
            let handle = app.handle();
            match tray::create(handle) {
                Ok(_) => app.state::<Shell>().tray.store(true, Ordering::Relaxed),
                Err(err) => tracing::warn!(%err, "no tray icon; closing the panel will quit"),
            }
            let show_main = !(start_hidden && app.state::<Shell>().has_tray());
            windows::build(handle, windows::MAIN, Some(show_main))?;
            windows::build(handle, windows::POPUP, Some(false))?;
            match demo_data {
                Some(Some(data_dir)) => {
                    tauri::async_runtime::spawn(start_demo(handle.clone(), data_dir));
                }
                Some(None) => tracing::error!("the demo world needs a data folder; this account has none"),
                None => tracing::info!("configured servers: the live panel is not wired to them yet"),
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
    if shell.demo_world.set(demo.sim).is_err() || shell.panel.set(demo.panel.clone()).is_err() {
        tracing::error!("the demo world was started twice; keeping the first");
        return;
    }
    bridge::start(app.clone(), &demo.panel, demo.effects);
}
