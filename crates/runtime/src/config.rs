//! The workstation configuration: one TOML file, read at start, validated before anything connects.
//!
//! An administrator rolls the same file out to hundreds of workstations, so every mistake must be reported with
//! the file, the field and what is wrong; unknown fields are errors (a misspelt key would otherwise be silently
//! ignored). Passwords never live here: they are in the OS keyring (see [`crate::secrets`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything the panel needs to know about its servers and behaviour.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Oktell server's WebSocket control connection.
    pub oktell: Option<OktellConfig>,
    /// The SIP account of the softphone.
    pub sip: Option<SipConfig>,
    /// The Creatio CRM the calls are identified in and written to.
    pub creatio: Option<CreatioConfig>,
    /// Audio devices.
    #[serde(default)]
    pub audio: AudioConfig,
    /// How the panel behaves on this workstation.
    #[serde(default)]
    pub behaviour: BehaviourConfig,
    /// Where passwords are kept.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Global keyboard shortcuts for call control.
    #[serde(default)]
    pub hotkeys: HotkeysConfig,
}

/// The Oktell control connection.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OktellConfig {
    /// One or more server URLs (`ws://host:4066`, `wss://host`, or a bare `host[:port]`). Several URLs are tried in
    /// parallel and the first to answer is kept.
    pub urls: Vec<String>,
    /// The operator's Oktell login.
    pub login: String,
    /// A PEM file with an extra certificate authority for `wss://` servers with a private CA.
    pub ca_file: Option<PathBuf>,
}

/// Which transport the SIP account uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// UDP, the PBX default.
    #[default]
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

/// The softphone's SIP account.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// The address of record, e.g. `sip:101@pbx.local`.
    pub uri: String,
    /// The registrar or outbound proxy, e.g. `sip:pbx.local:5060`; the host of `uri` when absent.
    pub registrar: Option<String>,
    /// The digest user name when it differs from the user part of `uri`.
    pub auth_user: Option<String>,
    /// The transport.
    #[serde(default)]
    pub transport: SipTransport,
    /// Over TLS, a PEM file with an extra certificate authority (a PBX with a private CA).
    pub ca_file: Option<PathBuf>,
}

/// Which Creatio user interface the contact cards open in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CreatioUi {
    /// Freedom UI (Creatio 8).
    #[default]
    Freedom,
    /// Classic UI (Creatio 7 and 8).
    Classic,
}

/// When the caller's contact card opens by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenCard {
    /// As soon as the call rings.
    #[default]
    Ring,
    /// When the operator answers.
    Answer,
    /// Never; the operator opens it from the panel.
    Never,
}

/// The Creatio CRM.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreatioConfig {
    /// The site's base URL, e.g. `https://crm.example.com`.
    pub url: String,
    /// The Creatio user the calls are written as.
    pub user: String,
    /// The UI the contact cards open in.
    #[serde(default)]
    pub ui: CreatioUi,
    /// When the contact card opens.
    #[serde(default)]
    pub open_card: OpenCard,
    /// A PEM file with an extra certificate authority, for a Creatio behind a private CA.
    pub ca_file: Option<PathBuf>,
}

/// Audio devices by name; `None` is the system default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    /// The microphone.
    pub input: Option<String>,
    /// The headset or speakers the call is heard on.
    pub output: Option<String>,
    /// Where the ringtone plays (call centers ring on speakers and talk on the headset).
    pub ringer: Option<String>,
}

/// The UI language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// The system language.
    #[default]
    Auto,
    /// English.
    En,
    /// Russian.
    Ru,
}

/// Workstation behaviour.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Start in the tray without showing the panel.
    #[serde(default)]
    pub start_hidden: bool,
    /// Show the always-on-top popup for ringing calls (otherwise a desktop notification).
    #[serde(default = "yes")]
    pub ring_popup: bool,
    /// Answer intercom calls without a click.
    #[serde(default)]
    pub auto_answer_intercom: bool,
    /// The UI language.
    #[serde(default)]
    pub language: Language,
    /// Start the panel with the desktop session.
    #[serde(default)]
    pub autostart: bool,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            start_hidden: false,
            ring_popup: true,
            auto_answer_intercom: false,
            language: Language::Auto,
            autostart: false,
        }
    }
}

