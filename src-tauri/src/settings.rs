//! The settings window's commands: read the configuration as a form, write the form back into the TOML file
//! (keeping the administrator's comments and every field the form does not show), keep passwords in the secrets
//! store, and switch the language.
//!
//! The file is validated by the same [`Config::parse`] as at start-up before it replaces the old one, so the
//! settings window cannot write a file the panel would refuse. Passwords go to the store the configuration names
//! (`[secrets] store`) and never come back to a window: the form only learns whether one is saved.

use std::path::Path;

use runtime::config::{Config, ConfigError, HotkeysConfig, Language};
use runtime::secrets::{self, Secret, SecretKey};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Runtime, State};
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::cli::System;
use crate::desktop::Desktop;
use crate::desktop::hotkeys::HotkeyStatus;
use crate::tools::secret::key_for;
use crate::windows;

/// The event every window re-renders its text on: `"en"`, `"ru"` or `"auto"`.
pub const LANGUAGE_EVENT: &str = "language";

/// A refused settings action: a stable `code` and a sentence for the operator.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SettingsError {
    code: &'static str,
    message: String,
}

impl SettingsError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> SettingsError {
        SettingsError {
            code,
            message: message.into(),
        }
    }
}

/// The window shows the file's path on its own, so a wrong value is named by its field alone.
impl From<ConfigError> for SettingsError {
    fn from(err: ConfigError) -> Self {
        match err {
            ConfigError::Invalid { field, problem, .. } => {
                SettingsError::new("config.invalid", format!("`{field}`: {problem}"))
            }
            ConfigError::Syntax { message, .. } => SettingsError::new("config.invalid", message),
            ConfigError::Read { .. } => SettingsError::new("config.read", err.to_string()),
        }
    }
}

/// The Oktell account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktellForm {
    /// Server addresses.
    pub urls: Vec<String>,
    /// The operator's login.
    pub login: String,
}

/// The SIP account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipForm {
    /// The address of record.
    pub uri: String,
    /// The registrar; empty: the host of `uri`.
    pub registrar: String,
    /// The digest user; empty: the user part of `uri`.
    pub auth_user: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
}

/// The Creatio account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatioForm {
    /// The site.
    pub url: String,
    /// The user.
    pub user: String,
    /// `ring`, `answer` or `never`.
    pub open_card: String,
}

/// Devices by name; empty: the system default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioForm {
    /// Microphone.
    pub input: String,
    /// Headset.
    pub output: String,
    /// Ringer.
    pub ringer: String,
}

/// Workstation behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviourForm {
    /// Start in the tray.
    pub start_hidden: bool,
    /// The ringing popup (else a notification).
    pub ring_popup: bool,
    /// Answer intercom calls at once.
    pub auto_answer_intercom: bool,
    /// Start with the session.
    pub autostart: bool,
    /// `auto`, `en` or `ru`.
    pub language: String,
}

/// Everything the settings window edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    /// Oktell.
    pub oktell: OktellForm,
    /// SIP.
    pub sip: SipForm,
    /// Creatio.
    pub creatio: CreatioForm,
    /// Audio devices.
    pub audio: AudioForm,
    /// Behaviour.
    pub behaviour: BehaviourForm,
    /// Global shortcuts.
    pub hotkeys: HotkeysConfig,
}

fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl SettingsForm {
    /// The form showing `config`.
    pub fn of(config: &Config) -> SettingsForm {
        let oktell = config.oktell.as_ref();
        let sip = config.sip.as_ref();
        let creatio = config.creatio.as_ref();
        SettingsForm {
            oktell: OktellForm {
                urls: oktell.map(|o| o.urls.clone()).unwrap_or_default(),
                login: oktell.map(|o| o.login.clone()).unwrap_or_default(),
            },
            sip: SipForm {
                uri: sip.map(|s| s.uri.clone()).unwrap_or_default(),
                registrar: sip.and_then(|s| s.registrar.clone()).unwrap_or_default(),
                auth_user: sip.and_then(|s| s.auth_user.clone()).unwrap_or_default(),
                transport: word(&sip.map(|s| s.transport).unwrap_or_default()),
            },
            creatio: CreatioForm {
                url: creatio.map(|c| c.url.clone()).unwrap_or_default(),
                user: creatio.map(|c| c.user.clone()).unwrap_or_default(),
                open_card: word(&creatio.map(|c| c.open_card).unwrap_or_default()),
            },
            audio: AudioForm {
                input: config.audio.input.clone().unwrap_or_default(),
                output: config.audio.output.clone().unwrap_or_default(),
                ringer: config.audio.ringer.clone().unwrap_or_default(),
            },
            behaviour: BehaviourForm {
                start_hidden: config.behaviour.start_hidden,
                ring_popup: config.behaviour.ring_popup,
                auto_answer_intercom: config.behaviour.auto_answer_intercom,
                autostart: config.behaviour.autostart,
                language: word(&config.behaviour.language),
            },
            hotkeys: config.hotkeys.clone(),
        }
    }
}

