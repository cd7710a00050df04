//! Why a message could not be accepted, and the answer a request still deserves.

use super::{Headers, Response, StatusCode};

/// Bytes from the peer that we could not turn into a usable SIP message.
///
/// Variants name the broken part, never its value: header values can carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("a header field exceeds {limit} bytes")]
    HeaderTooLong { limit: usize },
    #[error("no empty line ends the header section")]
    Unterminated,
    #[error("bad start line: {0}")]
    StartLine(&'static str),
    #[error("unsupported protocol version")]
    Version,
    #[error("header section is not UTF-8 text")]
    NotText,
    #[error("header line without a name and colon")]
    HeaderLine,
    #[error("bad {header} header: {reason}")]
    Header { header: String, reason: &'static str },
    #[error("missing mandatory header {0}")]
    Missing(&'static str),
    #[error("{0} appears more than once")]
    Repeated(&'static str),
    #[error("Content-Length {declared} exceeds the {available} body bytes received")]
    ContentLength { declared: usize, available: usize },
    #[error("CSeq method differs from the request method")]
    CSeqMethod,
}

impl Malformed {
    pub(crate) fn header(header: &str, reason: &'static str) -> Self {
        Self::Header {
            header: header.to_owned(),
            reason,
        }
    }
}

/// A datagram that failed to parse, with what is needed to answer it when it was a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{malformed}")]
pub struct ParseError {
    pub malformed: Malformed,
    /// Set when the start line was a request and the headers that a response copies
    /// (Via, From, To, Call-ID, CSeq) are present exactly once (Via at least once).
    answerable: Option<Box<Headers>>,
}

impl ParseError {
    pub(crate) fn new(malformed: Malformed) -> Self {
        Self {
            malformed,
            answerable: None,
        }
    }

    /// An error about a request whose header section was readable.
    pub(crate) fn with_headers(malformed: Malformed, headers: Headers) -> Self {
        let copyable = ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .all(|name| match headers.count(name) {
                0 => false,
                1 => true,
                _ => *name == "Via",
            });
        let answerable = copyable.then(|| Box::new(headers));
        Self { malformed, answerable }
    }

    /// The response RFC 3261 §8.2 asks a UAS to send: 505 for a foreign protocol version,
    /// otherwise 400 with the defect in a `Warning: 399` header (RFC 3261 §20.43), not in the
    /// reason phrase: naive peers look for header names anywhere in the message (SIPp finds
    /// the CSeq method with `strstr(msg, "CSeq")`), and a phrase naming a header misleads
    /// them. `None` when the input was a response or too broken to address an answer (drop
    /// it silently then).
    pub fn response(&self, to_tag: &str) -> Option<Response> {
        let headers = self.answerable.as_deref()?;
        if self.malformed == Malformed::Version {
            let status = StatusCode::VERSION_NOT_SUPPORTED;
            return Some(Response::for_request_headers(
                headers,
                status,
                "Version Not Supported",
                to_tag,
            ));
        }
        let mut response = Response::for_request_headers(headers, StatusCode::BAD_REQUEST, "Bad Request", to_tag);
        let defect: String = self
            .malformed
            .to_string()
            .chars()
            .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
            .collect();
        response.headers.push("Warning", format!("399 - \"{defect}\""));
        Some(response)
    }

    /// The headers of the request the error is about, if it got that far.
    pub fn request_headers(&self) -> Option<&Headers> {
        self.answerable.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use crate::msg::{Limits, parse};

    /// Found by SIPp: it takes the CSeq method from the first "CSeq" anywhere in a response,
    /// so a reason phrase naming the header made it drop our 400 as unexpected.
    #[test]
    fn the_defect_goes_in_a_warning_and_the_status_line_names_no_header() {
        let request = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
                       From: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: c\r\n\
                       CSeq: 4294967296 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let error = parse(request.as_bytes(), &Limits::default()).unwrap_err();
        let response = error.response("t").unwrap();
        assert_eq!(response.status.code(), 400);
        assert_eq!(response.reason, "Bad Request");
        let bytes = String::from_utf8(response.to_bytes()).unwrap();
        let (status_line, _) = bytes.split_once("\r\n").unwrap();
        assert!(!status_line.contains("CSeq"), "{status_line}");
        let warning = response.headers.get("Warning").unwrap();
        assert!(warning.starts_with("399 - \"") && warning.ends_with('"'), "{warning}");
        assert!(warning.contains("CSeq"), "{warning}");
    }
}
