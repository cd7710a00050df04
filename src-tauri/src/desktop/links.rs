//! One panel per desktop session, and `tel:`/`sip:`/`callto:` links dialled through it.
//!
//! The desktop starts `oktell-panel LINK` for a clicked link (`packaging/oktell-panel.desktop`: `Exec=oktell-panel
//! %u`). When a panel already runs, the new process must not open a second softphone on the same account: the
//! single-instance plugin hands its command line to the running panel (over D-Bus on Linux) and the new process
//! exits 0. The running panel dials the link's number and comes to the front; when it cannot dial now (no panel
//! connected yet, or the model refuses), the number goes to the dial box instead, so the operator can press Dial.

use clap::Parser;
use runtime::panel::UiCommand;
use serde::Serialize;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::app::Shell;
use crate::cli::Cli;
use crate::view::dial_target;
use crate::windows;

/// The event that puts a number into the panel's dial box: `{"number": "+74951234567"}`.
pub const DIAL_EVENT: &str = "dial-link";

/// The payload of [`DIAL_EVENT`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DialLink {
    /// The number or address to dial.
    pub number: String,
}

/// The single-instance plugin; it must be registered before every other plugin, so a second process leaves before
/// anything else starts.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_single_instance::init(|app, argv, _cwd| on_second_instance(app, &argv))
}

fn on_second_instance<R: Runtime>(app: &AppHandle<R>, argv: &[String]) {
    windows::show_panel(app);
    let Some(number) = link_in(argv) else {
        tracing::info!("a second start without a link: the panel is shown");
        return;
    };
    tracing::info!("a link from a second start");
    dial(app, number);
}

/// The number of the link on a second process's command line, if it has one.
pub fn link_in(argv: &[String]) -> Option<String> {
    let cli = Cli::try_parse_from(argv).ok()?;
    if cli.command.is_some() {
        return None;
    }
    let number = dial_target(cli.link.as_deref()?);
    (!number.is_empty()).then_some(number)
}

/// Dials `number` through the panel, or shows it in the dial box when the panel cannot dial it now.
fn dial<R: Runtime>(app: &AppHandle<R>, number: String) {
    let Some(panel) = app.state::<Shell>().panel().cloned() else {
        to_dial_box(app, number);
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let command = UiCommand::Dial { number: number.clone() };
        if let Err(err) = panel.command(command).await {
            tracing::info!(%err, "the link could not be dialled now; it waits in the dial box");
            to_dial_box(&app, number);
        }
    });
}

fn to_dial_box<R: Runtime>(app: &AppHandle<R>, number: String) {
    if let Err(err) = app.emit_to(windows::MAIN, DIAL_EVENT, DialLink { number }) {
        tracing::warn!(%err, "could not hand the link to the panel window");
    }
}

#[cfg(test)]
mod tests {
    use super::link_in;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn a_second_start_with_a_link_yields_its_number() {
        assert_eq!(
            link_in(&argv(&["oktell-panel", "tel:+7%20495%20123-45-67"])).as_deref(),
            Some("+7 495 123-45-67")
        );
        assert_eq!(
            link_in(&argv(&[
                "/usr/bin/oktell-panel",
                "--config",
                "/etc/op.toml",
                "sip:102@pbx"
            ]))
            .as_deref(),
            Some("102@pbx")
        );
        assert_eq!(
            link_in(&argv(&["oktell-panel", "callto://89161234567"])).as_deref(),
            Some("89161234567")
        );
    }

    #[test]
    fn a_second_start_without_a_usable_link_dials_nothing() {
        assert_eq!(link_in(&argv(&["oktell-panel"])), None);
        assert_eq!(link_in(&argv(&["oktell-panel", "--demo"])), None);
        assert_eq!(link_in(&argv(&["oktell-panel", "tel:"])), None);
        assert_eq!(link_in(&argv(&["oktell-panel", "--no-such-flag", "tel:1"])), None);
    }
}
