//! Typed views of the headers the UA core reads. Each parser is liberal about linear white
//! space (RFC 3261 §7.3.1) and strict about structure: a value whose structure is ambiguous is
//! reported as malformed rather than guessed at.

use std::fmt;

use super::{
    Headers, Malformed, Method,
    grammar::{Params, is_token, is_token_char, quote, split_outside, take_quoted},
};

/// A URI kept verbatim (escapes untouched, so `%41` never turns into `A` twice), with just
/// enough structure for routing and matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uri(String);

impl Uri {
    /// Accepts any `scheme:rest` without white space or angle brackets.
    pub fn parse(s: &str) -> Result<Self, Malformed> {
        let bad = |reason| Malformed::header("URI", reason);
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || rest.is_empty() {
            return Err(bad("invalid scheme"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c.is_control())
        {
            return Err(bad("white space or brackets inside the URI"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn scheme(&self) -> &str {
        self.0.split_once(':').map_or("", |(s, _)| s)
    }

    pub fn is_sip(&self) -> bool {
        self.scheme().eq_ignore_ascii_case("sip") || self.scheme().eq_ignore_ascii_case("sips")
    }

    /// Part after the scheme up to the URI parameters, split into user and host-port.
    fn parts(&self) -> (Option<&str>, &str, &str) {
        let rest = self.0.split_once(':').map_or("", |(_, r)| r);
        let (user, after) = match rest.rfind('@') {
            Some(at) => (rest.get(..at), rest.get(at + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        let end = after.find([';', '?']).unwrap_or(after.len());
        (
            user,
            after.get(..end).unwrap_or_default(),
            after.get(end..).unwrap_or_default(),
        )
    }

    pub fn user(&self) -> Option<&str> {
        self.parts().0
    }

    /// `host[:port]` of a SIP URI.
    pub fn host_port(&self) -> &str {
        self.parts().1
    }

    /// Whether a SIP URI carries `?headers` after its host part.
    pub fn has_headers(&self) -> bool {
        self.parts().2.contains('?')
    }

    /// A header embedded in a SIP URI (`?Replaces=...`, RFC 3261 §19.1.1), percent-decoded;
    /// the name is compared case-insensitively. Refer-To carries Replaces this way (RFC 3891).
    pub fn header(&self, name: &str) -> Option<String> {
        let tail = self.parts().2;
        let (_, headers) = tail.split_once('?')?;
        headers.split('&').find_map(|h| {
            let (n, v) = h.split_once('=')?;
            n.eq_ignore_ascii_case(name).then(|| percent_decode(v))
        })
    }

    /// The URI with its `?headers` removed: what a request built from it targets.
    pub fn without_headers(&self) -> Uri {
        match self.0.split_once('?') {
            Some((base, _)) if self.is_sip() => Uri(base.to_owned()),
            _ => self.clone(),
        }
    }

    /// The URI with one header appended, its value percent-encoded (`?Replaces=a%3Bto-tag%3D1`).
    pub fn with_header(&self, name: &str, value: &str) -> Uri {
        let sep = if self.has_headers() { '&' } else { '?' };
        Uri(format!("{}{sep}{name}={}", self.0, percent_encode(value)))
    }

    /// A URI parameter (`;transport=udp`), compared case-insensitively by name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        let tail = self.parts().2;
        let params = tail.split('?').next().unwrap_or_default();
        params.split(';').skip(1).find_map(|p| {
            let (n, v) = p.split_once('=').map_or((p, None), |(n, v)| (n, Some(v)));
            n.eq_ignore_ascii_case(name).then_some(v)
        })
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `%XX` escapes decoded; an escape that is not two hex digits, or bytes that do not form
/// UTF-8, are kept as they are rather than rejected (liberal in what we accept).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Escapes everything but RFC 3986 unreserved characters, so a header value with `;`, `=`
/// or `@` survives inside a URI.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `host[:port]` of a Via sent-by, a Contact or a Request-URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentBy {
    pub host: String,
    pub port: Option<u16>,
}

impl SentBy {
    pub fn parse(s: &str, header: &str) -> Result<Self, Malformed> {
        let bad = |reason| Malformed::header(header, reason);
        let (host, port) = if let Some(v6) = s.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unterminated IPv6 reference"))?;
            let host = format!("[{addr}]");
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after IPv6 reference"))?),
                ),
            }
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (s.to_owned(), None),
            }
        };
        let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:_".contains(c));
        if !host_ok {
            return Err(bad("invalid host"));
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad("invalid port")))
            .transpose()?;
        Ok(Self { host, port })
    }

    /// Equality for transaction matching: hosts case-insensitive, default port folded.
    pub fn matches(&self, other: &Self, default_port: u16) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.port.unwrap_or(default_port) == other.port.unwrap_or(default_port)
    }
}

impl fmt::Display for SentBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// One Via value: `SIP/2.0/<transport> sent-by;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub sent_by: SentBy,
    pub params: Params,
}

/// The RFC 3261 branch prefix that marks a globally unique transaction id.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    pub fn new(transport: &str, sent_by: SentBy, branch: &str) -> Self {
        let mut params = Params::default();
        params.set("branch", Some(branch));
        Self {
            transport: transport.to_ascii_uppercase(),
            sent_by,
            params,
        }
    }