/// One key of a section: its new value, or `None` to remove it.
type Field = (&'static str, Option<Item>);

fn optional(field: &str) -> Option<Item> {
    let field = field.trim();
    (!field.is_empty()).then(|| value(field))
}

/// Writes `fields` into `[name]`, creating the table if needed; with `present` false the section goes.
fn set_section(doc: &mut DocumentMut, name: &str, present: bool, fields: Vec<Field>) {
    if !present {
        doc.remove(name);
        return;
    }
    let table = doc
        .entry(name)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut();
    let Some(table) = table else {
        doc.insert(name, Item::Table(Table::new()));
        return set_section(doc, name, present, fields);
    };
    for (key, item) in fields {
        match item {
            Some(item) => {
                let unchanged = table
                    .get(key)
                    .is_some_and(|old| old.to_string().trim() == item.to_string().trim());
                if !unchanged {
                    table.insert(key, item);
                }
            }
            None => {
                table.remove(key);
            }
        }
    }
}

/// A key that keeps its default stays out of the file unless the file already has it.
fn unless_default<T: PartialEq>(
    doc: &DocumentMut,
    section: &str,
    key: &str,
    new: T,
    default: T,
    item: Item,
) -> Option<Item> {
    let present = doc.get(section).and_then(|table| table.get(key)).is_some();
    (present || new != default).then_some(item)
}

/// `text` (the configuration file as it is) with the form written into it.
pub fn edit(file: &str, form: &SettingsForm) -> Result<String, String> {
    let mut doc: DocumentMut = file.parse().map_err(|err| format!("{err}"))?;
    let urls: Array = form
        .oktell
        .urls
        .iter()
        .map(|url| url.trim())
        .filter(|url| !url.is_empty())
        .collect();
    let oktell_present = !urls.is_empty() || !form.oktell.login.trim().is_empty();
    set_section(
        &mut doc,
        "oktell",
        oktell_present,
        vec![
            ("urls", Some(value(urls))),
            ("login", Some(value(form.oktell.login.trim()))),
        ],
    );
    let sip_present = !form.sip.uri.trim().is_empty();
    let transport = (!form.sip.transport.is_empty() && form.sip.transport != "udp").then(|| value(&form.sip.transport));
    let transport = transport.or_else(|| {
        doc.get("sip")
            .and_then(|sip| sip.get("transport"))
            .map(|_| value(&form.sip.transport))
    });
    set_section(
        &mut doc,
        "sip",
        sip_present,
        vec![
            ("uri", optional(&form.sip.uri)),
            ("registrar", optional(&form.sip.registrar)),
            ("auth_user", optional(&form.sip.auth_user)),
            ("transport", transport),
        ],
    );
    let creatio_present = !form.creatio.url.trim().is_empty() || !form.creatio.user.trim().is_empty();
    let open_card = unless_default(
        &doc,
        "creatio",
        "open_card",
        form.creatio.open_card.as_str(),
        "ring",
        value(&form.creatio.open_card),
    );
    set_section(
        &mut doc,
        "creatio",
        creatio_present,
        vec![
            ("url", Some(value(form.creatio.url.trim()))),
            ("user", Some(value(form.creatio.user.trim()))),
            ("open_card", open_card),
        ],
    );
    let audio = &form.audio;
    let audio_present = doc.get("audio").is_some()
        || [&audio.input, &audio.output, &audio.ringer]
            .iter()
            .any(|d| !d.is_empty());
    set_section(
        &mut doc,
        "audio",
        audio_present,
        vec![
            ("input", optional(&audio.input)),
            ("output", optional(&audio.output)),
            ("ringer", optional(&audio.ringer)),
        ],
    );
    let b = &form.behaviour;
    let fields = vec![
        (
            "start_hidden",
            unless_default(
                &doc,
                "behaviour",
                "start_hidden",
                b.start_hidden,
                false,
                value(b.start_hidden),
            ),
        ),
        (
            "ring_popup",
            unless_default(&doc, "behaviour", "ring_popup", b.ring_popup, true, value(b.ring_popup)),
        ),
        (
            "auto_answer_intercom",
            unless_default(
                &doc,
                "behaviour",
                "auto_answer_intercom",
                b.auto_answer_intercom,
                false,
                value(b.auto_answer_intercom),
            ),
        ),
        (
            "autostart",
            unless_default(&doc, "behaviour", "autostart", b.autostart, false, value(b.autostart)),
        ),
        (
            "language",
            unless_default(
                &doc,
                "behaviour",
                "language",
                b.language.as_str(),
                "auto",
                value(&b.language),
            ),
        ),
    ];
    let behaviour_present = doc.get("behaviour").is_some() || fields.iter().any(|(_, item)| item.is_some());
    set_section(&mut doc, "behaviour", behaviour_present, fields);
    let defaults = HotkeysConfig::default();
    let fields: Vec<Field> = form
        .hotkeys
        .fields()
        .into_iter()
        .zip(defaults.fields())
        .map(|((field, accelerator), (_, default))| {
            let key = field.trim_start_matches("hotkeys.");
            let key: &'static str = match key {
                "answer" => "answer",
                "hangup" => "hangup",
                "hold" => "hold",
                _ => "mute",
            };
            (
                key,
                unless_default(&doc, "hotkeys", key, accelerator, default, value(accelerator.trim())),
            )
        })
        .collect();
    let hotkeys_present = doc.get("hotkeys").is_some() || fields.iter().any(|(_, item)| item.is_some());
    set_section(&mut doc, "hotkeys", hotkeys_present, fields);
    Ok(doc.to_string())
}

