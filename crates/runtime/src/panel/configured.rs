//! The drivers for the servers of the configuration file: Oktell, the softphone's SIP account
//! and Creatio, each with its password from the secret store.
//!
//! A system that cannot start does not stop the others: its reason becomes a
//! [`StartupProblem`], which the panel shows in that system's health line as a sentence that
//! says what to do (save the password, fix the field, check the address).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use call::CardOpen;
use creatio::auth::Credentials;
use creatio::card::{CardPages, Cards, Ui};
use creatio::identify::IdentifyConfig;
use creatio::outbox::OutboxConfig;
use creatio::site::{PlatformChoice, Site};
use sip::invite::{ReferPolicy, SessionTimerConfig};
use sip::msg::{Limits, Uri};
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::UaConfig;
use tokio::sync::mpsc;

use super::softphone::Softphone;
use super::{CallConfig, DRIVER_EVENTS, Drivers, DriversError};
use crate::config::{Config, CreatioUi, OpenCard, SipTransport};
use crate::creatio::clock::WallClock;
use crate::creatio::transport::HttpSettings;
use crate::creatio::{CreatioEvent, CreatioLink, CreatioSettings, OutboxStore};
use crate::oktell_link::{OktellLink, Tls};
use crate::secrets::{Secret, SecretKey, SecretStore};
use crate::sip_link::{DeviceAudio, LinkConfig, Signalling, SipLink};

/// The SIP port when the registrar names none (RFC 3261 §19.1.2).
const SIP_PORT: u16 = 5060;
/// The same over TLS.
const SIPS_PORT: u16 = 5061;

/// A system that did not start, with the sentence the operator sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupProblem {
    /// The Oktell session.
    Oktell(String),
    /// The softphone.
    Sip(String),
    /// Creatio.
    Creatio(String),
}

/// Where the softphone's sockets bind and what it plays; the defaults suit a workstation.
#[derive(Debug, Clone)]
pub struct SoftphoneOptions {
    /// The signalling socket (port 0: any free port; a wildcard address advertises the
    /// interface that routes to the registrar).
    pub signalling_bind: SocketAddr,
    /// The RTP sockets, same rules.
    pub rtp_bind: SocketAddr,
    /// REGISTER with the registrar (off only for direct calls between two phones).
    pub register: bool,
    /// A WAV file sent as the microphone of calls without the devices (silence when `None`).
    pub play: Option<PathBuf>,
    /// Records what the other side sends on calls without the devices.
    pub record: Option<PathBuf>,
    /// The operator's microphone and headset; [`start`] sets their preferences from the
    /// configuration's `[audio]` input and output. `None`: the WAV file or silence.
    pub devices: Option<DeviceAudio>,
}

impl Default for SoftphoneOptions {
    fn default() -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        SoftphoneOptions {
            signalling_bind: any,
            rtp_bind: any,
            register: true,
            play: None,
            record: None,
            devices: None,
        }
    }
}

/// One SIP account, resolved and ready for the user agent.
#[derive(Clone)]
pub struct SipAccount {
    /// The user part of the address of record (also the digest user).
    pub user: String,
    /// The domain of the address of record.
    pub domain: String,
    /// Where every request goes.
    pub proxy: SocketAddr,
    /// The digest password (empty for a registrar that does not challenge).
    pub password: Secret,
    /// UDP, or a TCP or TLS connection to `proxy`.
    pub signalling: Signalling,
}

