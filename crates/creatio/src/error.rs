//! Errors, grouped by whose fault they are (STYLE §8). Messages are sentences an operator can
//! act on; none of them ever carries a password, token, cookie or session id.

/// Our own settings are wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("the Creatio address is not usable: {0}")]
    BadAddress(String),
    #[error("the Creatio setting is not usable: {0}")]
    Invalid(String),
}

/// Creatio sent bytes we could not read as what we asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Creatio sent an answer we could not read ({context}): {detail}")]
pub struct MalformedError {
    pub context: &'static str,
    pub detail: String,
}

impl MalformedError {
    pub(crate) fn json(context: &'static str, error: &serde_json::Error) -> Self {
        MalformedError {
            context,
            detail: error.to_string(),
        }
    }
}

/// Why there is no usable session with Creatio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum AuthError {
    /// Creatio refused the credentials (forms login `Code` 1, or OAuth `invalid_client`).
    #[error("Creatio refused the user name or password: {reason}")]
    WrongPassword { reason: String },
    /// No HTTP answer from Creatio or its Identity Service.
    #[error("Creatio is unreachable: {0}")]
    Unreachable(String),
    /// The session ended and a fresh login did not restore access to the request.
    #[error("Creatio logged the panel out and logging in again did not help")]
    LoggedOut,
    /// Logged in, but the user lacks the rights (e.g. the "Access to OData" operation).
    #[error("Creatio denied access: {0}")]
    PermissionDenied(String),
    /// Creatio answered the login in a way the documentation does not describe.
    #[error("Creatio answered the login unexpectedly: {0}")]
    Protocol(String),
    /// Neither `/0/odata` nor `/odata` answered like an OData service.
    #[error("no Creatio OData service found at this address: {0}")]
    NoODataService(String),
}

impl AuthError {
    /// Whether trying again later, with the same settings, could succeed. A refused password
    /// is not retried on its own (repeated attempts could lock the account), nor is an address
    /// without an OData service; missing rights may be granted meanwhile, so they are retried.
    pub fn is_transient(&self) -> bool {
        !matches!(self, AuthError::WrongPassword { .. } | AuthError::NoODataService(_))
    }
}
