//! Session configuration.

use std::time::Duration;

use crate::multipart::MultipartLimits;
use crate::timers::Backoff;

/// Everything a [`crate::Session`] needs to connect and log in.
#[derive(Clone)]
pub struct Config {
    /// Server addresses, tried in parallel (§1.1; at most 10 are used).
    pub urls: Vec<String>,
    /// Use `wss://` and port 443 for addresses given without a scheme.
    pub secure: bool,
    /// Port of the `wss://` socket a `websocketredirect` sends us to. The
    /// protocol hard-wires 443 (§1.4); a TLS front end on another port (and
    /// every loopback test) needs it configurable.
    pub secure_redirect_port: u16,
    /// Login name (`userlogin`).
    pub login: String,
    /// Clear-text password; only its digests are ever sent.
    pub password: Option<String>,
    /// Session id saved from an earlier login, for a resume without password.
    /// With a password as well, the first login uses the password (as
    /// oktell.js 1.8.4 does); reconnects always try the session first.
    pub session_id: Option<String>,
    /// Ask the server for WebRTC SIP credentials (`usewebrtc`).
    pub use_webrtc: bool,
    /// Optional `workplace` login field.
    pub workplace: Option<String>,
    /// Optional `expires` login field (session lifetime, seconds).
    pub expires: Option<u64>,
    /// Per connection attempt: sockets that have not completed the handshake
    /// by then are abandoned (oktell.js `openTimeout`, 10 s).
    pub open_timeout: Duration,
    /// Per request: no reply by then fails the request (oktell.js
    /// `queryTimeout`, 20 s). A late reply is dropped, never re-run.
    pub request_timeout: Duration,
    /// Keepalive `ping` period (15 s).
    pub keepalive: Duration,
    /// `getcurrentqueue` poll period (5 s).
    pub queue_poll: Duration,
    /// Reconnect backoff.
    pub backoff: Backoff,
    /// After `logout`, how long to wait for the server to close the socket.
    pub logout_grace: Duration,
    /// Extra event names to subscribe after login (oktell.js `onNativeEvent`);
    /// they arrive as [`crate::Event::Native`].
    pub native_events: Vec<String>,
    /// Multipart reassembly bounds.
    pub multipart: MultipartLimits,
    /// Longest text frame accepted, in bytes.
    pub max_frame_len: usize,
    /// Seed of the session's random source (qids, jitter, conference ids).
    pub seed: u64,
}

impl Config {
    /// A configuration with oktell.js's defaults for one login.
    pub fn new(urls: Vec<String>, login: impl Into<String>) -> Config {
        Config {
            urls,
            secure: false,
            secure_redirect_port: 443,
            login: login.into(),
            password: None,
            session_id: None,
            use_webrtc: false,
            workplace: None,
            expires: None,
            open_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            keepalive: Duration::from_secs(15),
            queue_poll: Duration::from_secs(5),
            backoff: Backoff::default(),
            logout_grace: Duration::from_secs(5),
            native_events: Vec::new(),
            multipart: MultipartLimits::default(),
            max_frame_len: 16 * 1024 * 1024,
            seed: 0,
        }
    }
}

impl std::fmt::Debug for Config {
    /// Passwords and session ids are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("urls", &self.urls)
            .field("secure", &self.secure)
            .field("secure_redirect_port", &self.secure_redirect_port)
            .field("login", &self.login)
            .field("has_password", &self.password.is_some())
            .field("has_session", &self.session_id.is_some())
            .field("use_webrtc", &self.use_webrtc)
            .field("request_timeout", &self.request_timeout)
            .field("native_events", &self.native_events)
            .finish_non_exhaustive()
    }
}
