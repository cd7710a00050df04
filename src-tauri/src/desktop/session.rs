//! The panel as part of the operator's session: started with it (`behaviour.autostart`), and back where the
//! operator left it (position, size, maximised) on the next start.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Runtime};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt};
use tauri_plugin_window_state::StateFlags;

use crate::windows;

/// The autostart plugin: on Linux an XDG autostart entry, on Windows the `Run` key, on macOS a launch agent.
pub fn autostart_plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, None)
}

/// Remembers the panel's place. Visibility is not restored (`behaviour.start_hidden` decides it), nor is the
/// popup's or the settings window's place (the popup goes to the screen corner, settings open centred).
pub fn window_state_plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_window_state::Builder::new()
        .with_state_flags(StateFlags::POSITION | StateFlags::SIZE | StateFlags::MAXIMIZED)
        .with_denylist(&[windows::POPUP, windows::SETTINGS])
        .build()
}

/// Makes the session start the panel, or not; only touches the desktop's entry when it differs.
pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>, wanted: bool) {
    let autostart = app.autolaunch();
    let result = match autostart.is_enabled() {
        Ok(enabled) if enabled == wanted => return,
        Ok(_) if wanted => autostart.enable(),
        Ok(_) => autostart.disable(),
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => tracing::info!(enabled = wanted, "start with the session changed"),
        Err(err) => tracing::warn!(%err, wanted, "could not change the start with the session"),
    }
}
