//! HTTP digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
//!
//! Our own implementation because rsip's gets `SHA-256`, `-sess`, `auth-int` and the hex
//! nonce-count wrong. A server may offer several challenges; per realm we answer the topmost
//! one whose algorithm we support (RFC 8760 §2.4). Nonces are reused with an incrementing
//! nonce-count until the server says `stale=true`.

use std::fmt::{self, Write as _};

use md5::Md5;
use rand::{RngCore, SeedableRng, rngs::StdRng};
use sha2::{Digest as _, Sha256, Sha512_256};

use crate::msg::{Request, Response, quote, split_unquoted, take_quoted};

/// Why authentication cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The challenge could not be parsed (peer's fault).
    #[error("malformed {header} challenge: {reason}")]
    Malformed { header: &'static str, reason: &'static str },
    /// Every challenge names a scheme or algorithm we do not implement.
    #[error("no supported digest challenge offered")]
    Unsupported,
    /// The server challenged again although our credentials answered a fresh nonce.
    #[error("credentials rejected for realm {realm}")]
    Rejected { realm: String },
    /// A 401/407 without any challenge header.
    #[error("{status} response carries no challenge")]
    MissingChallenge { status: u16 },
}

/// Hash algorithms of RFC 7616/8760, plain or session variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    Sha512_256,
    Sha512_256Sess,
}

impl Algorithm {
    /// `None` for algorithms we do not implement. `SHA256` (no hyphen) is accepted because
    /// some stacks, rsip among them, write it that way.
    pub fn parse(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "md5" => Self::Md5,
            "md5-sess" => Self::Md5Sess,
            "sha-256" | "sha256" => Self::Sha256,
            "sha-256-sess" | "sha256-sess" => Self::Sha256Sess,
            "sha-512-256" => Self::Sha512_256,
            "sha-512-256-sess" => Self::Sha512_256Sess,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Sha512_256 => "SHA-512-256",
            Self::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess | Self::Sha512_256Sess)
    }

    fn hash(self, data: &[u8]) -> String {
        let bytes: Vec<u8> = match self {
            Self::Md5 | Self::Md5Sess => Md5::digest(data).to_vec(),
            Self::Sha256 | Self::Sha256Sess => Sha256::digest(data).to_vec(),
            Self::Sha512_256 | Self::Sha512_256Sess => Sha512_256::digest(data).to_vec(),
        };
        bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    Auth,
    AuthInt,
}

impl Qop {
    fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }
}

/// Which header carried the challenge, and so which header carries the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// 401 `WWW-Authenticate` answered with `Authorization`.
    Www,
    /// 407 `Proxy-Authenticate` answered with `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    pub fn challenge_header(self) -> &'static str {
        match self {
            Self::Www => "WWW-Authenticate",
            Self::Proxy => "Proxy-Authenticate",
        }
    }

    pub fn credentials_header(self) -> &'static str {
        match self {
            Self::Www => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }
}

/// One parsed `Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// Offered qop values we support; empty means RFC 2069 compatibility (no cnonce/nc).
    pub qop: Vec<Qop>,
    pub stale: bool,
}

impl Challenge {
    /// Parses one challenge header value. `Ok(None)` for a well-formed challenge we cannot
    /// answer (another scheme, an unknown algorithm, only unknown qop values).
    pub fn parse(value: &str, header: &'static str) -> Result<Option<Self>, AuthError> {
        let bad = |reason| AuthError::Malformed { header, reason };
        let value = value.trim();
        let (scheme, params) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Ok(None);
        }
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = Some(Algorithm::Md5);
        let mut qop_offered = None;
        let mut stale = false;
        let parts = split_unquoted(params, ',').map_err(|_| bad("unterminated quote"))?;
        for part in parts {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, raw) = part.split_once('=').ok_or_else(|| bad("parameter without value"))?;
            let raw = raw.trim();
            let text = if raw.starts_with('"') {
                match take_quoted(raw, header) {
                    Ok((v, rest)) if rest.trim().is_empty() => v,
                    _ => return Err(bad("bad quoted value")),
                }
            } else {
                raw.to_owned()
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "realm" => realm = Some(text),
                "nonce" => nonce = Some(text),
                "opaque" => opaque = Some(text),
                "algorithm" => algorithm = Algorithm::parse(&text),
                "qop" => qop_offered = Some(text),
                "stale" => stale = text.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        let realm = realm.ok_or_else(|| bad("missing realm"))?;
        let nonce = nonce.ok_or_else(|| bad("missing nonce"))?;
        let Some(algorithm) = algorithm else {
            return Ok(None);
        };
        let qop: Vec<Qop> = match &qop_offered {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter_map(|q| match q.trim().to_ascii_lowercase().as_str() {
                    "auth" => Some(Qop::Auth),
                    "auth-int" => Some(Qop::AuthInt),
                    _ => None,
                })
                .collect(),
        };
        if qop_offered.is_some() && qop.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            realm,
            nonce,
            opaque,
            algorithm,
            qop,
            stale,
        }))
    }

    /// `auth` when offered (it does not bind the body, so retransmitted bodies stay valid),
    /// otherwise `auth-int`, otherwise none.
    fn chosen_qop(&self) -> Option<Qop> {
        if self.qop.contains(&Qop::Auth) {
            Some(Qop::Auth)
        } else {
            self.qop.first().copied()
        }
    }
}

