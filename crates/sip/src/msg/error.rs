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
    /// otherwise 400 with the defect in the reason phrase. `None` when the input was a
    /// response or too broken to address an answer (drop it silently then).
    pub fn response(&self, to_tag: &str) -> Option<Response> {
        let headers = self.answerable.as_deref()?;
        let (status, reason) = match self.malformed {
            Malformed::Version => (StatusCode::VERSION_NOT_SUPPORTED, "Version Not Supported".to_owned()),
            ref other => (StatusCode::BAD_REQUEST, format!("Bad Request ({other})")),
        };
        Some(Response::for_request_headers(headers, status, &reason, to_tag))
    }

    /// The headers of the request the error is about, if it got that far.
    pub fn request_headers(&self) -> Option<&Headers> {
        self.answerable.as_deref()
    }
}
