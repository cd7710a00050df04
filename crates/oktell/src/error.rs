//! Error values, grouped by whose fault they are.
//!
//! * [`MalformedFrame`], [`MultipartError`]: bytes from the server we could not read.
//! * [`LoginError`]: the server refused us; messages are meant for the operator.
//! * [`SyncError`]: the server lacks something the session needs after login.
//! * [`CommandError`]: a command refused locally, before anything was sent.
//! * [`CommandFailure`]: a sent command that the server refused or never answered.
//! * [`ConfigError`]: the configuration cannot work.

use std::time::Duration;

/// A frame that is not `[name, object]` JSON (§1.3, §1.9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedFrame {
    /// Not JSON at all.
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an array.
    #[error("frame is not a JSON array")]
    NotAnArray,
    /// An empty array.
    #[error("frame is an empty array")]
    Empty,
    /// Element `[0]` is not a string.
    #[error("frame name is not a string")]
    NameNotString,
    /// Element `[1]` is neither an object nor absent.
    #[error("payload of {name:?} is not an object")]
    BodyNotObject {
        /// The frame's name.
        name: String,
    },
    /// Longer than the configured frame limit.
    #[error("frame of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Frame length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },
}

/// A multipart part or reassembled message we could not use (§1.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// A required field is missing or has the wrong type.
    #[error("multipart field {0:?} missing or invalid")]
    BadField(&'static str),
    /// `packetnumber` is not below `packetcount`.
    #[error("multipart part {number} out of range for {count} parts")]
    OutOfRange {
        /// The part's number.
        number: u64,
        /// The announced count.
        count: u64,
    },
    /// A part announced a different `packetcount` than earlier parts.
    #[error("multipart message changed its part count from {was} to {now}")]
    CountChanged {
        /// First announced count.
        was: u64,
        /// This part's count.
        now: u64,
    },
    /// More parts than the configured limit.
    #[error("multipart message of {count} parts exceeds the {limit}-part limit")]
    TooManyParts {
        /// Announced count.
        count: u64,
        /// Configured limit.
        limit: usize,
    },
    /// The decoded message would exceed the configured size.
    #[error("multipart message exceeds the {limit}-byte limit")]
    TooLarge {
        /// Configured limit.
        limit: usize,
    },
    /// Too many messages are being reassembled at once.
    #[error("more than {limit} multipart messages in progress")]
    TooManyMessages {
        /// Configured limit.
        limit: usize,
    },
    /// `content` is not base64.
    #[error("multipart part {number} is not valid base64")]
    BadBase64 {
        /// The part's number.
        number: u64,
    },
    /// The joined bytes are not UTF-8.
    #[error("reassembled multipart message is not UTF-8")]
    BadUtf8,
    /// The joined text is not a frame.
    #[error("reassembled multipart message is malformed: {0}")]
    Malformed(#[from] MalformedFrame),
    /// Parts stopped arriving before the message was complete.
    #[error("multipart message expired with {received} of {count} parts")]
    Expired {
        /// Parts received.
        received: usize,
        /// Parts announced.
        count: u64,
    },
}

/// Why the server refused a login (§2.4). Messages address the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// `"Wrong login/pass combination"` (library code 1202).
    #[error("wrong login or password")]
    WrongPassword,
    /// `error` 50093 (1204): the user is logged in with the Oktell desktop client.
    #[error("this user is already logged in elsewhere (Oktell desktop client); log out there first")]
    AlreadyLoggedIn,
    /// `error` 50025 (1214).
    #[error("the Oktell licence limit of simultaneous users is reached; try again later")]
    LicenceLimit,
    /// `"Service not available"` (1215).
    #[error("the Oktell service is not started yet; retrying")]
    ServiceNotStarted,
    /// `"Bad request. Session does not exist"` / `"... Invalid session user"` (1212).
    #[error("the saved session has expired; log in with the password")]
    SessionExpired,
    /// Any other refusal (1000), with the server's own words.
    #[error("the Oktell server refused the login (code {code:?}): {message}")]
    Rejected {
        /// `error`, if any.
        code: Option<i64>,
        /// `errormsg`, or a placeholder.
        message: String,
    },
    /// A reply without error fields and without `result == 1` (1211).
    #[error("the Oktell server did not confirm the login")]
    NotConfirmed,
    /// Success without a `userid` (the identity everything else keys on).
    #[error("the Oktell server accepted the login but sent no user id")]
    NoUserId,
    /// Neither a password nor a session id is configured (1213).
    #[error("no password or saved session to log in with")]
    NoCredentials,
}

impl LoginError {
    /// Maps a failed `login` reply (§2.4 table, top to bottom).
    pub fn from_reply(error: Option<i64>, errormsg: Option<&str>) -> LoginError {
        match (error, errormsg) {
            (Some(50093), _) => LoginError::AlreadyLoggedIn,
            (Some(50025), _) => LoginError::LicenceLimit,
            (_, Some("Service not available")) => LoginError::ServiceNotStarted,
            (_, Some("Wrong login/pass combination")) => LoginError::WrongPassword,
            (_, Some("Bad request. Session does not exist" | "Bad request. Invalid session user")) => {
                LoginError::SessionExpired
            }
            (None, None) => LoginError::NotConfirmed,
            (code, message) => LoginError::Rejected {
                code,
                message: message.unwrap_or("no message").to_owned(),
            },
        }
    }

