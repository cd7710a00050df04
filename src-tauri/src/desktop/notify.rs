//! Desktop notifications (D-Bus `org.freedesktop.Notifications` on Linux): the ringing call when the operator
//! turned the popup off or it cannot be shown, and what the operator must know while the panel is hidden.
//!
//! A desktop without a notification service only loses the toast: the failure is logged, never raised.

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

/// Shows one notification.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    let result = app.notification().builder().title(title).body(body).show();
    match result {
        Ok(()) => tracing::debug!(title, "notification shown"),
        Err(err) => tracing::warn!(%err, title, "the desktop did not show the notification"),
    }
}
