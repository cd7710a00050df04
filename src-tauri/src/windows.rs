//! The panel window and the ringing popup.
//!
//! Both are declared in `tauri.conf.json` with `create: false` and built here, so start-up can decide whether the
//! panel shows at once (`behaviour.start_hidden`) and the popup exists before the first call rings (no window
//! creation on the ring path).

use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

/// The label of the panel window.
pub const MAIN: &str = "main";
/// The label of the ringing popup.
pub const POPUP: &str = "popup";

/// Builds a window from its `tauri.conf.json` entry, optionally overriding its visibility.
pub fn build<R: Runtime>(app: &AppHandle<R>, label: &str, visible: Option<bool>) -> tauri::Result<WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == label)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let builder = WebviewWindowBuilder::from_config(app, &config)?;
    match visible {
        Some(visible) => builder.visible(visible).build(),
        None => builder.build(),
    }
}

/// Brings the panel to the front: shown, restored from minimised, focused.
pub fn show_panel<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        tracing::warn!("the panel window is gone; nothing to show");
        return;
    };
    for (step, result) in [
        ("show", window.show()),
        ("unminimize", window.unminimize()),
        ("focus", window.set_focus()),
    ] {
        if let Err(err) = result {
            tracing::warn!(%err, step, "could not bring the panel to the front");
        }
    }
}
