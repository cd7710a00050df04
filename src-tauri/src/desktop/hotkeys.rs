//! Global shortcuts for call control: answer, hang up, hold, whichever application has the focus.
//!
//! A shortcut sends the same [`UiCommand`] as the panel's button, so the call model decides exactly as it would for
//! a click (and a refusal shows in the panel's notice). The accelerators come from `[hotkeys]`; their shape is
//! checked with the rest of the configuration, but only the desktop can tell whether one is free: a shortcut taken
//! by another application is logged, announced in a notification and listed in the settings window, and the
//! others still work.

use std::sync::Mutex;

use call::Action;
use runtime::config::HotkeysConfig;
use runtime::panel::UiCommand;
use serde::Serialize;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

use super::words::{self, Text};
use super::{Desktop, notify};
use crate::app::Shell;

/// What a shortcut does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HotkeyAction {
    /// Answer the ringing call.
    Answer,
    /// Hang up the current call, or decline the ringing one.
    Hangup,
    /// Hold the current call, or take the held one back.
    Hold,
    /// Mute the microphone.
    Mute,
}

impl HotkeyAction {
    fn of_field(field: &str) -> Option<HotkeyAction> {
        match field {
            "hotkeys.answer" => Some(HotkeyAction::Answer),
            "hotkeys.hangup" => Some(HotkeyAction::Hangup),
            "hotkeys.hold" => Some(HotkeyAction::Hold),
            "hotkeys.mute" => Some(HotkeyAction::Mute),
            _ => None,
        }
    }

    /// The command the panel's button for this action would send now (the model refuses it, with a notice,
    /// when it is not possible).
    pub fn command(self, possible: &[Action]) -> UiCommand {
        let can = |action| possible.contains(&action);
        match self {
            HotkeyAction::Answer => UiCommand::Answer,
            HotkeyAction::Hangup if !can(Action::Hangup) && can(Action::Decline) => UiCommand::Decline,
            HotkeyAction::Hangup => UiCommand::Hangup,
            HotkeyAction::Hold if can(Action::Resume) && !can(Action::Hold) => UiCommand::Resume,
            HotkeyAction::Hold => UiCommand::Hold,
            // The softphone's microphone; the view's `muted` tells which way it went.
            HotkeyAction::Mute => UiCommand::ToggleMute,
        }
    }
}

/// How one shortcut stands, for the settings window.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HotkeyStatus {
    /// What it does.
    pub action: HotkeyAction,
    /// The accelerator from the configuration.
    pub accelerator: String,
    /// `active`, `off` (no accelerator) or `taken` (the desktop refused it).
    pub state: &'static str,
    /// Why it is not active, in words.
    pub detail: Option<String>,
}

#[derive(Debug)]
struct Bound {
    action: HotkeyAction,
    shortcut: Shortcut,
}

/// The shortcuts in force and the outcome of each registration.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<(Vec<Bound>, Vec<HotkeyStatus>)>,
}

impl Registry {
    /// Replaces the registered shortcuts with `config`'s.
    pub fn register<R: Runtime>(&self, app: &AppHandle<R>, config: &HotkeysConfig) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let shortcuts = app.global_shortcut();
        for bound in inner.0.drain(..) {
            if let Err(err) = shortcuts.unregister(bound.shortcut) {
                tracing::debug!(%err, action = ?bound.action, "could not release a shortcut");
            }
        }
        let mut statuses = Vec::new();
        let mut problems = Vec::new();
        for (field, accelerator) in config.fields() {
            let Some(action) = HotkeyAction::of_field(field) else {
                continue;
            };
            let status = |state, detail: Option<String>| HotkeyStatus {
                action,
                accelerator: accelerator.to_owned(),
                state,
                detail,
            };
            let accelerator = normalize(accelerator);
            if accelerator.is_empty() {
                statuses.push(status("off", None));
                continue;
            }
            let registered = accelerator
                .parse::<Shortcut>()
                .map_err(|err| err.to_string())
                .and_then(|shortcut| {
                    shortcuts
                        .register(shortcut)
                        .map(|()| shortcut)
                        .map_err(|err| err.to_string())
                });
            match registered {
                Ok(shortcut) => {
                    tracing::info!(?action, %accelerator, "global shortcut registered");
                    inner.0.push(Bound { action, shortcut });
                    statuses.push(status("active", None));
                }
                Err(err) => {
                    tracing::warn!(%err, ?action, %accelerator, "global shortcut not registered");
                    problems.push(accelerator.clone());
                    statuses.push(status("taken", Some(err)));
                }
            }
        }
        inner.1 = statuses;
        drop(inner);
        if !problems.is_empty() {
            let lang = words::current(app);
            notify::show(
                app,
                Text::HotkeysUnavailable.in_lang(lang),
                &format!("{} {}", Text::HotkeysTaken.in_lang(lang), problems.join(", ")),
            );
        }
    }

    /// The outcome of the last registration, one entry per configured shortcut.
    pub fn statuses(&self) -> Vec<HotkeyStatus> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clone()
    }

    fn action_of(&self, shortcut: &Shortcut) -> Option<HotkeyAction> {
        let inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner
            .0
            .iter()
            .find(|bound| bound.shortcut.id() == shortcut.id())
            .map(|bound| bound.action)
    }
}

