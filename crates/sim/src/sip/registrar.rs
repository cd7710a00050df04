//! The registrar of the simulated PBX: REGISTER with digest authentication (MD5, `qop=auth`)
//! against the world's SIP accounts, and one binding per user with its expiry.
//!
//! A REGISTER without credentials gets 401 with a fresh nonce; credentials for an unknown
//! nonce get 401 `stale=true`; a wrong password, an unknown user, or an address-of-record
//! that is not the authenticated user's own gets 403 and changes nothing. The nonce-count is
//! not checked for replays: the simulator serves loopback clients it trusts.
//!
//! A user has one binding, the newest contact registered (a second device replaces the
//! first); the source address of the REGISTER is where requests to the phone are sent
//! (symmetric signalling, as behind a NAT).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ::sip::digest::{Algorithm, DigestInput, Qop, compute_response};
use ::sip::msg::{Contact, Request, Response, StatusCode, Uri};
use rand::RngCore;
use rand::rngs::StdRng;

use crate::directory::{Directory, UserIdx};

/// The realm of every challenge.
pub const REALM: &str = "oktell-sim";
/// The longest binding granted, and the one granted when the phone asks for none.
pub const MAX_EXPIRES: u32 = 3600;
/// How long a nonce stays valid.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Where a registered phone is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI the phone registered: the Request-URI of requests to it.
    pub contact: Uri,
    /// Where its REGISTER came from: where requests to it are sent.
    pub source: SocketAddr,
    pub expires_at: Instant,
}

/// Bindings and nonces.
#[derive(Debug)]
pub struct Registrar {
    bindings: HashMap<UserIdx, Binding>,
    nonces: HashMap<String, Instant>,
}

/// The parts of an `Authorization: Digest …` header the registrar checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Credentials {
    username: String,
    realm: String,
    nonce: String,
    uri: String,
    response: String,
    algorithm: Option<String>,
    qop: Option<String>,
    nc: Option<String>,
    cnonce: Option<String>,
}

impl Registrar {
    pub fn new() -> Self {
        Registrar {
            bindings: HashMap::new(),
            nonces: HashMap::new(),
        }
    }

    /// The live binding of a user.
    pub fn binding(&self, user: UserIdx) -> Option<&Binding> {
        self.bindings.get(&user)
    }

    pub fn bindings(&self) -> impl Iterator<Item = (UserIdx, &Binding)> {
        self.bindings.iter().map(|(user, binding)| (*user, binding))
    }

    /// Drops expired bindings and nonces; returns the users whose binding ended.
    pub fn expire(&mut self, now: Instant) -> Vec<UserIdx> {
        self.nonces
            .retain(|_, issued| now.saturating_duration_since(*issued) < NONCE_LIFETIME);
        let gone: Vec<UserIdx> = self
            .bindings
            .iter()
            .filter(|(_, b)| b.expires_at <= now)
            .map(|(u, _)| *u)
            .collect();
        for user in &gone {
            self.bindings.remove(user);
            tracing::info!(user = user.0, "SIP binding expired");
        }
        gone
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings.values().map(|b| b.expires_at).min()
    }

    /// Answers one REGISTER; `tag` is the To tag of the response.
    pub fn handle_register(
        &mut self,
        now: Instant,
        source: SocketAddr,
        request: &Request,
        directory: &Directory,
        rng: &mut StdRng,
        tag: &str,
    ) -> Response {
        let reply = |status: u16, reason: &str| response(request, status, reason, tag);
        let Some(header) = request.headers.get("Authorization") else {
            return self.challenge(now, reply(401, "Unauthorized"), rng, false);
        };
        let Some(credentials) = parse_credentials(header) else {
            return reply(400, "Malformed Authorization");
        };
        let Some(user) = find_user(directory, &credentials.username) else {
            tracing::info!(username = %credentials.username, "REGISTER for an unknown SIP user");
            return reply(403, "Forbidden");
        };
        if !self.nonces.contains_key(&credentials.nonce) || credentials.realm != REALM {
            return self.challenge(now, reply(401, "Unauthorized"), rng, true);
        }
        if !credentials_match(&credentials, directory, user, request) {
            tracing::info!(user = user.0, "REGISTER with a wrong SIP password");
            return reply(403, "Forbidden");
        }
        let aor_is_own = request
            .headers
            .to()
            .ok()
            .and_then(|to| to.uri.user().map(str::to_owned))
            .is_some_and(|aor| find_user(directory, &aor) == Some(user));
        if !aor_is_own {
            return reply(403, "Forbidden");
        }
        let Ok(contacts) = request.headers.contacts() else {
            return reply(400, "Malformed Contact");
        };
        let default_expires = request.headers.expires().unwrap_or(MAX_EXPIRES);
        for contact in &contacts {
            match contact {
                Contact::Star => {
                    if self.bindings.remove(&user).is_some() {
                        tracing::info!(user = user.0, "SIP binding removed");
                    }
                }
                Contact::Address(address) => {
                    let expires = contact.expires().unwrap_or(default_expires).min(MAX_EXPIRES);
                    if expires == 0 {
                        if self.bindings.get(&user).is_some_and(|b| b.contact == address.uri) {
                            self.bindings.remove(&user);
                            tracing::info!(user = user.0, "SIP binding removed");
                        }
                    } else {
                        tracing::info!(user = user.0, %source, expires, "SIP phone registered");
                        self.bindings.insert(
                            user,
                            Binding {
                                contact: address.uri.clone(),
                                source,
                                expires_at: now + Duration::from_secs(u64::from(expires)),
                            },
                        );
                    }
                }
            }
        }
        let mut ok = reply(200, "OK");
        if let Some(binding) = self.bindings.get(&user) {
            let left = binding.expires_at.saturating_duration_since(now).as_secs();
            ok.headers
                .push("Contact", format!("<{}>;expires={left}", binding.contact));
        }
        ok
    }

