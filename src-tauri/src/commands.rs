//! The IPC surface the windows call. Each command is a one-liner over managed state; the work lives elsewhere.

use serde::Serialize;
use tauri::{State, WebviewWindow};

use crate::app::Shell;
use crate::view::PanelView;

/// The current panel view; each window calls it once on load, then follows the `view` event.
#[tauri::command]
pub fn get_view(window: WebviewWindow, shell: State<'_, Shell>) -> PanelView {
    tracing::debug!(window = window.label(), "view requested");
    shell.view()
}

/// Facts a support engineer asks for first: version, mode, where the configuration and logs are.
#[derive(Debug, Serialize)]
pub struct Diagnostics {
    version: &'static str,
    platform: String,
    config_file: String,
    log_dir: Option<String>,
    tray: bool,
}

/// The diagnostics shown on the panel's About page.
#[tauri::command]
pub fn diagnostics(shell: State<'_, Shell>) -> Diagnostics {
    Diagnostics {
        version: env!("CARGO_PKG_VERSION"),
        platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        config_file: shell.config_file.display().to_string(),
        log_dir: shell.log_dir.as_ref().map(|dir| dir.display().to_string()),
        tray: shell.has_tray(),
    }
}