/// What the operator must know after saving: the parts that only take effect after a restart.
pub fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut parts = Vec::new();
    if old.oktell != new.oktell || old.sip != new.sip || old.creatio != new.creatio || old.secrets != new.secrets {
        parts.push("accounts");
    }
    if old.audio != new.audio {
        parts.push("audio");
    }
    if old.behaviour.auto_answer_intercom != new.behaviour.auto_answer_intercom
        || old.creatio.as_ref().map(|c| c.open_card) != new.creatio.as_ref().map(|c| c.open_card)
    {
        parts.push("call_behaviour");
    }
    parts
}

/// Replaces the file through a sibling, so a crash never leaves half a configuration.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

fn read_text(path: &Path) -> Result<String, SettingsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// Whether a system's password is in the store: `saved`, `none`, `no_account` or `unavailable`.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordState {
    /// `oktell`, `sip` or `creatio`.
    pub system: &'static str,
    /// The state word.
    pub state: &'static str,
    /// Why the store could not be asked.
    pub detail: Option<String>,
}

/// The settings window's content.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    /// The file being edited.
    pub config_file: String,
    /// The form.
    pub form: SettingsForm,
    /// The passwords, without their values.
    pub passwords: Vec<PasswordState>,
    /// `keyring` or `file`.
    pub secrets_store: String,
    /// How each shortcut stands.
    pub hotkeys: Vec<HotkeyStatus>,
}

const SYSTEMS: [(System, &str); 3] = [
    (System::Oktell, "oktell"),
    (System::Sip, "sip"),
    (System::Creatio, "creatio"),
];

fn password_states(config: &Config, secrets_file: Option<&Path>) -> Vec<PasswordState> {
    SYSTEMS
        .iter()
        .map(|&(system, name)| {
            let state = |state, detail| PasswordState {
                system: name,
                state,
                detail,
            };
            let (Some(key), Some(file)) = (key_for(config, system), secrets_file) else {
                return state("no_account", None);
            };
            match secrets::open(config.secrets.store, file).get(&key) {
                Ok(Some(_)) => state("saved", None),
                Ok(None) => state("none", None),
                Err(err) => state("unavailable", Some(err.to_string())),
            }
        })
        .collect()
}

/// Opens the settings window (from the panel; the tray menu opens it directly).
#[tauri::command]
pub fn open_settings<R: Runtime>(app: AppHandle<R>) -> Result<(), SettingsError> {
    windows::show_settings(&app).map_err(|err| SettingsError::new("window", err.to_string()))
}