/// Global keyboard shortcuts, active whichever window has the focus: an operator typing in the CRM answers
/// without reaching for the mouse.
///
/// Each is an accelerator like `Ctrl+Alt+A` or `F9`: modifiers (`Ctrl`, `Alt`, `Shift`, `Super`, `CmdOrCtrl`)
/// joined by `+` to one key. An empty string turns the shortcut off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HotkeysConfig {
    /// Answer the ringing call.
    pub answer: String,
    /// Hang up the current call (or decline the ringing one).
    pub hangup: String,
    /// Put the current call on hold, or take it back.
    pub hold: String,
    /// Mute or unmute the microphone.
    pub mute: String,
}

impl Default for HotkeysConfig {
    fn default() -> Self {
        HotkeysConfig {
            answer: "Ctrl+Alt+A".into(),
            hangup: "Ctrl+Alt+H".into(),
            hold: "Ctrl+Alt+P".into(),
            mute: "Ctrl+Alt+M".into(),
        }
    }
}

impl HotkeysConfig {
    /// Each shortcut with its dotted field name, in a fixed order.
    pub fn fields(&self) -> [(&'static str, &str); 4] {
        [
            ("hotkeys.answer", &self.answer),
            ("hotkeys.hangup", &self.hangup),
            ("hotkeys.hold", &self.hold),
            ("hotkeys.mute", &self.mute),
        ]
    }
}

/// Why an accelerator string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceleratorError {
    /// A part between two `+` is empty (`Ctrl++A`, `Ctrl+`).
    #[error("`{0}` has an empty part; write it like Ctrl+Alt+A")]
    EmptyPart(String),
    /// A part is neither a modifier nor a key.
    #[error("`{part}` in `{accelerator}` is not a modifier (Ctrl, Alt, Shift, Super) or a key (A-Z, 0-9, F1-F24, ...)")]
    UnknownPart {
        /// The whole accelerator.
        accelerator: String,
        /// The part not understood.
        part: String,
    },
    /// Only modifiers, or more than one key.
    #[error("`{0}` must end in exactly one key after its modifiers, like Ctrl+Alt+A")]
    KeyCount(String),
}

/// Modifier names, as the desktop shell's shortcut parser accepts them (case-insensitive).
const MODIFIERS: [&str; 12] = [
    "ctrl",
    "control",
    "alt",
    "option",
    "shift",
    "super",
    "commandorctrl",
    "cmd",
    "command",
    "cmdorctrl",
    "commandorcontrol",
    "cmdorcontrol",
];

/// Named keys besides letters, digits and F1-F24 (case-insensitive).
const NAMED_KEYS: [&str; 34] = [
    "space",
    "enter",
    "tab",
    "backspace",
    "delete",
    "insert",
    "home",
    "end",
    "pageup",
    "pagedown",
    "up",
    "down",
    "left",
    "right",
    "arrowup",
    "arrowdown",
    "arrowleft",
    "arrowright",
    "escape",
    "esc",
    "minus",
    "equal",
    "comma",
    "period",
    "slash",
    "backslash",
    "semicolon",
    "quote",
    "backquote",
    "bracketleft",
    "bracketright",
    "numpadenter",
    "printscreen",
    "pause",
];

