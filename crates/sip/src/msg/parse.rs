//! Datagram framing: limits, start line, header unfolding, compact-form normalisation and
//! Content-Length (RFC 3261 §7, §18.3). Semantic checks live in `validate`.

use super::{
    Header, Headers, Malformed, Message, Method, ParseError, Request, Response, StatusCode, Uri, grammar::is_token,
    validate,
};

/// Bounds on what one datagram may make us allocate or scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest datagram accepted (UDP cannot carry more than 65 535 bytes anyway).
    pub max_message: usize,
    /// Most header fields (after unfolding) in one message.
    pub max_headers: usize,
    /// Longest header field (name, colon and unfolded value).
    pub max_header_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: 65_535,
            max_headers: 256,
            max_header_len: 8_192,
        }
    }
}

/// Long names for compact forms (RFC 3261 §7.3.3 and the extension RFCs) and the canonical
/// spelling of every header the crate reads.
const NAMES: &[(&str, &str)] = &[
    ("v", "Via"),
    ("i", "Call-ID"),
    ("f", "From"),
    ("t", "To"),
    ("m", "Contact"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("k", "Supported"),
    ("s", "Subject"),
    ("e", "Content-Encoding"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("b", "Referred-By"),
    ("u", "Allow-Events"),
    ("x", "Session-Expires"),
    ("a", "Accept-Contact"),
    ("j", "Reject-Contact"),
    ("d", "Request-Disposition"),
    ("y", "Identity"),
    ("via", "Via"),
    ("call-id", "Call-ID"),
    ("from", "From"),
    ("to", "To"),
    ("contact", "Contact"),
    ("content-length", "Content-Length"),
    ("content-type", "Content-Type"),
    ("supported", "Supported"),
    ("subject", "Subject"),
    ("content-encoding", "Content-Encoding"),
    ("event", "Event"),
    ("refer-to", "Refer-To"),
    ("referred-by", "Referred-By"),
    ("allow-events", "Allow-Events"),
    ("session-expires", "Session-Expires"),
    ("cseq", "CSeq"),
    ("max-forwards", "Max-Forwards"),
    ("expires", "Expires"),
    ("min-expires", "Min-Expires"),
    ("min-se", "Min-SE"),
    ("www-authenticate", "WWW-Authenticate"),
    ("proxy-authenticate", "Proxy-Authenticate"),
    ("authorization", "Authorization"),
    ("proxy-authorization", "Proxy-Authorization"),
    ("route", "Route"),
    ("record-route", "Record-Route"),
    ("require", "Require"),
    ("proxy-require", "Proxy-Require"),
    ("unsupported", "Unsupported"),
    ("allow", "Allow"),
    ("accept", "Accept"),
    ("rseq", "RSeq"),
    ("rack", "RAck"),
    ("replaces", "Replaces"),
    ("p-asserted-identity", "P-Asserted-Identity"),
    ("user-agent", "User-Agent"),
    ("server", "Server"),
    ("date", "Date"),
    ("reason", "Reason"),
    ("retry-after", "Retry-After"),
    ("warning", "Warning"),
];

/// The canonical spelling of a header name; unknown names are returned as given.
pub fn canonical_name(name: &str) -> String {
    NAMES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |(_, long)| (*long).to_owned())
}

/// Parses one datagram into a message. Trailing octets beyond Content-Length are ignored
/// (RFC 3261 §18.3); a Content-Length beyond the datagram is an error, never a wait.
pub fn parse(datagram: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    if datagram.len() > limits.max_message {
        return Err(ParseError::new(Malformed::TooLarge {
            size: datagram.len(),
            limit: limits.max_message,
        }));
    }
    let start = datagram
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(datagram.len());
    let rest = datagram.get(start..).unwrap_or_default();
    let (lines, body) = split_head(rest).ok_or_else(|| ParseError::new(Malformed::Unterminated))?;
    let mut lines = lines.into_iter();
    let start_line = lines.next().ok_or_else(|| ParseError::new(Malformed::Unterminated))?;
    let start_line = std::str::from_utf8(start_line).map_err(|_| ParseError::new(Malformed::NotText))?;
    let headers = unfold(lines, limits).map_err(ParseError::new)?;

    match start_line.strip_prefix("SIP/") {
        Some(_) => {
            let (status, reason) = response_line(start_line).map_err(ParseError::new)?;
            let body = framed_body(&headers, body).map_err(ParseError::new)?;
            let response = Response {
                status,
                reason,
                headers,
                body,
            };
            validate::response(&response).map_err(ParseError::new)?;
            Ok(Message::Response(response))
        }
        None => match request_line(start_line) {
            Err(malformed) => Err(ParseError::with_headers(malformed, headers)),
            Ok((method, uri, version)) => {
                let mut request = Request {
                    method,
                    uri,
                    headers,
                    body: Vec::new(),
                };
                let checked = version.and_then(|()| {
                    request.body = framed_body(&request.headers, body)?;
                    validate::request(&request)
                });
                match checked {
                    Ok(()) => Ok(Message::Request(request)),
                    Err(malformed) => Err(ParseError::with_headers(malformed, request.headers)),
                }
            }
        },
    }
}

/// Splits the head into raw lines (CRLF or bare LF) and returns the bytes after the blank line.
fn split_head(bytes: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
    let mut lines = Vec::new();
    let mut pos = 0;
    while let Some(offset) = bytes.get(pos..)?.iter().position(|b| *b == b'\n') {
        let line = bytes.get(pos..pos + offset)?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += offset + 1;
        if line.is_empty() {
            return Some((lines, bytes.get(pos..).unwrap_or_default()));
        }
        lines.push(line);
    }
    None
}

/// Joins folded continuation lines (leading SP/HT) with one space and splits name from value.
fn unfold<'a>(lines: impl Iterator<Item = &'a [u8]>, limits: &Limits) -> Result<Headers, Malformed> {
    let mut joined: Vec<String> = Vec::new();
    for raw in lines {
        let line = std::str::from_utf8(raw).map_err(|_| Malformed::NotText)?;
        if line.starts_with([' ', '\t']) {
            let last = joined.last_mut().ok_or(Malformed::HeaderLine)?;
            last.push(' ');
            last.push_str(line.trim_start());
        } else {
            if joined.len() == limits.max_headers {
                return Err(Malformed::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            joined.push(line.to_owned());
        }
        if joined.last().is_some_and(|l| l.len() > limits.max_header_len) {
            return Err(Malformed::HeaderTooLong {
                limit: limits.max_header_len,
            });
        }
    }
    let mut headers = Vec::with_capacity(joined.len());
    for line in joined {
        let (name, value) = line.split_once(':').ok_or(Malformed::HeaderLine)?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(Malformed::HeaderLine);
        }
        headers.push(Header {
            name: canonical_name(name),
            value: value.trim().to_owned(),
        });
    }
    Ok(Headers(headers))
}

fn request_line(line: &str) -> Result<(Method, Uri, Result<(), Malformed>), Malformed> {
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed::StartLine("request line is not METHOD SP URI SP VERSION"));
    };
    if !is_token(method) {
        return Err(Malformed::StartLine("method is not a token"));
    }
    let uri = Uri::parse(uri).map_err(|_| Malformed::StartLine("invalid Request-URI"))?;
    if uri.is_sip() && uri.has_headers() {
        return Err(Malformed::StartLine("Request-URI carries headers"));
    }
    Ok((Method::from_token(method), uri, sip_version(version)))
}