    pub fn parse(value: &str) -> Result<Self, Malformed> {
        let bad = |reason| Malformed::header("Via", reason);
        let segments = split_outside(value, ';', false, "Via")?;
        let (protocol, params) = segments.split_first().ok_or_else(|| bad("empty"))?;
        let mut pieces = protocol.splitn(3, '/');
        let (Some(name), Some(version), Some(rest)) = (pieces.next(), pieces.next(), pieces.next()) else {
            return Err(bad("missing protocol"));
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(bad("not SIP/2.0"));
        }
        let mut words = rest.split_whitespace();
        let transport = words
            .next()
            .filter(|t| is_token(t))
            .ok_or_else(|| bad("no transport"))?;
        let sent_by: String = words.collect();
        let sent_by = SentBy::parse(&sent_by, "Via")?;
        let params = Params::parse(params, "Via")?;
        Ok(Self {
            transport: transport.to_ascii_uppercase(),
            sent_by,
            params,
        })
    }

    pub fn branch(&self) -> Option<String> {
        self.params.value("branch")
    }

    /// A branch that starts with the magic cookie and has something after it (RFC 4475 §3.2.1).
    pub fn rfc3261_branch(&self) -> Option<String> {
        self.branch()
            .filter(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<String> {
        self.params.value("received")
    }

    /// `Some(None)` for a bare `;rport` (a request asking for it), `Some(Some(port))` once filled.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// RFC 3581 §4 / RFC 3261 §18.2.1: record where a request really came from, so the
    /// response finds its way back through NAT.
    pub fn stamp_source(&mut self, source: std::net::SocketAddr) {
        let ip = source.ip().to_string();
        if self.params.contains("rport") {
            self.params.set("rport", Some(&source.port().to_string()));
            self.params.set("received", Some(&ip));
        } else if !self.sent_by.host.trim_matches(['[', ']']).eq_ignore_ascii_case(&ip) {
            self.params.set("received", Some(&ip));
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}{}", self.transport, self.sent_by, self.params)
    }
}

/// `[display-name] <uri>;params` or a bare `uri;params` (From, To, Contact, Refer-To, PAI...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    pub fn parse(value: &str, header: &str) -> Result<Self, Malformed> {
        let bad = |reason| Malformed::header(header, reason);
        let value = value.trim();
        let (display, after_display) = if value.starts_with('"') {
            let (name, rest) = take_quoted(value, header)?;
            (Some(name), rest.trim_start())
        } else {
            match value.find('<') {
                Some(lt) => {
                    let name = value.get(..lt).unwrap_or_default().trim();
                    if !name.chars().all(|c| is_token_char(c) || c == ' ' || c == '\t') {
                        return Err(bad("display name needs quotes"));
                    }
                    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
                    ((!name.is_empty()).then_some(name), value.get(lt..).unwrap_or_default())
                }
                None => (None, value),
            }
        };
        let (uri, params_text) = if let Some(inner) = after_display.strip_prefix('<') {
            let (uri, rest) = inner.split_once('>').ok_or_else(|| bad("unterminated <"))?;
            (uri, rest.trim_start())
        } else if display.is_some() {
            return Err(bad("display name without <uri>"));
        } else {
            let end = after_display.find(';').unwrap_or(after_display.len());
            let uri = after_display.get(..end).unwrap_or_default().trim_end();
            if uri.contains(['?', ',']) {
                return Err(bad("URI with headers must be enclosed in <>"));
            }
            (uri, after_display.get(end..).unwrap_or_default())
        };
        let uri = Uri::parse(uri).map_err(|_| bad("invalid URI"))?;
        let params = match params_text {
            "" => Params::default(),
            text => {
                let text = text.strip_prefix(';').ok_or_else(|| bad("junk after URI"))?;
                Params::parse(&split_outside(text, ';', false, header)?, header)?
            }
        };
        Ok(Self { display, uri, params })
    }