impl std::fmt::Debug for SipAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipAccount")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// Starts the softphone for `account`.
pub async fn start_softphone(account: &SipAccount, options: &SoftphoneOptions) -> Result<Softphone, String> {
    let ua = UaConfig {
        local: options.signalling_bind,
        proxy: account.proxy,
        domain: account.domain.clone(),
        user: account.user.clone(),
        display_name: None,
        password: account.password.expose().to_owned(),
        register_expires: 300,
        media: MediaConfig {
            address: options.rtp_bind.ip().to_string(),
            port: options.rtp_bind.port(),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Limits::default(),
        user_agent: format!("oktell-panel/{}", env!("CARGO_PKG_VERSION")),
        seed: rand::random(),
        // The other side may transfer the operator (REFER): the new call shows in the panel like a dial.
        refer_policy: ReferPolicy::Accept,
        session_timer: SessionTimerConfig::default(),
    };
    let config = LinkConfig {
        ua,
        signalling_bind: options.signalling_bind,
        rtp_bind: options.rtp_bind,
        register: options.register,
        play: options.play.clone(),
        record: options.record.clone(),
        signalling: account.signalling.clone(),
    };
    let link = SipLink::start_with_devices(config, options.devices.clone())
        .await
        .map_err(|err| err.to_string())?;
    Ok(Softphone::new(link, account.domain.clone()))
}

/// Starts the Oktell session (inside a tokio runtime).
pub fn start_oktell(
    urls: Vec<String>,
    login: &str,
    password: &Secret,
    ca_file: Option<&Path>,
) -> Result<(OktellLink, mpsc::Receiver<oktell::Event>), DriversError> {
    let mut config = oktell::Config::new(urls, login.to_owned());
    config.password = Some(password.expose().to_owned());
    let (tx, rx) = mpsc::channel(DRIVER_EVENTS);
    let (link, _session) = OktellLink::spawn(config, Tls::new(ca_file)?, tx)?;
    Ok((link, rx))
}

/// The Creatio site to work with.
#[derive(Debug, Clone)]
pub struct CreatioAccount<'a> {
    /// The site address.
    pub url: &'a str,
    /// The user.
    pub user: &'a str,
    /// Its password.
    pub password: &'a Secret,
    /// The UI cards open in.
    pub ui: Ui,
    /// An extra certificate authority.
    pub ca_file: Option<PathBuf>,
    /// The durable outbox of call records.
    pub outbox: &'a Path,
}

/// Starts the Creatio driver and the card builder (inside a tokio runtime).
pub fn start_creatio(
    account: &CreatioAccount<'_>,
) -> Result<(CreatioLink, mpsc::Receiver<CreatioEvent>, Cards), DriversError> {
    let site = Site::parse(account.url)?;
    let cards = Cards::new(site.clone(), account.ui, CardPages::default(), false)?;
    let settings = CreatioSettings {
        site,
        platform: PlatformChoice::Detect,
        credentials: Credentials::Forms {
            user_name: account.user.to_owned(),
            password: creatio::auth::Secret::new(account.password.expose().to_owned()),
        },
        identify: IdentifyConfig::default(),
        outbox: OutboxConfig {
            seed: uuid::Uuid::new_v4().as_u64_pair().0,
            ..OutboxConfig::default()
        },
        http: HttpSettings {
            ca_file: account.ca_file.clone(),
            ..HttpSettings::default()
        },
        clock: WallClock::local(),
    };
    let store = OutboxStore::open(account.outbox)?;
    let (tx, rx) = mpsc::channel(DRIVER_EVENTS);
    let (link, _driver) = CreatioLink::spawn(settings, store, tx)?;
    Ok((link, rx, cards))
}

/// The user and domain of an address of record (`sip:101@pbx.local:5060` → `101`, `pbx.local`).
pub fn account_parts(uri: &str) -> Result<(String, String), String> {
    let parsed = Uri::parse(uri).map_err(|err| format!("`{uri}` is not a SIP address: {err}"))?;
    let user = parsed
        .user()
        .filter(|user| !user.is_empty())
        .ok_or_else(|| format!("`{uri}` names no user; write it like sip:101@pbx.local"))?;
    Ok((user.to_owned(), host_of(parsed.host_port()).to_owned()))
}

/// The host of `host[:port]`, IPv6 brackets kept.
fn host_of(host_port: &str) -> &str {
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            if host.starts_with('[') || !host.contains(':') {
                host
            } else {
                host_port
            }
        }
        _ => host_port,
    }
}

/// Resolves where the softphone sends its requests: the registrar's host and port, or the
/// domain's, on port 5060 (5061 over TLS) when none is given.
pub async fn resolve_proxy(
    registrar: Option<&str>,
    domain: &str,
    transport: SipTransport,
) -> Result<SocketAddr, String> {
    let host_port = match registrar {
        Some(registrar) => Uri::parse(registrar)
            .map_err(|err| format!("`{registrar}` is not a SIP URI: {err}"))?
            .host_port()
            .to_owned(),
        None => domain.to_owned(),
    };
    let with_port = if host_of(&host_port) == host_port {
        let port = if transport == SipTransport::Tls {
            SIPS_PORT
        } else {
            SIP_PORT
        };
        format!("{host_port}:{port}")
    } else {
        host_port.clone()
    };
    let mut found = tokio::net::lookup_host(with_port.as_str())
        .await
        .map_err(|err| format!("the SIP server {host_port} cannot be found: {err}"))?;
    found
        .next()
        .ok_or_else(|| format!("the SIP server {host_port} has no address"))
}

