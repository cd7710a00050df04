//! The IPC surface the windows call. Each command is a one-liner over managed state; the work lives elsewhere.

use std::path::PathBuf;
use std::time::SystemTime;

use runtime::panel::{Panel, PanelError, PanelView, UiCommand};
use runtime::paths::AppPaths;
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

/// Saves the call records Creatio refused for good to a JSON file in the data folder (for an administrator to
/// enter by hand or send to support) and answers the file's path; the records stay in the outbox.
#[tauri::command]
pub async fn export_rejected(shell: State<'_, Shell>) -> Result<String, CommandError> {
    let Some(link) = shell.panel().and_then(Panel::creatio) else {
        return Err(CommandError {
            code: "not_ready",
            message: "Creatio is not configured or not connected yet.".into(),
        });
    };
    let json = link.export_rejected().await.map_err(|err| CommandError {
        code: "creatio",
        message: format!("The refused call records could not be read: {err}."),
    })?;
    let folder = AppPaths::for_current_user()
        .map(|paths| paths.data_dir)
        .ok_or_else(|| CommandError {
            code: "no_folder",
            message: "This account has no data folder to save the file in.".into(),
        })?;
    let path = export_file(&folder, SystemTime::now());
    write_export(&folder, &path, &json).map_err(|err| CommandError {
        code: "not_saved",
        message: format!(
            "The refused call records could not be saved to {}: {err}.",
            path.display()
        ),
    })?;
    tracing::info!(path = %path.display(), "refused call records exported");
    Ok(path.display().to_string())
}

/// A new file per export, named by the time, so an earlier export is never overwritten.
fn export_file(folder: &std::path::Path, now: SystemTime) -> PathBuf {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    folder.join(format!("refused-calls-{secs}.json"))
}

fn write_export(folder: &std::path::Path, path: &std::path::Path, json: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    std::fs::write(path, json)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_export_goes_to_a_new_file_in_a_folder_made_for_it() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("data");
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_400);
        let path = export_file(&folder, at);
        assert_eq!(path, folder.join("refused-calls-1795430400.json"));
        assert_ne!(
            path,
            export_file(&folder, at + Duration::from_secs(1)),
            "a later export keeps the earlier"
        );
        write_export(&folder, &path, "[]").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[]");
    }
}
