//! The tray icon: its colour tells the operator's state at a glance, its menu reaches the panel and quits.
//!
//! On Linux the icon goes through libayatana-appindicator, which gives no click events and no icon position, so
//! every action is also in the menu; a left click (Windows, macOS) shows the panel.

use std::sync::{Mutex, PoisonError};

use runtime::panel::{StatusChoice, UiCommand};
use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::app::Shell;
use crate::desktop::words::{self, Lang, Text};
use crate::windows;

/// The id of the one tray icon.
pub const TRAY_ID: &str = "main";

const SHOW: &str = "show";
const SETTINGS: &str = "settings";
const QUIT: &str = "quit";
const STATUS_READY: &str = "status.ready";
const STATUS_READY_CALL_CENTER: &str = "status.ready_call_center";
const STATUS_BREAK: &str = "status.break";
const STATUS_DND: &str = "status.dnd";

/// What the icon shows; one picture per operator state (`icons/tray/*.png`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// Neither Oktell nor the softphone is usable.
    Offline,
    /// Ready for calls.
    Ready,
    /// A call rings.
    Ringing,
    /// In a call.
    Talking,
    /// On a break or do-not-disturb.
    Break,
}

impl From<runtime::panel::TrayState> for TrayState {
    fn from(state: runtime::panel::TrayState) -> Self {
        use runtime::panel::TrayState as Model;
        match state {
            Model::Offline => TrayState::Offline,
            Model::Ready => TrayState::Ready,
            Model::Ringing => TrayState::Ringing,
            Model::Talking => TrayState::Talking,
            Model::Break => TrayState::Break,
        }
    }
}

impl TrayState {
    fn picture(self) -> &'static [u8] {
        match self {
            TrayState::Offline => include_bytes!("../../icons/tray/offline.png"),
            TrayState::Ready => include_bytes!("../../icons/tray/ready.png"),
            TrayState::Ringing => include_bytes!("../../icons/tray/ringing.png"),
            TrayState::Talking => include_bytes!("../../icons/tray/talking.png"),
            TrayState::Break => include_bytes!("../../icons/tray/break.png"),
        }
    }

    fn tooltip(self, lang: Lang) -> &'static str {
        match self {
            TrayState::Offline => Text::TrayOffline,
            TrayState::Ready => Text::TrayReady,
            TrayState::Ringing => Text::TrayRinging,
            TrayState::Talking => Text::TrayTalking,
            TrayState::Break => Text::TrayBreak,
        }
        .in_lang(lang)
    }
}

/// The state the icon shows now, kept so a language change can re-word the tooltip.
struct Shown(Mutex<TrayState>);

/// Switches the icon and tooltip to `state`; a missing tray (no support library) is not an error.
pub fn show<R: Runtime>(app: &AppHandle<R>, state: TrayState) {
    if let Some(shown) = app.try_state::<Shown>() {
        *shown.0.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let result = Image::from_bytes(state.picture())
        .and_then(|icon| tray.set_icon(Some(icon)))
        .and_then(|()| tray.set_tooltip(Some(state.tooltip(words::current(app)))));
    if let Err(err) = result {
        tracing::warn!(%err, ?state, "could not update the tray icon");
    }
}

/// Re-words the menu and the tooltip after the operator switched the language.
pub fn relabel<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let state = app.try_state::<Shown>().map_or(TrayState::Offline, |shown| {
        *shown.0.lock().unwrap_or_else(PoisonError::into_inner)
    });
    let lang = words::current(app);
    let result = menu(app, lang)
        .and_then(|menu| tray.set_menu(Some(menu)))
        .and_then(|()| tray.set_tooltip(Some(state.tooltip(lang))));
    if let Err(err) = result {
        tracing::warn!(%err, "could not re-word the tray menu");
    }
}

/// Creates the tray icon with its menu. Fails where the desktop has no tray support library.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let state = TrayState::Offline;
    app.manage(Shown(Mutex::new(state)));
    let lang = words::current(app);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.picture())?)
        .tooltip(state.tooltip(lang))
        .menu(&menu(app, lang)?)
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

/// The status entries send the same command as the panel's selector (a break takes the first reason); the model
/// refuses them while Oktell is not connected, and the refusal shows in the panel.
fn menu<R: Runtime>(app: &AppHandle<R>, lang: Lang) -> tauri::Result<Menu<R>> {
    let item = |id: &str, text: Text| MenuItemBuilder::with_id(id, text.in_lang(lang)).build(app);
    let status = SubmenuBuilder::new(app, Text::Status.in_lang(lang))
        .item(&item(STATUS_READY, Text::Ready)?)
        .item(&item(STATUS_READY_CALL_CENTER, Text::ReadyCallCenter)?)
        .item(&item(STATUS_BREAK, Text::Break)?)
        .item(&item(STATUS_DND, Text::DoNotDisturb)?)
        .build()?;
    MenuBuilder::new(app)
        .item(&item(SHOW, Text::ShowPanel)?)
        .item(&status)
        .item(&item(SETTINGS, Text::Settings)?)
        .separator()
        .item(&item(QUIT, Text::Quit)?)
        .build()
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        SHOW => windows::show_panel(app),
        SETTINGS => {
            if let Err(err) = windows::show_settings(app) {
                tracing::warn!(%err, "could not open the settings window");
            }
        }
        QUIT => {
            tracing::info!("quit from the tray menu");
            app.exit(0);
        }
        STATUS_READY => set_status(app, StatusChoice::Ready),
        STATUS_READY_CALL_CENTER => set_status(app, StatusChoice::ReadyCallCenter),
        STATUS_BREAK => set_status(app, StatusChoice::Break { reason: None }),
        STATUS_DND => set_status(app, StatusChoice::Dnd),
        other => tracing::debug!(item = other, "unknown tray menu item"),
    }
}

fn set_status<R: Runtime>(app: &AppHandle<R>, status: StatusChoice) {
    let Some(panel) = app.state::<Shell>().panel().cloned() else {
        tracing::info!("the agent status cannot change: the panel is not connected");
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(err) = panel.command(UiCommand::SetStatus(status)).await {
            tracing::info!(%err, "status change from the tray refused");
        }
    });
}