/// The drivers of a configuration and what the model must know about it.
#[derive(Debug)]
pub struct Configured {
    /// The drivers that started.
    pub drivers: Drivers,
    /// The model's settings for this configuration.
    pub call: CallConfig,
}

/// Starts every configured system with its password from `secrets` (inside a tokio runtime).
/// A system that fails becomes a problem in [`Drivers::problems`] and the others still run.
pub async fn start(
    config: &Config,
    secrets: &dyn SecretStore,
    outbox: &Path,
    softphone: &SoftphoneOptions,
) -> Configured {
    let mut drivers = Drivers::default();
    if let Some(oktell) = &config.oktell {
        let key = SecretKey::Oktell {
            login: oktell.login.clone(),
        };
        let started = password(secrets, &key, "oktell").and_then(|password| {
            start_oktell(oktell.urls.clone(), &oktell.login, &password, oktell.ca_file.as_deref())
                .map_err(|err| format!("The Oktell connection cannot start: {err}."))
        });
        match started {
            Ok(oktell) => drivers.oktell = Some(oktell),
            Err(sentence) => drivers.problems.push(StartupProblem::Oktell(sentence)),
        }
    }
    if let Some(sip) = &config.sip {
        let mut softphone = softphone.clone();
        if let Some(devices) = &mut softphone.devices {
            devices.preferences.microphone = config.audio.input.clone();
            devices.preferences.speaker = config.audio.output.clone();
        }
        match start_configured_softphone(sip, secrets, &softphone).await {
            Ok(phone) => drivers.sip = Some(phone),
            Err(sentence) => drivers.problems.push(StartupProblem::Sip(sentence)),
        }
    }
    if let Some(creatio) = &config.creatio {
        let key = SecretKey::Creatio {
            user: creatio.user.clone(),
        };
        let started = password(secrets, &key, "creatio").and_then(|password| {
            start_creatio(&CreatioAccount {
                url: &creatio.url,
                user: &creatio.user,
                password: &password,
                ui: match creatio.ui {
                    CreatioUi::Freedom => Ui::Freedom,
                    CreatioUi::Classic => Ui::Classic,
                },
                ca_file: creatio.ca_file.clone(),
                outbox,
            })
            .map_err(|err| format!("Creatio cannot start: {err}."))
        });
        match started {
            Ok((link, events, cards)) => {
                drivers.creatio = Some((link, events));
                drivers.cards = Some(cards);
            }
            Err(sentence) => drivers.problems.push(StartupProblem::Creatio(sentence)),
        }
    }
    let own_number = config
        .sip
        .as_ref()
        .and_then(|sip| account_parts(&sip.uri).ok())
        .map(|(user, _)| user)
        .unwrap_or_default();
    let call = CallConfig {
        oktell_configured: config.oktell.is_some(),
        sip_configured: config.sip.is_some(),
        creatio_configured: config.creatio.is_some(),
        own_number,
        card_open: match config.creatio.as_ref().map(|c| c.open_card) {
            Some(OpenCard::Ring) | None => CardOpen::Ring,
            Some(OpenCard::Answer) => CardOpen::Answer,
            Some(OpenCard::Never) => CardOpen::Never,
        },
        seed: rand::random(),
        ..CallConfig::default()
    };
    Configured { drivers, call }
}

