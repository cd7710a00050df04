//! The panel window, the ringing popup and the settings window.
//!
//! All are declared in `tauri.conf.json` with `create: false` and built here, so start-up can decide whether the
//! panel shows at once (`behaviour.start_hidden`) and the popup exists before the first call rings (no window
//! creation on the ring path). The settings window is built when first asked for.
//!
//! The popup and the settings window are built beside the panel: on Linux their pages live in the panel's WebKit
//! web process instead of one process each. The popup's own process cost 35 MB at idle (its copies of WebKit's and
//! the graphics stack's relocated data, its JavaScript heap and caches) for a page of a few kilobytes, a sixth of a
//! workstation's whole memory budget (issue #7, `benches/startup.rs`).

use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

use crate::app::Shell;
use crate::desktop::{Desktop, notify, words};

/// The label of the panel window.
pub const MAIN: &str = "main";
/// The label of the ringing popup.
pub const POPUP: &str = "popup";
/// The label of the settings window.
pub const SETTINGS: &str = "settings";

/// Builds a window from its `tauri.conf.json` entry, optionally overriding its visibility.
pub fn build<R: Runtime>(app: &AppHandle<R>, label: &str, visible: Option<bool>) -> tauri::Result<WebviewWindow<R>> {
    builder(app, label, visible)?.build()
}

/// Builds a window from its `tauri.conf.json` entry whose page shares the panel's web process (see the module
/// documentation). Called on the main thread (start-up, a menu item, a synchronous command), the window exists when
/// this returns; from another thread it waits for the main thread to build it.
pub fn build_beside_panel<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    visible: Option<bool>,
) -> tauri::Result<WebviewWindow<R>> {
    let Some(panel) = app.get_webview_window(MAIN) else {
        return build(app, label, visible);
    };
    let (app, label) = (app.clone(), label.to_owned());
    let (built, result) = std::sync::mpsc::channel();
    panel.with_webview(move |panel| {
        let window = builder(&app, &label, visible).and_then(|builder| related(builder, &panel).build());
        let _ = built.send(window);
    })?;
    result.recv().unwrap_or(Err(tauri::Error::WindowNotFound))
}

#[cfg(target_os = "linux")]
fn related<'a, R: Runtime>(
    builder: WebviewWindowBuilder<'a, R, AppHandle<R>>,
    panel: &tauri::webview::PlatformWebview,
) -> WebviewWindowBuilder<'a, R, AppHandle<R>> {
    builder.with_related_view(panel.inner())
}

/// Elsewhere the platform's webview decides how its pages share processes.
#[cfg(not(target_os = "linux"))]
fn related<'a, R: Runtime>(
    builder: WebviewWindowBuilder<'a, R, AppHandle<R>>,
    _panel: &tauri::webview::PlatformWebview,
) -> WebviewWindowBuilder<'a, R, AppHandle<R>> {
    builder
}

fn builder<'a, R: Runtime>(
    app: &'a AppHandle<R>,
    label: &str,
    visible: Option<bool>,
) -> tauri::Result<WebviewWindowBuilder<'a, R, AppHandle<R>>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == label)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let builder = WebviewWindowBuilder::from_config(app, &config)?;
    Ok(match visible {
        Some(visible) => builder.visible(visible),
        None => builder,
    })
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

/// Opens the settings window, or brings it to the front when it is open.
pub fn show_settings<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let window = match app.get_webview_window(SETTINGS) {
        Some(window) => window,
        None => build_beside_panel(app, SETTINGS, Some(true))?,
    };
    window.show()?;
    window.unminimize()?;
    window.set_focus()
}

/// Gap between the popup and the screen's edges, in logical pixels (room for a bottom panel or taskbar).
const POPUP_MARGIN: f64 = 48.0;

/// Shows the ringing popup at the bottom-right of the panel's screen, without taking the focus from what the
/// operator is typing; or hides it. Where the operator turned the popup off (`behaviour.ring_popup`) or it cannot
/// be shown, the ringing call becomes a desktop notification instead.
pub fn set_popup_visible<R: Runtime>(app: &AppHandle<R>, visible: bool) {
    let wanted = app.try_state::<Desktop>().is_none_or(|desktop| desktop.ring_popup());
    if visible && !wanted {
        notify_ringing(app);
        return;
    }
    let Some(popup) = app.get_webview_window(POPUP) else {
        tracing::warn!("the popup window is gone");
        if visible {
            notify_ringing(app);
        }
        return;
    };
    let result = if visible {
        place_bottom_right(app, &popup).and_then(|()| popup.show())
    } else {
        popup.hide()
    };
    if let Err(err) = result {
        tracing::warn!(%err, visible, "could not show or hide the popup");
        if visible {
            notify_ringing(app);
        }
    }
}

/// The popup's caller as a notification: who calls, from the current view.
fn notify_ringing<R: Runtime>(app: &AppHandle<R>) {
    let caller = app.state::<Shell>().panel().and_then(|panel| {
        panel
            .views()
            .borrow()
            .popup
            .as_ref()
            .map(|call| call.party.display.clone())
    });
    let title = words::Text::IncomingCall.in_lang(words::current(app));
    notify::show(app, title, caller.as_deref().unwrap_or_default());
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