/// `Ctrl + Alt + a` as the shortcut parser wants it: no blanks around the parts.
fn normalize(accelerator: &str) -> String {
    if accelerator.trim().is_empty() {
        return String::new();
    }
    accelerator.split('+').map(str::trim).collect::<Vec<_>>().join("+")
}

/// The global-shortcut plugin, with the handler that turns a press into a panel command.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, shortcut, event| {
            if event.state == ShortcutState::Pressed {
                pressed(app, shortcut);
            }
        })
        .build()
}

fn pressed<R: Runtime>(app: &AppHandle<R>, shortcut: &Shortcut) {
    let Some(action) = app
        .try_state::<Desktop>()
        .and_then(|desktop| desktop.hotkeys().action_of(shortcut))
    else {
        return;
    };
    let Some(panel) = app.state::<Shell>().panel().cloned() else {
        tracing::info!(?action, "hotkey pressed, but the panel is not connected");
        return;
    };
    let possible = panel.views().borrow().actions.clone();
    let command = action.command(&possible);
    tracing::info!(?action, "hotkey");
    tauri::async_runtime::spawn(async move {
        if let Err(err) = panel.command(command).await {
            tracing::info!(%err, ?action, "hotkey refused");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_toggles_and_hangup_declines_a_ringing_call() {
        assert_eq!(HotkeyAction::Hold.command(&[Action::Hold]), UiCommand::Hold);
        assert_eq!(HotkeyAction::Hold.command(&[Action::Resume]), UiCommand::Resume);
        assert_eq!(
            HotkeyAction::Hangup.command(&[Action::Answer, Action::Decline]),
            UiCommand::Decline
        );
        assert_eq!(
            HotkeyAction::Hangup.command(&[Action::Hangup, Action::Hold]),
            UiCommand::Hangup
        );
        assert_eq!(HotkeyAction::Answer.command(&[]), UiCommand::Answer);
        assert_eq!(HotkeyAction::Mute.command(&[Action::ToggleMute]), UiCommand::ToggleMute);
    }

    /// What the configuration accepts, the shortcut parser must parse: the two are separate code.
    #[test]
    fn every_accelerator_the_configuration_accepts_parses_as_a_shortcut() {
        let defaults = HotkeysConfig::default();
        let mut accelerators: Vec<String> = defaults.fields().iter().map(|(_, a)| (*a).to_owned()).collect();
        accelerators.extend(
            [
                "F9",
                "f24",
                "Super+1",
                "CmdOrCtrl+Space",
                " Alt + PageDown ",
                "Shift+Numpad5",
                "Ctrl+Esc",
                "Ctrl+ArrowUp",
                "Ctrl+Backquote",
                "Option+Enter",
                "Control+Insert",
                "Command+Pause",
                "CommandOrCtrl+Slash",
                "Ctrl+NumpadEnter",
                "Ctrl+PrintScreen",
                "Alt+BracketLeft",
            ]
            .map(str::to_owned),
        );
        for accelerator in accelerators {
            assert_eq!(
                runtime::config::check_accelerator(&accelerator),
                Ok(()),
                "{accelerator}"
            );
            let parsed = normalize(&accelerator).parse::<Shortcut>();
            assert!(parsed.is_ok(), "{accelerator}: {parsed:?}");
        }
    }

    #[test]
    fn accelerators_lose_their_blanks_and_empty_means_off() {
        assert_eq!(normalize(" Ctrl + Alt + A "), "Ctrl+Alt+A");
        assert_eq!(normalize("  "), "");
    }
}