async fn start_configured_softphone(
    sip: &crate::config::SipConfig,
    secrets: &dyn SecretStore,
    options: &SoftphoneOptions,
) -> Result<Softphone, String> {
    let (user, domain) = account_parts(&sip.uri).map_err(|err| format!("The SIP account cannot be used: {err}."))?;
    if let Some(auth_user) = &sip.auth_user
        && *auth_user != user
    {
        return Err(format!(
            "The softphone authenticates as its address's user ({user}); a different `auth_user` ({auth_user}) is \
             not supported yet."
        ));
    }
    let key = SecretKey::Sip { uri: sip.uri.clone() };
    let password = password(secrets, &key, "sip")?;
    let proxy = resolve_proxy(sip.registrar.as_deref(), &domain, sip.transport)
        .await
        .map_err(|err| format!("The softphone cannot reach its server: {err}."))?;
    let signalling = match sip.transport {
        SipTransport::Udp => Signalling::Udp,
        SipTransport::Tcp => Signalling::Tcp,
        SipTransport::Tls => Signalling::Tls {
            trust: Tls::new(sip.ca_file.as_deref())
                .map_err(|err| format!("The softphone cannot set up TLS: {err}."))?,
            server_name: domain.clone(),
        },
    };
    let account = SipAccount {
        user,
        domain,
        proxy,
        password,
        signalling,
    };
    start_softphone(&account, options)
        .await
        .map_err(|err| format!("The softphone cannot start: {err}."))
}

/// A saved password, or the sentence that says how to save one.
fn password(secrets: &dyn SecretStore, key: &SecretKey, system: &str) -> Result<Secret, String> {
    match secrets.get(key) {
        Ok(Some(password)) => Ok(password),
        Ok(None) => Err(format!(
            "No password is saved for {}; save it with `oktell-panel secret set {system}`.",
            key.account()
        )),
        Err(err) => Err(format!("The password for {} cannot be read: {err}.", key.account())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::secrets::SecretError;

    #[derive(Debug, Default)]
    struct Memory(Mutex<BTreeMap<String, Secret>>);

    impl SecretStore for Memory {
        fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
            Ok(self.0.lock().unwrap().get(&key.account()).cloned())
        }
        fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), SecretError> {
            self.0.lock().unwrap().insert(key.account(), secret.clone());
            Ok(())
        }
        fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
            self.0.lock().unwrap().remove(&key.account());
            Ok(())
        }
    }

    #[test]
    fn addresses_of_record_split_into_user_and_domain() {
        assert_eq!(
            account_parts("sip:101@pbx.local").unwrap(),
            ("101".into(), "pbx.local".into())
        );
        assert_eq!(
            account_parts("sip:101@127.0.0.1:5080").unwrap(),
            ("101".into(), "127.0.0.1".into())
        );
        assert!(account_parts("sip:pbx.local").unwrap_err().contains("names no user"));
    }

    #[tokio::test]
    async fn the_registrar_address_is_resolved_with_the_default_port() {
        assert_eq!(
            resolve_proxy(Some("sip:127.0.0.1:5080"), "pbx.local", SipTransport::Udp)
                .await
                .unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 5080))
        );
        assert_eq!(
            resolve_proxy(None, "127.0.0.1", SipTransport::Udp).await.unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 5060))
        );
        assert_eq!(
            resolve_proxy(None, "127.0.0.1", SipTransport::Tls).await.unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 5061)),
            "SIP over TLS listens on 5061"
        );
    }

    #[tokio::test]
    async fn a_missing_password_is_a_sentence_for_its_system_and_the_rest_starts() {
        let config = Config::parse(
            r#"
            [oktell]
            urls = ["ws://127.0.0.1:9"]
            login = "op1"

            [sip]
            uri = "sip:101@127.0.0.1"
            "#,
            Path::new("config.toml"),
        )
        .unwrap();
        let secrets = Memory::default();
        secrets
            .set(
                &SecretKey::Sip {
                    uri: "sip:101@127.0.0.1".into(),
                },
                &Secret::new("pw"),
            )
            .unwrap();
        let options = SoftphoneOptions {
            signalling_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            rtp_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            register: false,
            ..SoftphoneOptions::default()
        };
        let folder = tempfile::tempdir().unwrap();
        let configured = start(&config, &secrets, &folder.path().join("outbox.sqlite3"), &options).await;
        assert_eq!(
            configured.drivers.problems,
            vec![StartupProblem::Oktell(
                "No password is saved for oktell:op1; save it with `oktell-panel secret set oktell`.".into()
            )]
        );
        assert!(configured.drivers.oktell.is_none());
        assert!(configured.drivers.sip.is_some(), "the softphone starts without Oktell");
        assert!(configured.call.oktell_configured && configured.call.sip_configured);
        assert_eq!(configured.call.own_number, "101");
    }
}