/// Checks the shape of an accelerator: any modifiers, then one key. The empty string (shortcut off) is accepted.
pub fn check_accelerator(accelerator: &str) -> Result<(), AcceleratorError> {
    if accelerator.trim().is_empty() {
        return Ok(());
    }
    let mut keys = 0;
    for part in accelerator.split('+').map(str::trim) {
        if part.is_empty() {
            return Err(AcceleratorError::EmptyPart(accelerator.to_owned()));
        }
        let lower = part.to_ascii_lowercase();
        if MODIFIERS.contains(&lower.as_str()) {
            if keys > 0 {
                return Err(AcceleratorError::KeyCount(accelerator.to_owned()));
            }
        } else if is_key(&lower) {
            keys += 1;
        } else {
            return Err(AcceleratorError::UnknownPart {
                accelerator: accelerator.to_owned(),
                part: part.to_owned(),
            });
        }
    }
    if keys == 1 {
        Ok(())
    } else {
        Err(AcceleratorError::KeyCount(accelerator.to_owned()))
    }
}

fn is_key(lower: &str) -> bool {
    let single = lower.len() == 1 && lower.bytes().all(|byte| byte.is_ascii_alphanumeric());
    let function = lower
        .strip_prefix('f')
        .and_then(|number| number.parse::<u8>().ok())
        .is_some_and(|number| (1..=24).contains(&number))
        && !lower.starts_with("f0");
    let numpad = lower
        .strip_prefix("numpad")
        .is_some_and(|digit| digit.len() == 1 && digit.bytes().all(|byte| byte.is_ascii_digit()));
    single || function || numpad || NAMED_KEYS.contains(&lower)
}

/// Where passwords are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretStoreKind {
    /// The OS keyring (Secret Service on Linux, Credential Manager on Windows).
    #[default]
    Keyring,
    /// A file readable only by the user, for machines without a keyring service. Chosen explicitly, never as a
    /// silent fallback.
    File,
}

/// Where passwords are kept.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// The store.
    #[serde(default)]
    pub store: SecretStoreKind,
}

fn yes() -> bool {
    true
}

/// A configuration that cannot be used, with the file and field it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the expected fields.
    #[error("the configuration file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, naming the line and field.
        message: String,
    },
    /// A field has a value that cannot work.
    #[error("the configuration file {path} has a wrong value in `{field}`: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted field name, e.g. `oktell.urls`.
        field: &'static str,
        /// What is wrong and what is expected.
        problem: String,
    },
}

impl Config {
    /// Reads and validates a configuration file. A missing file at the default location is not an error for the
    /// caller to report (see [`Config::load_or_default`]); here it is.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Reads the file if it exists, else the empty configuration (which starts the demo world).
    pub fn load_or_default(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::metadata(path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            _ => Config::load(path),
        }
    }

    /// Parses and validates configuration text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// True when no server is configured: the panel then runs against the embedded demo world.
    pub fn is_demo(&self) -> bool {
        self.oktell.is_none() && self.sip.is_none() && self.creatio.is_none()
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            problem,
        };
        if let Some(oktell) = &self.oktell {
            if oktell.urls.is_empty() {
                return Err(invalid(
                    "oktell.urls",
                    "give at least one server, e.g. [\"ws://pbx:4066\"]".into(),
                ));
            }
            if oktell.urls.len() > 10 {
                return Err(invalid(
                    "oktell.urls",
                    format!("{} servers given; at most 10 are tried", oktell.urls.len()),
                ));
            }
            if let Some(bad) = oktell
                .urls
                .iter()
                .find(|url| oktell::url::normalize(url, false).is_err())
            {
                return Err(invalid(
                    "oktell.urls",
                    format!("`{bad}` is not a server address; use ws://host:port, wss://host or host[:port]"),
                ));
            }
            if oktell.login.trim().is_empty() {
                return Err(invalid("oktell.login", "the operator's Oktell login is empty".into()));
            }
        }
        if let Some(sip) = &self.sip {
            if !has_sip_scheme(&sip.uri) || !sip.uri.contains('@') {
                return Err(invalid(
                    "sip.uri",
                    format!("`{}` is not a SIP address like sip:101@pbx.local", sip.uri),
                ));
            }
            if let Some(registrar) = &sip.registrar
                && !has_sip_scheme(registrar)
            {
                return Err(invalid(
                    "sip.registrar",
                    format!("`{registrar}` is not a SIP URI like sip:pbx.local"),
                ));
            }
        }
        if let Some(creatio) = &self.creatio {
            let url = creatio.url.trim();
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|host| host.trim_matches('/').is_empty()) {
                return Err(invalid(
                    "creatio.url",
                    format!("`{url}` is not a web address like https://crm.example.com"),
                ));
            }
            if creatio.user.trim().is_empty() {
                return Err(invalid("creatio.user", "the Creatio user name is empty".into()));
            }
        }
        for (field, accelerator) in self.hotkeys.fields() {
            check_accelerator(accelerator).map_err(|err| invalid(field, err.to_string()))?;
        }
        let mut taken: Vec<(&'static str, String)> = Vec::new();
        for (field, accelerator) in self.hotkeys.fields() {
            let normal = normal_accelerator(accelerator);
            if normal.is_empty() {
                continue;
            }
            if let Some((other, _)) = taken.iter().find(|(_, seen)| *seen == normal) {
                return Err(invalid(
                    field,
                    format!("`{accelerator}` is already the shortcut of `{other}`"),
                ));
            }
            taken.push((field, normal));
        }
        Ok(())
    }
}

