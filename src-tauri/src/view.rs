//! The start-up facts the windows show beside the live panel view: version, mode, the configured systems (all
//! the panel knows where no call model runs yet, i.e. with configured servers) and a number to dial from a link.

use serde::Serialize;

use crate::startup::Startup;

/// What start-up decided, as the UI sees it.
#[derive(Debug, Clone, Serialize)]
pub struct StartupView {
    /// The application version.
    pub version: &'static str,
    /// `demo` or `configured`.
    pub mode: Mode,
    /// The health of Oktell, SIP and Creatio, in that order.
    pub systems: Vec<SystemHealth>,
    /// A number from a clicked tel:/sip:/callto: link, to prefill the dial box.
    pub dial: Option<String>,
}

/// Which world the panel runs against.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The embedded simulated world.
    Demo,
    /// The servers of the configuration file.
    Configured,
}

/// One system's health line in the header.
#[derive(Debug, Clone, Serialize)]
pub struct SystemHealth {
    /// `oktell`, `sip` or `creatio`.
    pub system: &'static str,
    /// `off` (not configured), `idle` (configured, not connected), `up` or `down`.
    pub state: &'static str,
    /// The reason or address, in words.
    pub detail: String,
}

impl StartupView {
    /// The view right after start-up.
    pub fn initial(startup: &Startup) -> StartupView {
        let mode = if startup.demo { Mode::Demo } else { Mode::Configured };
        let config = &startup.config;
        let health = |system, configured: Option<String>| match (mode, configured) {
            (Mode::Demo, _) => SystemHealth {
                system,
                state: "idle",
                detail: "demo world".into(),
            },
            (Mode::Configured, Some(address)) => SystemHealth {
                system,
                state: "idle",
                detail: address,
            },
            (Mode::Configured, None) => SystemHealth {
                system,
                state: "off",
                detail: "not configured".into(),
            },
        };
        StartupView {
            version: env!("CARGO_PKG_VERSION"),
            mode,
            systems: vec![
                health("oktell", config.oktell.as_ref().map(|oktell| oktell.urls.join(", "))),
                health("sip", config.sip.as_ref().map(|sip| sip.uri.clone())),
                health("creatio", config.creatio.as_ref().map(|creatio| creatio.url.clone())),
            ],
            dial: startup.link.as_deref().map(dial_target),
        }
    }
}

/// The number or address inside a tel:/sip:/callto: link (`tel:+7 495 123-45-67` -> `+7 495 123-45-67`).
pub fn dial_target(link: &str) -> String {
    let lower = link.to_ascii_lowercase();
    let rest = ["tel:", "callto:", "sips:", "sip:"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme))
        .and_then(|scheme| link.get(scheme.len()..))
        .unwrap_or(link);
    let rest = rest.trim_start_matches('/');
    let rest = rest.split(['?', ';']).next().unwrap_or_default();
    percent_decode(rest).trim().to_owned()
}

/// Decodes `%20`-style escapes; a malformed escape is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (byte, hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::dial_target;

    #[test]
    fn links_yield_the_number_to_dial() {
        assert_eq!(dial_target("tel:+7%20495%20123-45-67"), "+7 495 123-45-67");
        assert_eq!(dial_target("TEL:101"), "101");
        assert_eq!(dial_target("callto://89161234567"), "89161234567");
        assert_eq!(dial_target("sip:102@pbx.local;transport=tcp"), "102@pbx.local");
        assert_eq!(dial_target("tel:5551234;phone-context=example.com"), "5551234");
        assert_eq!(dial_target("tel:%zz1"), "%zz1");
        assert_eq!(dial_target("tel:%D0%96"), "Ж");
        assert_eq!(dial_target("102"), "102");
    }
}