/// The configuration as the settings form, with the state of passwords and hotkeys.
#[tauri::command]
pub async fn settings_load(desktop: State<'_, Desktop>) -> Result<SettingsView, SettingsError> {
    let config = Config::load_or_default(&desktop.config_file)?;
    let secrets_file = desktop.secrets_file.clone();
    let store_config = config.clone();
    let passwords =
        tauri::async_runtime::spawn_blocking(move || password_states(&store_config, secrets_file.as_deref()))
            .await
            .map_err(|err| SettingsError::new("internal", err.to_string()))?;
    Ok(SettingsView {
        config_file: desktop.config_file.display().to_string(),
        form: SettingsForm::of(&config),
        passwords,
        secrets_store: word(&config.secrets.store),
        hotkeys: desktop.hotkeys().statuses(),
    })
}

/// What saving did.
#[derive(Debug, Serialize)]
pub struct SaveOutcome {
    /// The parts that take effect after a restart: `accounts`, `audio`, `call_behaviour`.
    pub restart: Vec<&'static str>,
    /// How each shortcut stands now.
    pub hotkeys: Vec<HotkeyStatus>,
}

/// Validates the form as a configuration, writes it, and applies what can change at once.
#[tauri::command]
pub fn settings_save<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    form: SettingsForm,
) -> Result<SaveOutcome, SettingsError> {
    let path = desktop.config_file.as_path();
    let old_text = read_text(path)?;
    let old = Config::parse(&old_text, path)?;
    let new_text = edit(&old_text, &form).map_err(|err| SettingsError::new("config.invalid", err))?;
    let new = Config::parse(&new_text, path)?;
    write_file(path, &new_text)
        .map_err(|err| SettingsError::new("config.write", format!("cannot write {}: {err}", path.display())))?;
    tracing::info!(file = %path.display(), "settings saved");
    desktop.apply(&app, &new);
    if old.behaviour.language != new.behaviour.language {
        announce_language(&app, new.behaviour.language);
    }
    Ok(SaveOutcome {
        restart: needs_restart(&old, &new),
        hotkeys: desktop.hotkeys().statuses(),
    })
}

/// Keeps a system's password in the store the configuration names, for the account saved in the file.
#[tauri::command]
pub async fn settings_save_password(
    desktop: State<'_, Desktop>,
    system: String,
    password: String,
) -> Result<(), SettingsError> {
    let system = SYSTEMS
        .iter()
        .find(|(_, name)| *name == system)
        .map(|(system, _)| *system)
        .ok_or_else(|| SettingsError::new("malformed", format!("`{system}` is not oktell, sip or creatio")))?;
    if password.is_empty() {
        return Err(SettingsError::new(
            "password.empty",
            "The password is empty; nothing was saved.",
        ));
    }
    let config = Config::load_or_default(&desktop.config_file)?;
    let key: SecretKey = key_for(&config, system)
        .ok_or_else(|| SettingsError::new("password.no_account", "Save the account first, then its password."))?;
    let file = desktop.secrets_file.clone().ok_or_else(|| {
        SettingsError::new(
            "password.no_home",
            "This account has no home folder to keep passwords in.",
        )
    })?;
    let store = config.secrets.store;
    let secret = Secret::new(password);
    tauri::async_runtime::spawn_blocking(move || secrets::open(store, &file).set(&key, &secret))
        .await
        .map_err(|err| SettingsError::new("internal", err.to_string()))?
        .map_err(|err| SettingsError::new("password.store", err.to_string()))?;
    tracing::info!(system = ?system, "password saved");
    Ok(())
}

/// The language the operator chose: `auto`, `en` or `ru`.
#[tauri::command]
pub fn ui_language(desktop: State<'_, Desktop>) -> String {
    word(&desktop.language())
}

/// Switches the language of every window and keeps the choice in the configuration file.
#[tauri::command]
pub fn set_language<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    language: String,
) -> Result<(), SettingsError> {
    let path = desktop.config_file.as_path();
    let old_text = read_text(path)?;
    let mut form = SettingsForm::of(&Config::parse(&old_text, path)?);
    form.behaviour.language = language;
    let new_text = edit(&old_text, &form).map_err(|err| SettingsError::new("config.invalid", err))?;
    let new = Config::parse(&new_text, path)?;
    write_file(path, &new_text)
        .map_err(|err| SettingsError::new("config.write", format!("cannot write {}: {err}", path.display())))?;
    desktop.set_language(&app, new.behaviour.language);
    announce_language(&app, new.behaviour.language);
    Ok(())
}