    fn challenge(&mut self, now: Instant, mut response: Response, rng: &mut StdRng, stale: bool) -> Response {
        let nonce = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        self.nonces.insert(nonce.clone(), now);
        let stale = if stale { ", stale=true" } else { "" };
        response.headers.push(
            "WWW-Authenticate",
            format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}"),
        );
        response
    }
}

impl Default for Registrar {
    fn default() -> Self {
        Self::new()
    }
}

/// A response to `request`. The statuses used here are all valid; an invalid one would
/// become 400 rather than a panic.
pub(crate) fn response(request: &Request, status: u16, reason: &str, tag: &str) -> Response {
    let (status, reason) = match StatusCode::new(status) {
        Some(status) => (status, reason),
        None => (StatusCode::BAD_REQUEST, "Bad Request"),
    };
    Response::to_request(request, status, reason, tag)
}

/// The user whose SIP account name, number or login this is.
pub fn find_user(directory: &Directory, name: &str) -> Option<UserIdx> {
    directory
        .people()
        .find(|(_, p)| {
            p.user.sip_user_name() == name || p.user.number == name || p.user.login.eq_ignore_ascii_case(name)
        })
        .map(|(idx, _)| idx)
}

fn credentials_match(credentials: &Credentials, directory: &Directory, user: UserIdx, request: &Request) -> bool {
    let Some(person) = directory.person(user) else {
        return false;
    };
    let algorithm = match credentials.algorithm.as_deref() {
        None => Algorithm::Md5,
        Some(name) => match Algorithm::parse(name) {
            Some(Algorithm::Md5) => Algorithm::Md5,
            _ => return false,
        },
    };
    let qop = match credentials.qop.as_deref() {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
        Some(_) => return false,
    };
    let nc = match (&qop, credentials.nc.as_deref()) {
        (None, _) => 0,
        (Some(_), Some(nc)) => match u32::from_str_radix(nc, 16) {
            Ok(nc) => nc,
            Err(_) => return false,
        },
        (Some(_), None) => return false,
    };
    let expected = compute_response(&DigestInput {
        algorithm,
        username: &credentials.username,
        realm: &credentials.realm,
        password: person.user.sip_secret(),
        nonce: &credentials.nonce,
        cnonce: credentials.cnonce.as_deref().unwrap_or_default(),
        nc,
        qop,
        method: request.method.as_str(),
        uri: &credentials.uri,
        body: &request.body,
    });
    expected.eq_ignore_ascii_case(&credentials.response)
}

/// Parses `Digest name=value, name="quoted", …`; `None` when it is not a digest header or
/// a required parameter is missing.
fn parse_credentials(header: &str) -> Option<Credentials> {
    let header = header.trim();
    let (scheme, params) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut credentials = Credentials::default();
    let mut seen = 0u8;
    for (name, value) in auth_params(params)? {
        let slot = match name.to_ascii_lowercase().as_str() {
            "username" => &mut credentials.username,
            "realm" => &mut credentials.realm,
            "nonce" => &mut credentials.nonce,
            "uri" => &mut credentials.uri,
            "response" => &mut credentials.response,
            "algorithm" => {
                credentials.algorithm = Some(value);
                continue;
            }
            "qop" => {
                credentials.qop = Some(value);
                continue;
            }
            "nc" => {
                credentials.nc = Some(value);
                continue;
            }
            "cnonce" => {
                credentials.cnonce = Some(value);
                continue;
            }
            _ => continue,
        };
        *slot = value;
        seen += 1;
    }
    (seen >= 5).then_some(credentials)
}

/// `name=value` pairs separated by commas; values may be quoted (with `\` escapes).
fn auth_params(text: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().to_owned();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, quoted.get(end?..)?)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after.get(..end)?.trim().to_owned(), after.get(end..)?)
        };
        params.push((name, value));
        let remainder = remainder.trim_start();
        rest = match remainder.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if remainder.is_empty() => remainder,
            None => return None,
        };
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_quoted_and_bare_values() {
        let parsed = parse_credentials(
            r#"Digest username="101", realm="oktell-sim", nonce="abc", uri="sip:127.0.0.1", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="x\"y""#,
        )
        .unwrap();
        assert_eq!(parsed.username, "101");
        assert_eq!(parsed.nc.as_deref(), Some("00000001"));
        assert_eq!(parsed.cnonce.as_deref(), Some("x\"y"));
        assert_eq!(parsed.algorithm.as_deref(), Some("MD5"));
    }

    #[test]
    fn hostile_credentials_are_refused_not_panicked_on() {
        for header in [
            "",
            "Basic abc",
            "Digest",
            "Digest username",
            "Digest username=\"unterminated",
            "Digest username=\"a\" realm=\"b\"",
            "Digest username=\"a\", realm=\"b\"",
            "Digest \u{0}=\u{0}, ,,,",
        ] {
            assert!(parse_credentials(header).is_none(), "{header:?}");
        }
    }
}
