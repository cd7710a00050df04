//! The tray icon: its colour tells the operator's state at a glance, its menu reaches the panel and quits.
//!
//! On Linux the icon goes through libayatana-appindicator, which gives no click events and no icon position, so
//! every action is also in the menu; a left click (Windows, macOS) shows the panel.

use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Runtime};

use crate::windows;

/// The id of the one tray icon.
pub const TRAY_ID: &str = "main";

const SHOW: &str = "show";
const QUIT: &str = "quit";

/// What the icon shows; one picture per operator state (`icons/tray/*.png`: offline, ready, ringing, talking,
/// break). The states beyond `Offline` arrive with the Oktell connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// Not connected to Oktell.
    Offline,
}

impl TrayState {
    fn picture(self) -> &'static [u8] {
        match self {
            TrayState::Offline => include_bytes!("../../icons/tray/offline.png"),
        }
    }

    fn tooltip(self) -> &'static str {
        match self {
            TrayState::Offline => "Oktell Panel — offline",
        }
    }
}

/// Creates the tray icon with its menu. Fails where the desktop has no tray support library.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let state = TrayState::Offline;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.picture())?)
        .tooltip(state.tooltip())
        .menu(&menu(app)?)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                windows::show_panel(tray.app_handle());
            }
        })
        .build(app)
}

/// The status entries stay disabled until the Oktell connection can carry them out.
fn menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let status = SubmenuBuilder::new(app, "Status")
        .item(
            &MenuItemBuilder::with_id("status.ready", "Ready")
                .enabled(false)
                .build(app)?,
        )
        .item(
            &MenuItemBuilder::with_id("status.break", "Break")
                .enabled(false)
                .build(app)?,
        )
        .item(
            &MenuItemBuilder::with_id("status.dnd", "Do not disturb")
                .enabled(false)
                .build(app)?,
        )
        .build()?;
    MenuBuilder::new(app)
        .item(&MenuItemBuilder::with_id(SHOW, "Show panel").build(app)?)
        .item(&status)
        .separator()
        .item(&MenuItemBuilder::with_id(QUIT, "Quit").build(app)?)
        .build()
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        SHOW => windows::show_panel(app),
        QUIT => {
            tracing::info!("quit from the tray menu");
            app.exit(0);
        }
        other => tracing::debug!(item = other, "tray menu item without an action yet"),
    }
}
