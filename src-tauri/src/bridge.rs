//! Carries the panel task's output to the desktop: every new view goes to every window as the `view` event, the
//! tray icon follows its tray state and the popup window its `popup` field; the effects only the shell can carry
//! out are handled here: the ringtone plays on the ringer device, and a Creatio card opens in the operator's default
//! browser.

use runtime::panel::ringer::Ringer;
use runtime::panel::{Panel, PanelView, ShellEffect};
use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::mpsc;

use crate::{tray, windows};

/// The event every window listens to; its payload is the whole [`PanelView`].
pub const VIEW_EVENT: &str = "view";

/// Starts following `panel` until it stops.
pub fn start<R: Runtime>(app: AppHandle<R>, panel: &Panel, effects: mpsc::Receiver<ShellEffect>, ringer: Ringer) {
    tauri::async_runtime::spawn(follow_views(app, panel.views()));
    tauri::async_runtime::spawn(carry_out(effects, ringer));
}

async fn follow_views<R: Runtime>(app: AppHandle<R>, mut views: tokio::sync::watch::Receiver<PanelView>) {
    let mut shown: Option<(tray::TrayState, bool)> = None;
    loop {
        let view = views.borrow_and_update().clone();
        let now = (tray::TrayState::from(view.tray), view.popup.is_some());
        if shown.is_none_or(|(tray_state, _)| tray_state != now.0) {
            tray::show(&app, now.0);
        }
        if shown.is_none_or(|(_, popup)| popup != now.1) {
            windows::set_popup_visible(&app, now.1);
        }
        shown = Some(now);
        if let Err(err) = app.emit(VIEW_EVENT, &view) {
            tracing::warn!(%err, rev = view.rev, "could not send the view to the windows");
        }
        if views.changed().await.is_err() {
            tracing::info!("the panel has stopped; the windows keep the last view");
            return;
        }
    }
}

/// The popup follows the view (a state, not an edge), so its effects need no work here.
async fn carry_out(mut effects: mpsc::Receiver<ShellEffect>, mut ringer: Ringer) {
    while let Some(effect) = effects.recv().await {
        match effect {
            ShellEffect::Notify(notification) => tracing::info!(
                title = %notification.title,
                "desktop notifications are not wired yet; the panel and popup show the call"
            ),
            ShellEffect::StartRingtone => ringer.start(),
            ShellEffect::StopRingtone => ringer.stop(),
            ShellEffect::ShowPopup | ShellEffect::HidePopup => {}
            ShellEffect::OpenCard(url) => {
                if let Err(err) = tauri_plugin_opener::open_url(url.as_str(), None::<&str>) {
                    tracing::warn!(%err, "could not open the Creatio card in the browser");
                }
            }
        }
    }
}