fn announce_language<R: Runtime>(app: &AppHandle<R>, language: Language) {
    if let Err(err) = app.emit(LANGUAGE_EVENT, word(&language)) {
        tracing::warn!(%err, "could not tell the windows the new language");
    }
}

/// A device the settings lists offer.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    /// The name stored in the configuration.
    pub name: String,
    /// `capture` or `playback`.
    pub direction: String,
    /// The system's default for its direction.
    pub is_default: bool,
}

/// The sound devices connected now (listing may talk to the sound server for a moment).
#[tauri::command]
pub async fn audio_devices() -> Result<Vec<DeviceView>, SettingsError> {
    use runtime::audio::AudioBackend as _;
    let listed = tauri::async_runtime::spawn_blocking(|| runtime::audio::backend::cpal::CpalBackend::new().devices())
        .await
        .map_err(|err| SettingsError::new("internal", err.to_string()))?;
    let devices = listed.map_err(|err| SettingsError::new("audio", err.to_string()))?;
    Ok(devices
        .into_iter()
        .map(|device| DeviceView {
            name: device.name,
            direction: device.direction.to_string(),
            is_default: device.is_default,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, Path::new("config.toml")).unwrap()
    }

    const COMMENTED: &str = r#"# Rolled out by IT, ticket 4711.
[oktell]
# The primary PBX first.
urls = ["ws://pbx1:4066"]
login = "op1"
ca_file = "/etc/oktell/ca.pem"

[secrets]
store = "file"
"#;

    #[test]
    fn saving_keeps_comments_and_fields_the_form_does_not_show() {
        let mut form = SettingsForm::of(&parse(COMMENTED));
        form.oktell.login = "op2".into();
        form.behaviour.ring_popup = false;
        let text = edit(COMMENTED, &form).unwrap();
        assert!(text.contains("# Rolled out by IT, ticket 4711."), "{text}");
        assert!(text.contains("# The primary PBX first."), "{text}");
        let config = parse(&text);
        let oktell = config.oktell.unwrap();
        assert_eq!(oktell.login, "op2");
        assert_eq!(oktell.ca_file.as_deref(), Some(Path::new("/etc/oktell/ca.pem")));
        assert!(!config.behaviour.ring_popup);
        assert_eq!(config.secrets.store, runtime::config::SecretStoreKind::File);
        assert!(!text.contains("[hotkeys]"), "defaults stay out of the file: {text}");
    }

    #[test]
    fn an_unchanged_form_leaves_the_file_as_it_was() {
        let form = SettingsForm::of(&parse(COMMENTED));
        assert_eq!(edit(COMMENTED, &form).unwrap(), COMMENTED);
    }

    #[test]
    fn emptied_accounts_leave_the_file_and_new_ones_enter_it() {
        let mut form = SettingsForm::of(&parse(COMMENTED));
        form.oktell = OktellForm::default();
        form.sip.uri = "sip:101@pbx.local".into();
        form.sip.transport = "tcp".into();
        form.creatio.url = "https://crm.example.com".into();
        form.creatio.user = "op1".into();
        form.creatio.open_card = "answer".into();
        form.hotkeys.answer = "F9".into();
        let config = parse(&edit(COMMENTED, &form).unwrap());
        assert!(config.oktell.is_none());
        assert_eq!(config.sip.unwrap().transport, runtime::config::SipTransport::Tcp);
        assert_eq!(config.creatio.unwrap().open_card, runtime::config::OpenCard::Answer);
        assert_eq!(config.hotkeys.answer, "F9");
    }

    #[test]
    fn a_form_the_configuration_refuses_is_not_written() {
        let mut form = SettingsForm::of(&parse(""));
        form.hotkeys.hold = "Ctrl+Nope".into();
        let text = edit("", &form).unwrap();
        let err = SettingsError::from(Config::parse(&text, Path::new("config.toml")).unwrap_err());
        assert_eq!(err.code, "config.invalid");
        assert!(err.message.contains("hotkeys.hold"), "{}", err.message);
    }

    #[test]
    fn only_accounts_audio_and_call_behaviour_need_a_restart() {
        let old = parse(COMMENTED);
        let mut new = old.clone();
        new.behaviour.language = Language::Ru;
        new.behaviour.ring_popup = false;
        new.hotkeys.answer = "F9".into();
        assert!(needs_restart(&old, &new).is_empty());
        new.audio.ringer = Some("Speakers".into());
        new.oktell = None;
        assert_eq!(needs_restart(&old, &new), ["accounts", "audio"]);
    }
}