    /// Whether waiting and retrying may help (the server may start, a seat
    /// may free up); the others need the operator.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LoginError::ServiceNotStarted | LoginError::LicenceLimit | LoginError::NotConfirmed
        )
    }
}

/// A critical post-login step failed (§2.6 steps 5 and 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// `getversion` failed (1206).
    #[error("could not load the Oktell server version")]
    Version,
    /// `getmyuserinfo` failed (1210).
    #[error("could not load the user's own information")]
    UserInfo,
    /// The server predates a method the session cannot work without (1203).
    #[error("the Oktell server (build date {dated}) is older than the minimum {minimum}")]
    TooOld {
        /// Server `dated`.
        dated: i64,
        /// Our minimum.
        minimum: i64,
    },
}

/// A command refused before sending anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not logged in right now (1201).
    #[error("not connected to the Oktell server")]
    NotConnected,
    /// The line is in the wrong state for this command.
    #[error("{command} is not possible while the line is {state}")]
    InvalidLineState {
        /// The command.
        command: &'static str,
        /// Current line state.
        state: &'static str,
    },
    /// Needs a held party (2402).
    #[error("nothing is on hold")]
    NoHold,
    /// Needs a conference (2501).
    #[error("not in a conference")]
    NotInConference,
    /// Empty or unusable number (2106).
    #[error("no number given")]
    NoNumber,
    /// Redirect without a redirect number configured on the server (4003).
    #[error("no redirect number is set for this user")]
    NoRedirectNumber,
    /// A break with no known break reason.
    #[error("the server has no break reasons")]
    NoBreakReasons,
    /// The answer check failed earlier: the phone cannot answer remotely (2902).
    #[error("this phone cannot be answered remotely")]
    RemoteAnswerUnsupported,
    /// The request could not be serialised (our bug).
    #[error("could not encode {method}: {reason}")]
    Encode {
        /// Method.
        method: &'static str,
        /// Serializer message.
        reason: String,
    },
}

/// The outcome of a sent command that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandFailure {
    /// The server answered with `result` 0.
    #[error("the server refused {method} (code {code:?}): {message}")]
    Rejected {
        /// Method.
        method: &'static str,
        /// `error`, if any.
        code: Option<i64>,
        /// `errormsg`, or a placeholder.
        message: String,
    },
    /// `attachasghost` error 52710 (2505).
    #[error("no rights to supervise this operator")]
    NoRights,
    /// No reply in time (1102).
    #[error("no reply to {method} within {after:?}")]
    Timeout {
        /// Method.
        method: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection dropped before the reply.
    #[error("the connection dropped before {method} was answered")]
    ConnectionLost {
        /// Method.
        method: &'static str,
    },
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No server URL.
    #[error("no Oktell server URL configured")]
    NoUrl,
    /// A URL that cannot be used (1205).
    #[error("unusable Oktell server URL {0:?}")]
    BadUrl(String),
    /// Empty login name.
    #[error("no Oktell login configured")]
    NoLogin,
    /// Neither password nor session id (1213).
    #[error("no password or saved session to log in with")]
    NoCredentials,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_errors_map_as_the_library_does() {
        assert_eq!(
            LoginError::from_reply(Some(2), Some("Wrong login/pass combination")),
            LoginError::WrongPassword
        );
        assert_eq!(
            LoginError::from_reply(Some(50093), Some("User already registered")),
            LoginError::AlreadyLoggedIn
        );
        assert_eq!(
            LoginError::from_reply(Some(50025), Some("Licence limit")),
            LoginError::LicenceLimit
        );
        assert_eq!(
            LoginError::from_reply(None, Some("Service not available")),
            LoginError::ServiceNotStarted
        );
        assert_eq!(
            LoginError::from_reply(None, Some("Bad request. Session does not exist")),
            LoginError::SessionExpired
        );
        assert_eq!(
            LoginError::from_reply(None, Some("Bad request. Invalid session user")),
            LoginError::SessionExpired
        );
        assert_eq!(
            LoginError::from_reply(Some(7), None),
            LoginError::Rejected {
                code: Some(7),
                message: "no message".into()
            }
        );
        assert_eq!(LoginError::from_reply(None, None), LoginError::NotConfirmed);
    }

    #[test]
    fn login_error_messages_speak_to_the_operator() {
        assert_eq!(LoginError::WrongPassword.to_string(), "wrong login or password");
        assert!(LoginError::AlreadyLoggedIn.to_string().contains("elsewhere"));
        assert!(LoginError::LicenceLimit.to_string().contains("licence"));
        assert!(LoginError::ServiceNotStarted.to_string().contains("not started"));
        assert!(LoginError::SessionExpired.to_string().contains("expired"));
    }

    #[test]
    fn only_server_side_conditions_are_retried() {
        assert!(LoginError::ServiceNotStarted.is_transient());
        assert!(LoginError::LicenceLimit.is_transient());
        assert!(!LoginError::WrongPassword.is_transient());
        assert!(!LoginError::AlreadyLoggedIn.is_transient());
    }
}

/// A frame `handle_frame` could not use; the session's state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Not `[name, object]`.
    #[error(transparent)]
    Malformed(#[from] MalformedFrame),
    /// A bad multipart part or reassembled message.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
}
