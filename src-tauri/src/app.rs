//! Wires the Tauri application: windows, tray, commands, and the close-to-tray behaviour.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{Manager, RunEvent, WindowEvent};

use crate::startup::Startup;
use crate::view::PanelView;
use crate::{commands, tray, windows};

/// The shell's managed state, reached by commands through `State<Shell>`.
#[derive(Debug)]
pub struct Shell {
    /// The configuration file in use.
    pub config_file: PathBuf,
    /// The folder of the log files.
    pub log_dir: Option<PathBuf>,
    view: PanelView,
    tray: AtomicBool,
}

impl Shell {
    /// The current panel view.
    pub fn view(&self) -> PanelView {
        self.view.clone()
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
    let shell = Shell {
        config_file: startup.config_file.clone(),
        log_dir: startup.log_dir.clone(),
        view: PanelView::initial(&startup),
        tray: AtomicBool::new(false),
    };
    let app = tauri::Builder::default()
        .manage(shell)
        .invoke_handler(tauri::generate_handler![commands::get_view, commands::diagnostics])
        .setup(move |app| {
            let handle = app.handle();
            match tray::create(handle) {
                Ok(_) => app.state::<Shell>().tray.store(true, Ordering::Relaxed),
                Err(err) => tracing::warn!(%err, "no tray icon; closing the panel will quit"),
            }
            let show_main = !(start_hidden && app.state::<Shell>().has_tray());
            windows::build(handle, windows::MAIN, Some(show_main))?;
            windows::build(handle, windows::POPUP, Some(false))?;
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
