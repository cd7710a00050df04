//! Forms authentication as `AuthService.svc/Login` does it (§2.1) and the session rules of §2.2
//! and §9 point 2: the `.ASPXAUTH` cookie names a session, the `BPMCSRF` header must repeat the
//! session's CSRF cookie, and a session idle for longer than the timeout is gone.
//!
//! Time is an input: every check takes `now`, and a request that passes refreshes the idle
//! clock. Tokens come from the stand-in's seeded generator.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;

/// The session cookie.
pub const AUTH_COOKIE: &str = ".ASPXAUTH";
/// The anti-CSRF cookie, echoed by clients in the header of the same name.
pub const CSRF: &str = "BPMCSRF";

/// One logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Index of the user in the world's Creatio users.
    pub user: usize,
    pub csrf: String,
    last_seen: Instant,
}

/// Why a request is not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No `.ASPXAUTH`, an unknown one, or one whose session has expired.
    NoSession,
    /// The `BPMCSRF` header is missing or differs from the session's token.
    Csrf,
}

/// The new session's cookie values, for `Set-Cookie`.
#[derive(Debug, Clone)]
pub struct Issued {
    pub auth: String,
    pub csrf: String,
    pub loader: String,
    pub session_id: String,
}

#[derive(Debug)]
pub struct Sessions {
    timeout: Duration,
    by_auth: HashMap<String, Session>,
    /// Bearer tokens: the user and when the token lapses (an absolute lifetime, not idle).
    bearers: HashMap<String, (usize, Instant)>,
}

fn token(rng: &mut StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..ALPHABET.len());
            ALPHABET.get(i).map_or('A', |b| char::from(*b))
        })
        .collect()
}

impl Sessions {
    pub fn new(timeout: Duration) -> Self {
        Sessions {
            timeout,
            by_auth: HashMap::new(),
            bearers: HashMap::new(),
        }
    }

    /// Opens a session for `user` (the password was already checked).
    pub fn open(&mut self, now: Instant, user: usize, rng: &mut StdRng) -> Issued {
        let issued = Issued {
            auth: token(rng, 64),
            csrf: token(rng, 22),
            loader: token(rng, 24),
            session_id: token(rng, 24),
        };
        self.by_auth.insert(
            issued.auth.clone(),
            Session {
                user,
                csrf: issued.csrf.clone(),
                last_seen: now,
            },
        );
        issued
    }

    /// Checks a request's cookie and CSRF header; on success the idle clock restarts.
    pub fn admit(
        &mut self,
        now: Instant,
        auth_cookie: Option<&str>,
        csrf_header: Option<&str>,
        need_csrf: bool,
    ) -> Result<&Session, Denied> {
        let timeout = self.timeout;
        self.by_auth
            .retain(|_, s| now.saturating_duration_since(s.last_seen) < timeout);
        let session = auth_cookie
            .and_then(|auth| self.by_auth.get_mut(auth))
            .ok_or(Denied::NoSession)?;
        if need_csrf && csrf_header != Some(session.csrf.as_str()) {
            return Err(Denied::Csrf);
        }
        session.last_seen = now;
        Ok(session)
    }

    /// Issues a bearer token for `user` valid for `lifetime` (§2.4).
    pub fn issue_token(&mut self, now: Instant, user: usize, lifetime: Duration, rng: &mut StdRng) -> String {
        let token = token(rng, 48);
        self.bearers.insert(token.clone(), (user, now + lifetime));
        token
    }

    /// The user of a bearer token still valid at `now`; no cookie or CSRF header is needed.
    pub fn admit_bearer(&mut self, now: Instant, token: &str) -> Result<usize, Denied> {
        self.bearers.retain(|_, (_, lapses)| now < *lapses);
        self.bearers.get(token).map(|(user, _)| *user).ok_or(Denied::NoSession)
    }

    /// Ends one session (logout).
    pub fn close(&mut self, auth_cookie: &str) -> bool {
        self.by_auth.remove(auth_cookie).is_some()
    }

    /// Ends every session and bearer token (fault injection); returns how many there were.
    pub fn expire_all(&mut self) -> usize {
        let count = self.by_auth.len() + self.bearers.len();
        self.by_auth.clear();
        self.bearers.clear();
        count
    }

    /// Sessions still alive at `now`.
    pub fn live(&self, now: Instant) -> usize {
        let cookies = self
            .by_auth
            .values()
            .filter(|s| now.saturating_duration_since(s.last_seen) < self.timeout)
            .count();
        cookies + self.bearers.values().filter(|(_, lapses)| now < *lapses).count()
    }
}
