//! The IPC surface the windows call. Each command is a one-liner over managed state; the work lives elsewhere.

use runtime::panel::{PanelError, PanelView, UiCommand};
use serde::Serialize;
use tauri::{State, WebviewWindow};

use crate::app::Shell;
use crate::view::StartupView;

/// What start-up decided: version, mode, configured systems, a number to dial.
#[tauri::command]
pub fn startup(shell: State<'_, Shell>) -> StartupView {
    shell.startup.clone()
}

/// The current panel view, once the panel runs; each window calls it on load, then follows the `view` event.
#[tauri::command]
pub fn get_view(window: WebviewWindow, shell: State<'_, Shell>) -> Option<PanelView> {
    tracing::debug!(window = window.label(), "view requested");
    shell.panel().map(|panel| panel.views().borrow().clone())
}

/// A refused command as the UI gets it: a stable `code` to branch on and a sentence to show.
#[derive(Debug, Serialize)]
pub struct CommandError {
    code: &'static str,
    message: String,
}

/// Carries out an operator command (`{"action": "answer"}`, `{"action": "set_status", "status": "break",
/// "reason": 1}`, ...). The JSON is read here rather than by Tauri, so a malformed one also answers
/// `{code, message}`.
#[tauri::command]
pub async fn command(command: serde_json::Value, shell: State<'_, Shell>) -> Result<(), CommandError> {
    let command: UiCommand = serde_json::from_value(command).map_err(|err| CommandError {
        code: "malformed",
        message: format!("The panel does not know this command: {err}."),
    })?;
    let Some(panel) = shell.panel() else {
        return Err(CommandError {
            code: "not_ready",
            message: "The panel is not connected yet.".into(),
        });
    };
    panel.command(command).await.map_err(|err: PanelError| CommandError {
        code: err.code(),
        message: err.to_string(),
    })
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
