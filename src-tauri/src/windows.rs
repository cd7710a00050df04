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

/// Gap between the popup and the screen's edges, in logical pixels (room for a bottom panel or taskbar).
const POPUP_MARGIN: f64 = 48.0;

/// Shows the ringing popup at the bottom-right of the panel's screen, without taking the focus from what the
/// operator is typing; or hides it.
pub fn set_popup_visible<R: Runtime>(app: &AppHandle<R>, visible: bool) {
    let Some(popup) = app.get_webview_window(POPUP) else {
        tracing::warn!("the popup window is gone");
        return;
    };
    let result = if visible {
        place_bottom_right(app, &popup).and_then(|()| popup.show())
    } else {
        popup.hide()
    };
    if let Err(err) = result {
        tracing::warn!(%err, visible, "could not show or hide the popup");
    }
}

fn place_bottom_right<R: Runtime>(app: &AppHandle<R>, popup: &WebviewWindow<R>) -> tauri::Result<()> {
    let monitor = match app.get_webview_window(MAIN) {
        Some(main) => main.current_monitor()?,
        None => None,
    };
    let Some(monitor) = monitor.or(popup.primary_monitor()?) else {
        return Ok(());
    };
    let scale = monitor.scale_factor();
    let screen = monitor.size().to_logical::<f64>(scale);
    let origin = monitor.position().to_logical::<f64>(scale);
    // A window that was never shown may report no size yet; its configured size is what it will have.
    let (width, height) = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == POPUP)
        .map_or((0.0, 0.0), |window| (window.width, window.height));
    let x = origin.x + (screen.width - width - POPUP_MARGIN).max(0.0);
    let y = origin.y + (screen.height - height - POPUP_MARGIN).max(0.0);
    popup.set_position(tauri::LogicalPosition::new(x, y))
}
