//! One WebSocket connection's protocol state: handshake, login, subscriptions.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::directory::UserIdx;
use crate::oktell::events::expand_subscription;

/// Identifies a WebSocket connection for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ConnId(pub u64);

/// A login session id: a credential, so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

impl std::borrow::Borrow<str> for SessionToken {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Socket open; the handshake `ping` has not arrived yet.
    AwaitingPing,
    /// Handshake done, no successful login.
    Anonymous,
    LoggedIn {
        user: UserIdx,
        session: SessionToken,
    },
    /// A close was requested; the connection takes no more traffic.
    Closing,
}

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub phase: Phase,
    subscriptions: BTreeSet<String>,
}

impl Connection {
    pub fn new() -> Self {
        Connection {
            phase: Phase::AwaitingPing,
            subscriptions: BTreeSet::new(),
        }
    }

    pub fn user(&self) -> Option<UserIdx> {
        match &self.phase {
            Phase::LoggedIn { user, .. } => Some(*user),
            _ => None,
        }
    }

    pub fn is_closing(&self) -> bool {
        self.phase == Phase::Closing
    }

    /// Adds event names (and the members of group names) to this socket's subscriptions.
    pub fn subscribe<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            let name = name.to_ascii_lowercase();
            for member in expand_subscription(&name) {
                self.subscriptions.insert((*member).to_owned());
            }
            self.subscriptions.insert(name);
        }
    }

    pub fn is_subscribed(&self, event: &str) -> bool {
        self.subscriptions.contains(event)
    }

    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.iter().map(String::as_str)
    }
}