/// A version the start line names but we do not speak still yields a request (for 505).
fn sip_version(version: &str) -> Result<(), Malformed> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let numbers = version
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and(version.get(4..));
    match numbers.and_then(|n| n.split_once('.')) {
        Some((major, minor))
            if !major.is_empty()
                && !minor.is_empty()
                && major.chars().chain(minor.chars()).all(|c| c.is_ascii_digit()) =>
        {
            Err(Malformed::Version)
        }
        _ => Err(Malformed::StartLine("unrecognised protocol version")),
    }
}

fn response_line(line: &str) -> Result<(StatusCode, String), Malformed> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(Malformed::Version);
    }
    let code = parts.next().unwrap_or_default();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed::StartLine("status code is not three digits"));
    }
    let status = code
        .parse()
        .ok()
        .and_then(StatusCode::new)
        .ok_or(Malformed::StartLine("status code out of range"))?;
    Ok((status, parts.next().unwrap_or_default().to_owned()))
}

/// The body as Content-Length frames it; without the header the datagram's end frames it.
fn framed_body(headers: &Headers, body: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut declared = headers.get_all("Content-Length");
    let Some(value) = declared.next() else {
        return Ok(body.to_vec());
    };
    if declared.next().is_some() {
        return Err(Malformed::Repeated("Content-Length"));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed::header("Content-Length", "not a non-negative integer"));
    }
    let length: usize = value
        .parse()
        .map_err(|_| Malformed::header("Content-Length", "out of range"))?;
    body.get(..length).map(<[u8]>::to_vec).ok_or(Malformed::ContentLength {
        declared: length,
        available: body.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n\
        f: <sip:alice@example.com>;tag=1928301774\r\n\
        t: <sip:bob@example.com>\r\n\
        i: a84b4c76e66710@pc33.example.com\r\n\
        CSeq: 63104 OPTIONS\r\n\
        Max-Forwards: 70\r\n\
        l: 0\r\n\r\n";

    fn request(text: &str) -> Request {
        match parse(text.as_bytes(), &Limits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn compact_names_are_normalised_to_long_forms() {
        let r = request(OPTIONS);
        let names: Vec<&str> = r.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length"]
        );
    }

    #[test]
    fn printing_then_parsing_is_stable() {
        let r = request(OPTIONS);
        let printed = r.to_bytes();
        let again = request(std::str::from_utf8(&printed).unwrap());
        assert_eq!(again, r);
        assert_eq!(again.to_bytes(), printed);
    }

    #[test]
    fn leading_blank_lines_and_bare_lf_are_tolerated() {
        let text = format!("\r\n\r\n{}", OPTIONS.replace("\r\n", "\n"));
        assert_eq!(request(&text).method, Method::Options);
    }

    #[test]
    fn size_and_header_limits_are_enforced() {
        let tight = Limits {
            max_message: 100,
            ..Limits::default()
        };
        let err = parse(OPTIONS.as_bytes(), &tight).unwrap_err();
        assert!(matches!(err.malformed, Malformed::TooLarge { limit: 100, .. }));

        let few = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        let err = parse(OPTIONS.as_bytes(), &few).unwrap_err();
        assert_eq!(err.malformed, Malformed::TooManyHeaders { limit: 3 });

        let short = Limits {
            max_header_len: 40,
            ..Limits::default()
        };
        let err = parse(OPTIONS.as_bytes(), &short).unwrap_err();
        assert_eq!(err.malformed, Malformed::HeaderTooLong { limit: 40 });
    }

    #[test]
    fn content_length_beyond_the_datagram_is_malformed() {
        let text = OPTIONS.replace("l: 0", "l: 5");
        let err = parse(text.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(
            err.malformed,
            Malformed::ContentLength {
                declared: 5,
                available: 0
            }
        );
        assert_eq!(err.response("x").map(|r| r.status), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn missing_content_length_takes_the_rest_of_the_datagram() {
        let text = format!("{}hello", OPTIONS.replace("l: 0\r\n", ""));
        assert_eq!(request(&text).body, b"hello");
    }

    #[test]
    fn missing_blank_line_is_unterminated() {
        let text = OPTIONS.trim_end_matches("\r\n");
        let err = parse(text.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err.malformed, Malformed::Unterminated);
        assert!(err.response("x").is_none());
    }

    #[test]
    fn methods_are_case_sensitive() {
        let text = OPTIONS.replacen("OPTIONS", "options", 1);
        let err = parse(text.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err.malformed, Malformed::CSeqMethod);
    }

    #[test]
    fn status_codes_outside_three_digits_are_rejected() {
        for line in [
            "SIP/2.0 4294967301 x",
            "SIP/2.0 99 x",
            "SIP/2.0 700 x",
            "SIP/2.0 2OO OK",
        ] {
            let text = format!("{line}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n");
            assert!(parse(text.as_bytes(), &Limits::default()).is_err(), "{line}");
        }
    }
}