/// The challenges of a 401/407 we will answer: per realm, the topmost supported one.
pub fn select_challenges(response: &Response) -> Result<Vec<(ChallengeKind, Challenge)>, AuthError> {
    let mut chosen: Vec<(ChallengeKind, Challenge)> = Vec::new();
    let mut seen_any = false;
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        for value in response.headers.get_all(kind.challenge_header()) {
            seen_any = true;
            if let Some(challenge) = Challenge::parse(value, kind.challenge_header())? {
                let taken = chosen.iter().any(|(k, c)| *k == kind && c.realm == challenge.realm);
                if !taken {
                    chosen.push((kind, challenge));
                }
            }
        }
    }
    if !seen_any {
        return Err(AuthError::MissingChallenge {
            status: response.status.code(),
        });
    }
    if chosen.is_empty() {
        return Err(AuthError::Unsupported);
    }
    Ok(chosen)
}

/// Inputs of one digest computation.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    pub algorithm: Algorithm,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub nonce: &'a str,
    pub cnonce: &'a str,
    pub nc: u32,
    pub qop: Option<Qop>,
    pub method: &'a str,
    pub uri: &'a str,
    pub body: &'a [u8],
}

/// The `response=` value (RFC 7616 §3.4.1).
pub fn compute_response(input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    let mut ha1 = alg.hash(format!("{}:{}:{}", input.username, input.realm, input.password).as_bytes());
    if alg.is_session() {
        ha1 = alg.hash(format!("{ha1}:{}:{}", input.nonce, input.cnonce).as_bytes());
    }
    let ha2 = match input.qop {
        Some(Qop::AuthInt) => alg.hash(format!("{}:{}:{}", input.method, input.uri, alg.hash(input.body)).as_bytes()),
        _ => alg.hash(format!("{}:{}", input.method, input.uri).as_bytes()),
    };
    match input.qop {
        Some(qop) => alg.hash(
            format!(
                "{ha1}:{}:{:08x}:{}:{}:{ha2}",
                input.nonce,
                input.nc,
                input.cnonce,
                qop.as_str()
            )
            .as_bytes(),
        ),
        None => alg.hash(format!("{ha1}:{}:{ha2}", input.nonce).as_bytes()),
    }
}

/// A username and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Most realms answered at once (registrar, proxy, and room to spare).
pub const MAX_REALMS: usize = 4;

#[derive(Debug, Clone)]
struct Cached {
    kind: ChallengeKind,
    challenge: Challenge,
    nc: u32,
}