    pub fn tag(&self) -> Option<String> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display {
            write!(f, "{} ", quote(name))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A Contact value: an address or the `*` of a REGISTER that removes every binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Star,
    Address(NameAddr),
}

impl Contact {
    /// The `expires` contact parameter as a number, if present and valid.
    pub fn expires(&self) -> Option<u32> {
        match self {
            Self::Star => None,
            Self::Address(a) => a.params.value("expires").and_then(|v| parse_delta(&v)),
        }
    }
}

/// `CSeq: <number> <method>`; the number is limited to 2^32-1 (RFC 3261 §8.1.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(value: &str) -> Result<Self, Malformed> {
        let mut words = value.split_whitespace();
        let (Some(seq), Some(method), None) = (words.next(), words.next(), words.next()) else {
            return Err(Malformed::header("CSeq", "not <number> <method>"));
        };
        let seq = parse_u32(seq).ok_or_else(|| Malformed::header("CSeq", "number out of range"))?;
        if !is_token(method) {
            return Err(Malformed::header("CSeq", "method is not a token"));
        }
        Ok(Self {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// `RAck: <rseq> <cseq> <method>` (RFC 3262).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: CSeq,
}

/// Who refreshes the session (RFC 4028).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

/// `Session-Expires: <delta>[;refresher=uac|uas]` (RFC 4028).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta: u32,
    pub refresher: Option<Refresher>,
}

/// `Replaces: call-id;to-tag=..;from-tag=..[;early-only]` (RFC 3891).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
}

impl Replaces {
    /// `call-id;to-tag=..;from-tag=..[;early-only]`, as a header value or decoded from a
    /// Refer-To URI.
    pub fn parse(value: &str) -> Result<Self, Malformed> {
        let bad = |reason| Malformed::header("Replaces", reason);
        let segments = split_outside(value, ';', false, "Replaces")?;
        let (call_id, params) = segments.split_first().ok_or_else(|| bad("empty"))?;
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(bad("empty call-id"));
        }
        let params = Params::parse(params, "Replaces")?;
        Ok(Replaces {
            call_id: call_id.to_owned(),
            to_tag: params.value("to-tag").ok_or_else(|| bad("missing to-tag"))?,
            from_tag: params.value("from-tag").ok_or_else(|| bad("missing from-tag"))?,
            early_only: params.contains("early-only"),
        })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};to-tag={};from-tag={}", self.call_id, self.to_tag, self.from_tag)?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        match self.refresher {
            Some(Refresher::Uac) => f.write_str(";refresher=uac"),
            Some(Refresher::Uas) => f.write_str(";refresher=uas"),
            None => Ok(()),
        }
    }
}

/// `Event: <package>[;id=..]` (RFC 6665; `refer` for transfer progress, RFC 3515).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event package, lower-cased (package names compare case-insensitively).
    pub package: String,
    pub id: Option<String>,
}

/// The `substate-value` of Subscription-State.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    Pending,
    Terminated,
    /// An extension value, kept verbatim; RFC 6665 §8.2.3 says treat it like `active`.
    Other(String),
}

/// `Subscription-State: active;expires=60` or `terminated;reason=noresource` (RFC 6665).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub status: SubscriptionStatus,
    pub expires: Option<u32>,
    pub reason: Option<String>,
}

fn parse_u32(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// delta-seconds; values beyond 2^32-1 saturate as RFC 3261 §20.19 suggests for Expires.
fn parse_delta(s: &str) -> Option<u32> {
    let s = s.trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().unwrap_or(u32::MAX))
}

/// Adds `;tag=` to a To value that has none, leaving its text otherwise untouched.
pub(crate) fn with_tag(to: &str, tag: &str) -> String {
    match NameAddr::parse(to, "To") {
        Ok(addr) if addr.tag().is_some() => to.to_owned(),
        Ok(mut addr) => {
            addr.params.set("tag", Some(tag));
            addr.to_string()
        }
        Err(_) => to.to_owned(),
    }
}