/// The accelerator in a form where `alt+ctrl+a` and `Ctrl+Alt+A` compare equal.
fn normal_accelerator(accelerator: &str) -> String {
    let mut parts: Vec<String> = accelerator
        .split('+')
        .map(|part| part.trim().to_ascii_lowercase())
        .filter(|part| !part.is_empty())
        .map(|part| match part.as_str() {
            "control" => "ctrl".to_owned(),
            "option" => "alt".to_owned(),
            "cmd" | "command" => "super".to_owned(),
            _ => part,
        })
        .collect();
    parts.sort();
    parts.join("+")
}

fn has_sip_scheme(uri: &str) -> bool {
    uri.starts_with("sip:") || uri.starts_with("sips:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn an_empty_file_is_the_demo_world() {
        let config = parse("").unwrap();
        assert!(config.is_demo());
        assert_eq!(config.secrets.store, SecretStoreKind::Keyring);
        assert!(config.behaviour.ring_popup);
    }

    #[test]
    fn a_full_workstation_file_parses() {
        let config = parse(
            r#"
            [oktell]
            urls = ["ws://pbx1:4066", "pbx2:4066"]
            login = "op1"

            [sip]
            uri = "sip:101@pbx.local"
            transport = "tcp"

            [creatio]
            url = "https://crm.example.com"
            user = "op1"
            ui = "classic"
            open_card = "answer"

            [audio]
            ringer = "Speakers"

            [behaviour]
            language = "ru"

            [secrets]
            store = "file"
            "#,
        )
        .unwrap();
        assert!(!config.is_demo());
        let sip = config.sip.unwrap();
        assert_eq!(sip.transport, SipTransport::Tcp);
        assert_eq!(config.creatio.unwrap().open_card, OpenCard::Answer);
        assert_eq!(config.audio.ringer.as_deref(), Some("Speakers"));
        assert_eq!(config.behaviour.language, Language::Ru);
        assert_eq!(config.secrets.store, SecretStoreKind::File);
    }

    #[test]
    fn a_misspelt_field_is_named() {
        let err = parse("[oktell]\nurl = [\"ws://pbx:4066\"]\nlogin = \"op1\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown field `url`"), "{text}");
        assert!(text.contains("config.toml"), "{text}");
    }

    #[test]
    fn a_password_in_the_file_is_refused() {
        let err = parse("[oktell]\nurls = [\"pbx\"]\nlogin = \"op1\"\npassword = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `password`"), "{err}");
    }

    #[test]
    fn wrong_values_name_their_field() {
        let cases = [
            ("[oktell]\nurls = []\nlogin = \"op1\"", "oktell.urls"),
            ("[oktell]\nurls = [\"http://pbx\"]\nlogin = \"op1\"", "oktell.urls"),
            ("[oktell]\nurls = [\"pbx\"]\nlogin = \" \"", "oktell.login"),
            ("[sip]\nuri = \"101@pbx\"", "sip.uri"),
            ("[sip]\nuri = \"sip:101@pbx\"\nregistrar = \"pbx\"", "sip.registrar"),
            ("[creatio]\nurl = \"crm.example.com\"\nuser = \"op1\"", "creatio.url"),
            ("[creatio]\nurl = \"https://crm\"\nuser = \"\"", "creatio.user"),
        ];
        for (text, field) in cases {
            match parse(text) {
                Err(ConfigError::Invalid { field: named, .. }) => assert_eq!(named, field, "{text}"),
                other => panic!("{text}: expected an invalid {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn hotkeys_and_autostart_have_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.hotkeys, HotkeysConfig::default());
        assert_eq!(config.hotkeys.answer, "Ctrl+Alt+A");
        assert!(!config.behaviour.autostart);
        let config = parse("[hotkeys]\nanswer = \"F9\"\nmute = \"\"\n[behaviour]\nautostart = true\n").unwrap();
        assert_eq!(config.hotkeys.answer, "F9");
        assert_eq!(config.hotkeys.mute, "", "an empty shortcut is off");
        assert_eq!(config.hotkeys.hangup, "Ctrl+Alt+H", "the others keep their defaults");
        assert!(config.behaviour.autostart);
    }

    #[test]
    fn accelerators_of_every_shape_are_accepted() {
        for accelerator in [
            "Ctrl+Alt+A",
            "ctrl+shift+f12",
            "F9",
            "Super+1",
            "CmdOrCtrl+Space",
            " Alt + PageDown ",
            "Shift+Numpad5",
            "",
        ] {
            assert_eq!(check_accelerator(accelerator), Ok(()), "{accelerator:?}");
        }
    }

    #[test]
    fn a_broken_accelerator_says_what_is_wrong() {
        let cases = [
            ("Ctrl++A", AcceleratorError::EmptyPart("Ctrl++A".into())),
            ("Ctrl+Alt", AcceleratorError::KeyCount("Ctrl+Alt".into())),
            ("Ctrl+A+B", AcceleratorError::KeyCount("Ctrl+A+B".into())),
            ("A+Ctrl", AcceleratorError::KeyCount("A+Ctrl".into())),
            (
                "F25",
                AcceleratorError::UnknownPart {
                    accelerator: "F25".into(),
                    part: "F25".into(),
                },
            ),
            (
                "Ctrl+Hyper+A",
                AcceleratorError::UnknownPart {
                    accelerator: "Ctrl+Hyper+A".into(),
                    part: "Hyper".into(),
                },
            ),
        ];
        for (accelerator, expected) in cases {
            assert_eq!(check_accelerator(accelerator), Err(expected), "{accelerator:?}");
        }
    }

    #[test]
    fn an_unparsable_or_repeated_hotkey_names_its_field() {
        let cases = [
            ("[hotkeys]\nhold = \"Ctrl+Alt+\"", "hotkeys.hold", "empty part"),
            ("[hotkeys]\nanswer = \"Ctrl+Banana\"", "hotkeys.answer", "`Banana`"),
            ("[hotkeys]\nmute = \"alt+ctrl+a\"", "hotkeys.mute", "`hotkeys.answer`"),
        ];
        for (text, field, says) in cases {
            match parse(text) {
                Err(err @ ConfigError::Invalid { field: named, .. }) => {
                    assert_eq!(named, field, "{text}");
                    assert!(err.to_string().contains(says), "{text}: {err}");
                }
                other => panic!("{text}: expected an invalid {field}, got {other:?}"),
            }
        }
        assert!(matches!(
            parse("[hotkeys]\nanswr = \"F9\""),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn a_missing_default_file_means_demo_but_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(Config::load_or_default(&path).unwrap().is_demo());
        std::fs::write(&path, "[oktell\n").unwrap();
        assert!(matches!(
            Config::load_or_default(&path),
            Err(ConfigError::Syntax { .. })
        ));
    }
}