/// Answers challenges for one account: remembers the last challenge per realm so later
/// requests are pre-authorised, counts nonce uses, and draws cnonces from a seeded RNG.
pub struct Authenticator {
    credentials: Credentials,
    cached: Vec<Cached>,
    rng: StdRng,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("username", &self.credentials.username)
            .field(
                "realms",
                &self.cached.iter().map(|c| &c.challenge.realm).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(credentials: Credentials, seed: u64) -> Self {
        Self {
            credentials,
            cached: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Takes in a 401/407 and replaces the cached challenge of each realm it names.
    ///
    /// `retried` says whether the challenged request was itself the answer to a challenge in
    /// the same exchange. Then a challenge without `stale=true` means the server refused our
    /// credentials, and retrying would loop. A first request, even one pre-authorised with a
    /// cached nonce, passes `false`: the server may just have forgotten that nonce.
    ///
    /// A challenge for a realm the request carried no credentials for (a 407 from a proxy
    /// after the registrar's 401 was answered) is no refusal: it is answered too, up to
    /// [`MAX_REALMS`] realms, so that a peer inventing realms cannot make us loop.
    pub fn on_challenge(&mut self, response: &Response, retried: bool) -> Result<(), AuthError> {
        let challenges = select_challenges(response)?;
        let answered = |kind: ChallengeKind, challenge: &Challenge| {
            self.cached
                .iter()
                .any(|c| c.kind == kind && c.challenge.realm == challenge.realm)
        };
        let full = self.cached.len() >= MAX_REALMS;
        if retried
            && let Some((_, refused)) = challenges
                .iter()
                .find(|(kind, c)| !c.stale && (full || answered(*kind, c)))
        {
            return Err(AuthError::Rejected {
                realm: refused.realm.clone(),
            });
        }
        for (kind, challenge) in challenges {
            self.cached
                .retain(|c| !(c.kind == kind && c.challenge.realm == challenge.realm));
            tracing::debug!(
                realm = %challenge.realm,
                algorithm = challenge.algorithm.as_str(),
                stale = challenge.stale,
                "digest challenge"
            );
            self.cached.push(Cached { kind, challenge, nc: 0 });
        }
        Ok(())
    }

    /// Adds an Authorization/Proxy-Authorization header per cached realm, replacing old ones.
    pub fn authorize(&mut self, request: &mut Request) {
        request.headers.remove("Authorization");
        request.headers.remove("Proxy-Authorization");
        let mut fields = Vec::with_capacity(self.cached.len());
        for cached in &mut self.cached {
            cached.nc = cached.nc.wrapping_add(1);
            let cnonce = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
            let c = &cached.challenge;
            let qop = c.chosen_qop();
            let uri = request.uri.as_str();
            let response = compute_response(&DigestInput {
                algorithm: c.algorithm,
                username: &self.credentials.username,
                realm: &c.realm,
                password: &self.credentials.password,
                nonce: &c.nonce,
                cnonce: &cnonce,
                nc: cached.nc,
                qop,
                method: request.method.as_str(),
                uri,
                body: &request.body,
            });
            let mut value = format!(
                "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
                quote(&self.credentials.username),
                quote(&c.realm),
                quote(&c.nonce),
                quote(uri),
                c.algorithm.as_str(),
            );
            if let Some(qop) = qop {
                let _ = write!(
                    value,
                    ", qop={}, nc={:08x}, cnonce=\"{cnonce}\"",
                    qop.as_str(),
                    cached.nc
                );
            }
            if let Some(opaque) = &c.opaque {
                let _ = write!(value, ", opaque={}", quote(opaque));
            }
            fields.push((cached.kind.credentials_header(), value));
        }
        for (name, value) in fields {
            request.headers.push(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Method, StatusCode, Uri};

    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616(algorithm: Algorithm) -> DigestInput<'static> {
        DigestInput {
            algorithm,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            nonce: NONCE,
            cnonce: CNONCE,
            nc: 1,
            qop: Some(Qop::Auth),
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
        }
    }

    #[test]
    fn rfc2617_section_3_5_example() {
        let input = DigestInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: "0a4f113b",
            nc: 1,
            qop: Some(Qop::Auth),
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
        };
        assert_eq!(compute_response(&input), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_and_sha256() {
        assert_eq!(
            compute_response(&rfc7616(Algorithm::Md5)),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        assert_eq!(
            compute_response(&rfc7616(Algorithm::Sha256)),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    // Known answers computed independently (Python hashlib) from the RFC 7616 inputs.
    #[test]
    fn session_variants_rehash_ha1_with_nonce_and_cnonce() {
        assert_eq!(
            compute_response(&rfc7616(Algorithm::Md5Sess)),
            "e783283f46242139c486a698fec7211d"
        );
        assert_eq!(
            compute_response(&rfc7616(Algorithm::Sha256Sess)),
            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"
        );
        assert_eq!(
            compute_response(&rfc7616(Algorithm::Sha512_256)),
            "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0"
        );
    }

    #[test]
    fn auth_int_hashes_the_body_and_nc_is_lower_hex() {
        let input = DigestInput {
            qop: Some(Qop::AuthInt),
            algorithm: Algorithm::Sha256,
            method: "INVITE",
            uri: "sip:bob@example.com",
            body: b"v=0\r\n",
            nc: 10,
            ..rfc7616(Algorithm::Sha256)
        };
        assert_eq!(
            compute_response(&input),
            "552600d310ccbeac4917d1da90c14ba39674d4fc7bb0d53ff9f107bc9961e95b"
        );
    }

    #[test]
    fn without_qop_the_rfc2069_form_is_used() {
        let input = DigestInput {
            qop: None,
            method: "REGISTER",
            uri: "sip:example.com",
            ..rfc7616(Algorithm::Md5)
        };
        assert_eq!(compute_response(&input), "a9745b77c41a4ff9842603cbb1b47650");
    }

    #[test]
    fn algorithm_spellings() {
        assert_eq!(Algorithm::parse("SHA-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("sha256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("SHA-256-sess"), Some(Algorithm::Sha256Sess));
        assert_eq!(Algorithm::parse("md5-SESS"), Some(Algorithm::Md5Sess));
        assert_eq!(Algorithm::parse("SHA-1"), None);
        assert_eq!(Algorithm::Sha256.as_str(), "SHA-256");
    }

    #[test]
    fn challenge_parsing() {
        let c = Challenge::parse(
            r#"Digest realm="pbx, main", qop="auth,auth-int", algorithm=SHA-256, nonce="n\"1", opaque="o", stale=TRUE"#,
            "WWW-Authenticate",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.realm, "pbx, main");
        assert_eq!(c.nonce, "n\"1");
        assert_eq!(c.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert!(c.stale);
        assert_eq!(c.opaque.as_deref(), Some("o"));
        assert_eq!(
            Challenge::parse(r#"Basic realm="x""#, "WWW-Authenticate").unwrap(),
            None
        );
        assert_eq!(
            Challenge::parse(r#"Digest realm="x", nonce="n", algorithm=SHA-1"#, "WWW-Authenticate").unwrap(),
            None
        );
        assert!(Challenge::parse(r#"Digest realm="x""#, "WWW-Authenticate").is_err());
        assert!(Challenge::parse(r#"Digest realm="x, nonce="n""#, "WWW-Authenticate").is_err());
    }

    fn challenge_response(status: u16, headers: &[(&str, &str)]) -> Response {
        let mut r = Response {
            status: StatusCode::new(status).unwrap(),
            reason: "Unauthorized".into(),
            headers: Default::default(),
            body: Vec::new(),
        };
        for (n, v) in headers {
            r.headers.push(n, *v);
        }
        r
    }

    fn register() -> Request {
        Request::new(Method::Register, Uri::parse("sip:pbx.example.com").unwrap())
    }

    fn auth_params(value: &str) -> Vec<(String, String)> {
        let rest = value.strip_prefix("Digest ").unwrap();
        split_unquoted(rest, ',')
            .unwrap()
            .into_iter()
            .map(|p| {
                let (n, v) = p.trim().split_once('=').unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
        params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap()
    }

    #[test]
    fn topmost_supported_challenge_per_realm_is_answered() {
        let resp = challenge_response(
            401,
            &[
                (
                    "WWW-Authenticate",
                    r#"Digest realm="a", nonce="n1", algorithm=SHA-512, qop="auth""#,
                ),
                (
                    "WWW-Authenticate",
                    r#"Digest realm="a", nonce="n2", algorithm=SHA-256, qop="auth""#,
                ),
                (
                    "WWW-Authenticate",
                    r#"Digest realm="a", nonce="n3", algorithm=MD5, qop="auth""#,
                ),
                ("WWW-Authenticate", r#"Digest realm="b", nonce="n4""#),
            ],
        );
        let chosen = select_challenges(&resp).unwrap();
        let summary: Vec<_> = chosen
            .iter()
            .map(|(_, c)| (c.realm.as_str(), c.nonce.as_str(), c.algorithm))
            .collect();
        assert_eq!(
            summary,
            vec![("a", "n2", Algorithm::Sha256), ("b", "n4", Algorithm::Md5)]
        );
    }

    #[test]
    fn no_supported_or_no_challenge_at_all_are_errors() {
        let basic = challenge_response(401, &[("WWW-Authenticate", r#"Basic realm="a""#)]);
        assert_eq!(select_challenges(&basic), Err(AuthError::Unsupported));
        let none = challenge_response(407, &[]);
        assert_eq!(
            select_challenges(&none),
            Err(AuthError::MissingChallenge { status: 407 })
        );
    }

    #[test]
    fn authorization_header_fields_quoting_and_nonce_count() {
        let mut auth = Authenticator::new(
            Credentials {
                username: "1001".into(),
                password: "secret".into(),
            },
            7,
        );
        let resp = challenge_response(
            401,
            &[(
                "WWW-Authenticate",
                r#"Digest realm="pbx", nonce="abc", opaque="xyz", algorithm=SHA-256, qop="auth""#,
            )],
        );
        auth.on_challenge(&resp, false).unwrap();
        let mut request = register();
        let mut cnonces = Vec::new();
        for expected_nc in ["00000001", "00000002"] {
            auth.authorize(&mut request);
            assert_eq!(request.headers.count("Authorization"), 1);
            let value = request.headers.get("Authorization").unwrap();
            let p = auth_params(value);
            assert_eq!(param(&p, "username"), "\"1001\"");
            assert_eq!(param(&p, "realm"), "\"pbx\"");
            assert_eq!(param(&p, "uri"), "\"sip:pbx.example.com\"");
            assert_eq!(param(&p, "algorithm"), "SHA-256");
            assert_eq!(param(&p, "qop"), "auth");
            assert_eq!(param(&p, "nc"), expected_nc);
            assert_eq!(param(&p, "opaque"), "\"xyz\"");
            let cnonce = param(&p, "cnonce").trim_matches('"').to_owned();
            let expected = compute_response(&DigestInput {
                algorithm: Algorithm::Sha256,
                username: "1001",
                realm: "pbx",
                password: "secret",
                nonce: "abc",
                cnonce: &cnonce,
                nc: u32::from_str_radix(expected_nc, 16).unwrap(),
                qop: Some(Qop::Auth),
                method: "REGISTER",
                uri: "sip:pbx.example.com",
                body: b"",
            });
            assert_eq!(param(&p, "response"), format!("\"{expected}\""));
            assert!(!value.contains("secret"));
            cnonces.push(cnonce);
        }
        assert_ne!(cnonces[0], cnonces[1]);
    }

    #[test]
    fn proxy_challenge_is_answered_with_proxy_authorization() {
        let mut auth = Authenticator::new(
            Credentials {
                username: "u".into(),
                password: "p".into(),
            },
            1,
        );
        auth.on_challenge(
            &challenge_response(407, &[("Proxy-Authenticate", r#"Digest realm="r", nonce="n""#)]),
            false,
        )
        .unwrap();
        let mut request = register();
        auth.authorize(&mut request);
        assert_eq!(request.headers.count("Authorization"), 0);
        let value = request.headers.get("Proxy-Authorization").unwrap();
        assert!(!value.contains("qop="), "no qop offered, none sent: {value}");
        assert!(!value.contains("cnonce="));
    }

    #[test]
    fn stale_nonce_is_retried_but_a_fresh_rechallenge_means_rejected() {
        let mut auth = Authenticator::new(
            Credentials {
                username: "u".into(),
                password: "p".into(),
            },
            1,
        );
        auth.on_challenge(
            &challenge_response(
                401,
                &[("WWW-Authenticate", r#"Digest realm="r", nonce="n1", qop="auth""#)],
            ),
            false,
        )
        .unwrap();
        let mut request = register();
        auth.authorize(&mut request);
        auth.on_challenge(
            &challenge_response(
                401,
                &[(
                    "WWW-Authenticate",
                    r#"Digest realm="r", nonce="n2", qop="auth", stale=true"#,
                )],
            ),
            true,
        )
        .unwrap();
        auth.authorize(&mut request);
        let p = auth_params(request.headers.get("Authorization").unwrap());
        assert_eq!(param(&p, "nonce"), "\"n2\"");
        assert_eq!(param(&p, "nc"), "00000001", "a new nonce restarts the count");
        let again = auth.on_challenge(
            &challenge_response(
                401,
                &[("WWW-Authenticate", r#"Digest realm="r", nonce="n3", qop="auth""#)],
            ),
            true,
        );
        assert_eq!(again, Err(AuthError::Rejected { realm: "r".into() }));
    }

    #[test]
    fn a_first_request_accepts_a_fresh_challenge_for_a_cached_realm() {
        let mut auth = Authenticator::new(
            Credentials {
                username: "u".into(),
                password: "p".into(),
            },
            1,
        );
        let first = challenge_response(401, &[("WWW-Authenticate", r#"Digest realm="r", nonce="n1""#)]);
        auth.on_challenge(&first, false).unwrap();
        let mut request = register();
        auth.authorize(&mut request);
        // A later request pre-authorised with n1; the server has forgotten it.
        let fresh = challenge_response(401, &[("WWW-Authenticate", r#"Digest realm="r", nonce="n9""#)]);
        auth.on_challenge(&fresh, false).unwrap();
        auth.authorize(&mut request);
        assert!(request.headers.get("Authorization").unwrap().contains("nonce=\"n9\""));
        assert_eq!(
            auth.on_challenge(&fresh, true),
            Err(AuthError::Rejected { realm: "r".into() })
        );
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let creds = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert!(!format!("{:?}", Authenticator::new(creds, 0)).contains("hunter2"));
    }
}
