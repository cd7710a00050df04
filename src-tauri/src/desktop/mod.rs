//! Desktop integration: what makes the panel one application of the operator's session rather than a window.
//!
//! - [`audio_check`]: the settings window's microphone level and test sound;
//! - [`links`]: one instance per session; a second `oktell-panel tel:...` hands its link to the running one;
//! - [`hotkeys`]: global shortcuts that send the same commands as the panel's buttons;
//! - [`notify`]: desktop notifications, where the popup is off or cannot be shown;
//! - [`session`]: start with the session, and the panel's remembered place on the screen;
//! - [`words`]: the shell's own texts (tray, notifications) in the operator's language.
//!
//! [`plugin`] installs all of it, with the state the settings window reads and changes ([`Desktop`]).

pub mod audio_check;
pub mod hotkeys;
pub mod links;
pub mod notify;
pub mod session;
pub mod words;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use runtime::config::{Config, Language};
use runtime::paths::AppPaths;
use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime};

use crate::startup::Startup;

/// What the desktop side knows of the configuration, changed live by the settings window.
#[derive(Debug)]
pub struct Desktop {
    /// The configuration file the settings window edits.
    pub config_file: PathBuf,
    /// Where the `file` secrets store keeps passwords.
    pub secrets_file: Option<PathBuf>,
    ring_popup: AtomicBool,
    language: Mutex<Language>,
    hotkeys: hotkeys::Registry,
}

impl Desktop {
    fn new(startup: &Startup) -> Desktop {
        let behaviour = &startup.config.behaviour;
        Desktop {
            config_file: startup.config_file.clone(),
            secrets_file: AppPaths::for_current_user().map(|paths| paths.secrets_file()),
            ring_popup: AtomicBool::new(behaviour.ring_popup),
            language: Mutex::new(behaviour.language),
            hotkeys: hotkeys::Registry::default(),
        }
    }

    /// Whether ringing calls show the popup (otherwise a notification).
    pub fn ring_popup(&self) -> bool {
        self.ring_popup.load(Ordering::Relaxed)
    }

    /// The language the operator chose (`Auto`: the system's).
    pub fn language(&self) -> Language {
        *self.language.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The hotkeys as registered.
    pub fn hotkeys(&self) -> &hotkeys::Registry {
        &self.hotkeys
    }

    /// Switches the language and re-words the tray (the windows are told by the caller).
    pub fn set_language<R: Runtime>(&self, app: &tauri::AppHandle<R>, language: Language) {
        *self.language.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = language;
        crate::tray::relabel(app);
    }

    /// Applies what can change without a restart: popup, language, hotkeys, autostart.
    pub fn apply<R: Runtime>(&self, app: &tauri::AppHandle<R>, config: &Config) {
        self.ring_popup.store(config.behaviour.ring_popup, Ordering::Relaxed);
        self.set_language(app, config.behaviour.language);
        self.hotkeys.register(app, &config.hotkeys);
        session::apply_autostart(app, config.behaviour.autostart);
    }
}

/// The desktop integration as one plugin (after [`links::plugin`], which must be the first plugin of all).
pub fn plugin<R: Runtime>(startup: &Startup) -> TauriPlugin<R> {
    let desktop = Desktop::new(startup);
    let config = startup.config.clone();
    tauri::plugin::Builder::new("oktell-desktop")
        .setup(move |app, _api| {
            app.manage(desktop);
            app.manage(audio_check::AudioCheck::default());
            app.state::<Desktop>().apply(app, &config);
            Ok(())
        })
        .build()
}