fn single<'a>(headers: &'a Headers, name: &'static str) -> Result<&'a str, Malformed> {
    let mut all = headers.get_all(name);
    let first = all.next().ok_or(Malformed::Missing(name))?;
    match all.next() {
        Some(_) => Err(Malformed::Repeated(name)),
        None => Ok(first),
    }
}

/// Elements of a comma-separated header, across all its fields; empty elements are malformed.
fn list<'a>(headers: &'a Headers, name: &'static str) -> Result<Vec<&'a str>, Malformed> {
    let mut out = Vec::new();
    for field in headers.get_all(name) {
        for element in split_outside(field, ',', true, name)? {
            let element = element.trim();
            if element.is_empty() {
                return Err(Malformed::header(name, "empty list element"));
            }
            out.push(element);
        }
    }
    Ok(out)
}

impl Headers {
    /// Every Via value, topmost first.
    pub fn vias(&self) -> Result<Vec<Via>, Malformed> {
        list(self, "Via")?.into_iter().map(Via::parse).collect()
    }

    pub fn top_via(&self) -> Result<Via, Malformed> {
        self.vias()?.into_iter().next().ok_or(Malformed::Missing("Via"))
    }

    /// Rewrites the topmost Via value, keeping any others folded into the same field.
    pub fn replace_top_via(&mut self, via: &Via) -> Result<(), Malformed> {
        let slot = self
            .0
            .iter_mut()
            .find(|h| h.name == "Via")
            .ok_or(Malformed::Missing("Via"))?;
        let rest: Vec<String> = split_outside(&slot.value, ',', true, "Via")?
            .into_iter()
            .skip(1)
            .map(|v| v.trim().to_owned())
            .collect();
        slot.value = std::iter::once(via.to_string())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(", ");
        Ok(())
    }

    pub fn from(&self) -> Result<NameAddr, Malformed> {
        NameAddr::parse(single(self, "From")?, "From")
    }

    pub fn to(&self) -> Result<NameAddr, Malformed> {
        NameAddr::parse(single(self, "To")?, "To")
    }

