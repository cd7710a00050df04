//! HTTP for the Creatio core: sends a [`creatio::http::HttpRequest`] and brings back the answer as data.
//!
//! The core decides everything about the conversation; this module only moves bytes, with three rules the core
//! relies on: redirects are never followed (a redirect to `/Login/` is how Creatio says the session ended), every
//! request has a deadline (reported as [`TransportError::Timeout`], "may or may not have arrived"), and a server
//! that was never reached is [`TransportError::Unreachable`] with the reason in words.
//!
//! TLS is rustls with the `ring` provider and the operating system's trust store (through
//! `rustls-platform-verifier`), plus an optional PEM file for a company's private certificate authority.

use std::path::PathBuf;
use std::time::Duration;

use creatio::http::{HttpRequest, HttpResponse, Method, TransportError};
use tracing::debug;

/// Answers larger than this are refused: Creatio's answers to the panel are a few kilobytes.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How the panel talks HTTP to Creatio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// The whole exchange, connect to last body byte. A timed-out write is retried by the outbox, so this can be
    /// short enough for the operator not to wait on a caller's name.
    pub timeout: Duration,
    /// A PEM file with extra trusted certificate authorities, for a Creatio behind a private CA.
    pub ca_file: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(15),
            ca_file: None,
        }
    }
}

/// Why the HTTP client cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportSetupError {
    /// The CA file is missing, unreadable or holds no certificate.
    #[error("the certificate authority file {path} cannot be used: {detail}")]
    CaFile {
        /// The file from the settings.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The TLS stack refused the setup (for example no usable system trust store).
    #[error("the HTTPS client cannot be set up: {0}")]
    Client(String),
}

/// A ready HTTP client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    /// Builds the client from `settings`.
    pub fn new(settings: &HttpSettings) -> Result<Transport, TransportSetupError> {
        // reqwest is built without a default crypto provider (that would pull in aws-lc); ring is installed as the
        // process default. `Err` means a provider is installed already, which reqwest then uses: nothing to do.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("oktell-panel/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &settings.ca_file {
            let ca_error = |detail: String| TransportSetupError::CaFile {
                path: path.clone(),
                detail,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certificates.is_empty() {
                return Err(ca_error("it holds no PEM certificate".into()));
            }
            builder = builder.tls_certs_merge(certificates);
        }
        let client = builder
            .build()
            .map_err(|e| TransportSetupError::Client(innermost(&e)))?;
        Ok(Transport { client })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(|e| transport_error(request.id, &e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(request.id, &e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(TransportError::Unreachable(format!(
                    "Creatio's answer is larger than {} MiB",
                    MAX_BODY / (1024 * 1024)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status, headers, body })
    }
}

/// Sorts reqwest's errors by what they mean for delivery: never connected (refused, no such host, TLS refused,
/// connect timeout) is `Unreachable`; anything after the request may have left (timeouts, a connection dropped
/// mid-answer) is `Timeout`, because the server may have acted on it.
fn transport_error(wire: creatio::http::WireId, error: &reqwest::Error) -> TransportError {
    let reason = innermost(error);
    debug!(%wire, %reason, timeout = error.is_timeout(), connect = error.is_connect(), "HTTP exchange failed");
    if error.is_connect() {
        // Connecting (TCP and TLS) failed or timed out: the request never left.
        TransportError::Unreachable(reason)
    } else if error.is_builder() {
        TransportError::Unreachable(format!("the request could not be built: {reason}"))
    } else {
        TransportError::Timeout
    }
}

/// The most specific cause in an error chain ("Connection refused (os error 111)"), which is what an administrator
/// needs; the outer layers only say "error sending request".
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