    pub fn call_id(&self) -> Result<&str, Malformed> {
        let id = single(self, "Call-ID")?;
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(Malformed::header("Call-ID", "empty or contains white space"));
        }
        Ok(id)
    }

    pub fn cseq(&self) -> Result<CSeq, Malformed> {
        CSeq::parse(single(self, "CSeq")?)
    }

    pub fn contacts(&self) -> Result<Vec<Contact>, Malformed> {
        list(self, "Contact")?
            .into_iter()
            .map(|c| match c {
                "*" => Ok(Contact::Star),
                c => NameAddr::parse(c, "Contact").map(Contact::Address),
            })
            .collect()
    }

    /// Max-Forwards, 0..=255; `None` when absent (RFC 2543 peers omit it).
    pub fn max_forwards(&self) -> Result<Option<u8>, Malformed> {
        match self.get_all("Max-Forwards").count() {
            0 => Ok(None),
            1 => {
                let value = self.get("Max-Forwards").unwrap_or_default();
                parse_u32(value)
                    .and_then(|v| u8::try_from(v).ok())
                    .map(Some)
                    .ok_or_else(|| Malformed::header("Max-Forwards", "not 0..=255"))
            }
            _ => Err(Malformed::Repeated("Max-Forwards")),
        }
    }

    pub fn expires(&self) -> Option<u32> {
        self.get("Expires").and_then(parse_delta)
    }

    pub fn min_expires(&self) -> Option<u32> {
        self.get("Min-Expires").and_then(parse_delta)
    }

    pub fn routes(&self, name: &'static str) -> Result<Vec<NameAddr>, Malformed> {
        list(self, name)?
            .into_iter()
            .map(|r| NameAddr::parse(r, name))
            .collect()
    }

    pub fn refer_to(&self) -> Result<NameAddr, Malformed> {
        NameAddr::parse(single(self, "Refer-To")?, "Refer-To")
    }

    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, Malformed> {
        self.routes("P-Asserted-Identity")
    }

    pub fn rseq(&self) -> Result<u32, Malformed> {
        parse_u32(single(self, "RSeq")?.trim())
            .filter(|v| *v > 0 && *v < 1 << 31)
            .ok_or_else(|| Malformed::header("RSeq", "not 1..2^31-1"))
    }

    pub fn rack(&self) -> Result<RAck, Malformed> {
        let value = single(self, "RAck")?;
        let (rseq, cseq) = value
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| Malformed::header("RAck", "not <rseq> <cseq> <method>"))?;
        let rseq = parse_u32(rseq).ok_or_else(|| Malformed::header("RAck", "invalid rseq"))?;
        let cseq = CSeq::parse(cseq).map_err(|_| Malformed::header("RAck", "invalid cseq"))?;
        Ok(RAck { rseq, cseq })
    }

    pub fn session_expires(&self) -> Result<SessionExpires, Malformed> {
        let value = single(self, "Session-Expires")?;
        let segments = split_outside(value, ';', false, "Session-Expires")?;
        let (delta, params) = segments.split_first().ok_or(Malformed::Missing("Session-Expires"))?;
        let delta =
            parse_u32(delta.trim()).ok_or_else(|| Malformed::header("Session-Expires", "invalid delta-seconds"))?;
        let params = Params::parse(params, "Session-Expires")?;
        let refresher = match params.value("refresher").as_deref() {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err(Malformed::header("Session-Expires", "invalid refresher")),
        };
        Ok(SessionExpires { delta, refresher })
    }

    pub fn replaces(&self) -> Result<Replaces, Malformed> {
        Replaces::parse(single(self, "Replaces")?)
    }

    /// `Referred-By` (RFC 3892): who asked for the transfer.
    pub fn referred_by(&self) -> Result<NameAddr, Malformed> {
        NameAddr::parse(single(self, "Referred-By")?, "Referred-By")
    }

    /// `Min-SE: <delta>[;params]` (RFC 4028): the smallest session interval the sender allows.
    pub fn min_se(&self) -> Result<u32, Malformed> {
        let value = single(self, "Min-SE")?;
        let delta = value.split(';').next().unwrap_or_default().trim();
        parse_u32(delta).ok_or_else(|| Malformed::header("Min-SE", "invalid delta-seconds"))
    }

    pub fn event(&self) -> Result<Event, Malformed> {
        let value = single(self, "Event")?;
        let segments = split_outside(value, ';', false, "Event")?;
        let (package, params) = segments.split_first().ok_or(Malformed::Missing("Event"))?;
        let package = package.trim();
        if !is_token(package) {
            return Err(Malformed::header("Event", "invalid event package"));
        }
        let params = Params::parse(params, "Event")?;
        Ok(Event {
            package: package.to_ascii_lowercase(),
            id: params.value("id"),
        })
    }

    pub fn subscription_state(&self) -> Result<SubscriptionState, Malformed> {
        let bad = |reason| Malformed::header("Subscription-State", reason);
        let value = single(self, "Subscription-State")?;
        let segments = split_outside(value, ';', false, "Subscription-State")?;
        let (status, params) = segments.split_first().ok_or(Malformed::Missing("Subscription-State"))?;
        let status = status.trim();
        if !is_token(status) {
            return Err(bad("invalid substate-value"));
        }
        let status = match status.to_ascii_lowercase().as_str() {
            "active" => SubscriptionStatus::Active,
            "pending" => SubscriptionStatus::Pending,
            "terminated" => SubscriptionStatus::Terminated,
            other => SubscriptionStatus::Other(other.to_owned()),
        };
        let params = Params::parse(params, "Subscription-State")?;
        let expires = match params.value("expires") {
            Some(v) => Some(parse_delta(&v).ok_or_else(|| bad("invalid expires"))?),
            None => None,
        };
        Ok(SubscriptionState {
            status,
            expires,
            reason: params.value("reason").map(|r| r.to_ascii_lowercase()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push(n, *v);
        }
        h
    }

    #[test]
    fn via_with_folded_spacing_and_rport_received() {
        let via =
            Via::parse("SIP  /   2.0 /UDP    192.0.2.2:5062 ; branch = z9hG4bKabc;rport=5070;received=[2001:db8::1]")
                .unwrap();
        assert_eq!(via.transport, "UDP");
        assert_eq!(
            via.sent_by,
            SentBy {
                host: "192.0.2.2".into(),
                port: Some(5062)
            }
        );
        assert_eq!(via.branch().as_deref(), Some("z9hG4bKabc"));
        assert_eq!(via.rport(), Some(Some(5070)));
        assert_eq!(via.received().as_deref(), Some("[2001:db8::1]"));
        assert_eq!(Via::parse("SIP/2.0/UDP h;rport").unwrap().rport(), Some(None));
    }

    #[test]
    fn source_stamping_and_top_via_rewrite() {
        let mut h = headers(&[(
            "Via",
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport, SIP/2.0/UDP p;branch=z9hG4bKb",
        )]);
        let mut via = h.top_via().unwrap();
        via.stamp_source("192.0.2.50:40123".parse().unwrap());
        h.replace_top_via(&via).unwrap();
        let vias = h.vias().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].rport(), Some(Some(40123)));
        assert_eq!(vias[0].received().as_deref(), Some("192.0.2.50"));
        assert_eq!(vias[1].branch().as_deref(), Some("z9hG4bKb"));
        let mut plain = Via::parse("SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKc").unwrap();
        plain.stamp_source("192.0.2.50:5060".parse().unwrap());
        assert_eq!(plain.received(), None, "same host: nothing to add");
    }

    #[test]
    fn cookie_alone_is_not_an_rfc3261_branch() {
        assert_eq!(
            Via::parse("SIP/2.0/UDP h;branch=z9hG4bK").unwrap().rfc3261_branch(),
            None
        );
    }

    #[test]
    fn via_prints_canonically() {
        let via = Via::parse("SIP / 2.0 / tcp h.example.com:5060;branch=z9hG4bK1;rport").unwrap();
        assert_eq!(via.to_string(), "SIP/2.0/TCP h.example.com:5060;branch=z9hG4bK1;rport");
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(r#""A \"B\"" <sip:a@x;transport=udp>;tag=1"#, "From").unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"A "B""#));
        assert_eq!(a.uri.param("transport"), Some(Some("udp")));
        assert_eq!(a.tag().as_deref(), Some("1"));
        let b = NameAddr::parse("caller<sip:caller@example.com>;tag=323", "From").unwrap();
        assert_eq!(b.display.as_deref(), Some("caller"));
        let c = NameAddr::parse("sip:+1@gw;unknownparam", "Contact").unwrap();
        assert!(c.params.contains("unknownparam"));
        assert_eq!(c.uri.as_str(), "sip:+1@gw");
        assert!(NameAddr::parse("Bell, Alexander <sip:a@x>", "From").is_err());
        assert!(NameAddr::parse("< sip:a@x >", "To").is_err());
        assert!(NameAddr::parse("sip:a@x?Route=%3Csip:y%3E", "Contact").is_err());
    }

    #[test]
    fn cseq_limits() {
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().seq, u32::MAX);
        assert!(CSeq::parse("4294967296 ACK").is_err());
        assert!(CSeq::parse("1").is_err());
    }

    #[test]
    fn compact_forms_resolve_through_lookup() {
        let h = headers(&[
            ("i", "abc@h"),
            ("v", "SIP/2.0/UDP h;branch=z9hG4bKx"),
            ("x", "1800;refresher=uas"),
        ]);
        assert_eq!(h.call_id().unwrap(), "abc@h");
        assert_eq!(h.top_via().unwrap().branch().as_deref(), Some("z9hG4bKx"));
        assert_eq!(
            h.session_expires().unwrap(),
            SessionExpires {
                delta: 1800,
                refresher: Some(Refresher::Uas)
            }
        );
    }

    #[test]
    fn extension_headers() {
        let h = headers(&[
            ("r", "<sip:c@pbx?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>"),
            ("Replaces", "abc@h;to-tag=1;from-tag=2;early-only"),
            ("RSeq", "988789"),
            ("RAck", "776656 1 INVITE"),
            ("P-Asserted-Identity", "\"Agent\" <sip:1001@pbx>, <tel:+15551001>"),
        ]);
        assert!(h.refer_to().unwrap().uri.as_str().contains("Replaces="));
        let r = h.replaces().unwrap();
        assert_eq!(
            (r.call_id.as_str(), r.to_tag.as_str(), r.from_tag.as_str(), r.early_only),
            ("abc@h", "1", "2", true)
        );
        assert_eq!(h.rseq().unwrap(), 988_789);
        let rack = h.rack().unwrap();
        assert_eq!(
            (rack.rseq, rack.cseq.seq, rack.cseq.method),
            (776_656, 1, Method::Invite)
        );
        let pai = h.p_asserted_identity().unwrap();
        assert_eq!(pai.len(), 2);
        assert_eq!(pai[1].uri.scheme(), "tel");
    }

    #[test]
    fn transfer_headers_in_compact_and_long_forms() {
        let h = headers(&[
            (
                "r",
                "<sip:carol@127.0.0.1:5090?Replaces=c1%40h%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>",
            ),
            ("b", "\"Alice\" <sip:alice@pbx>"),
            ("o", "Refer;id=93"),
            ("Subscription-State", "Terminated;reason=NoResource;expires=0"),
        ]);
        let refer_to = h.refer_to().unwrap();
        assert_eq!(refer_to.uri.without_headers().as_str(), "sip:carol@127.0.0.1:5090");
        let replaces = Replaces::parse(&refer_to.uri.header("replaces").unwrap()).unwrap();
        assert_eq!(
            replaces,
            Replaces {
                call_id: "c1@h".into(),
                to_tag: "t1".into(),
                from_tag: "f1".into(),
                early_only: false
            }
        );
        assert_eq!(h.referred_by().unwrap().display.as_deref(), Some("Alice"));
        assert_eq!(
            h.event().unwrap(),
            Event {
                package: "refer".into(),
                id: Some("93".into())
            }
        );
        assert_eq!(
            h.subscription_state().unwrap(),
            SubscriptionState {
                status: SubscriptionStatus::Terminated,
                expires: Some(0),
                reason: Some("noresource".into())
            }
        );
        let active = headers(&[("Subscription-State", "active;expires=60")]);
        assert_eq!(active.subscription_state().unwrap().status, SubscriptionStatus::Active);
        assert!(headers(&[("Event", "re fer")]).event().is_err());
        assert!(
            headers(&[("Subscription-State", "active;expires=soon")])
                .subscription_state()
                .is_err()
        );
        assert!(Replaces::parse("c1;to-tag=1").is_err(), "from-tag is required");
    }

    #[test]
    fn replaces_survives_the_trip_through_a_refer_to_uri() {
        let replaces = Replaces {
            call_id: "a84b4c76e66710@pc33.example.com".into(),
            to_tag: "8321234356".into(),
            from_tag: "9fxced76sl".into(),
            early_only: true,
        };
        let uri = Uri::parse("sip:bob@127.0.0.1:5080;transport=udp")
            .unwrap()
            .with_header("Replaces", &replaces.to_string());
        assert_eq!(
            uri.as_str(),
            "sip:bob@127.0.0.1:5080;transport=udp?Replaces=a84b4c76e66710%40pc33.example.com\
             %3Bto-tag%3D8321234356%3Bfrom-tag%3D9fxced76sl%3Bearly-only"
        );
        let printed = NameAddr::new(uri).to_string();
        let back = NameAddr::parse(&printed, "Refer-To").unwrap();
        assert_eq!(back.uri.param("transport"), Some(Some("udp")));
        assert_eq!(
            Replaces::parse(&back.uri.header("Replaces").unwrap()).unwrap(),
            replaces
        );
        assert_eq!(back.uri.header("Require"), None);
        assert_eq!(percent_decode("100%"), "100%", "a broken escape is kept");
    }

    #[test]
    fn session_timer_headers() {
        let h = headers(&[("x", "90;refresher=uac"), ("Min-SE", " 90 ;lr")]);
        let se = h.session_expires().unwrap();
        assert_eq!(se.to_string(), "90;refresher=uac");
        assert_eq!(h.min_se().unwrap(), 90);
        assert!(headers(&[("Min-SE", "-1")]).min_se().is_err());
        assert!(
            headers(&[("Session-Expires", "90;refresher=both")])
                .session_expires()
                .is_err()
        );
    }

    #[test]
    fn to_tag_is_added_once() {
        assert_eq!(with_tag("sip:a@x", "t1"), "<sip:a@x>;tag=t1");
        assert_eq!(with_tag("<sip:a@x>;tag=t0", "t1"), "<sip:a@x>;tag=t0");
    }

    #[test]
    fn contact_star_and_expires() {
        let h = headers(&[("m", "*")]);
        assert_eq!(h.contacts().unwrap(), vec![Contact::Star]);
        let h = headers(&[("Contact", "<sip:a@h>;expires=600, <sip:b@h>;expires=99999999999")]);
        let c = h.contacts().unwrap();
        assert_eq!(c[0].expires(), Some(600));
        assert_eq!(c[1].expires(), Some(u32::MAX));
    }
}
