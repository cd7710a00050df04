//! HTTP exchanges as plain data.
//!
//! The crate never opens a socket: it describes the requests it wants sent and reads the
//! responses the driver hands back. Header names are compared case-insensitively, as HTTP
//! requires; bodies are raw bytes so the driver does not have to guess an encoding.

use std::fmt;

/// Identifies one wire request so its response can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireId(pub u64);

impl fmt::Display for WireId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{}", self.0)
    }
}

/// The HTTP methods Creatio's REST surface uses (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request ready for the wire. The URL is absolute because the OAuth token endpoint may live
/// on another host than Creatio itself (§2.4).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: WireId,
    pub method: Method,
    /// Absolute URL, already percent-encoded (`https://crm.example.com/0/odata/Call?$top=1`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The URL without scheme and authority: what the jar matches cookie paths against.
    pub fn path_and_query(&self) -> &str {
        let after_scheme = self.url.split_once("://").map_or(self.url.as_str(), |(_, rest)| rest);
        after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
    }
}

/// Debug output leaves out header values and bodies: they carry session cookies, the CSRF
/// token, bearer tokens and, for the login request, the password.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("header_names", &names)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// A response as the driver received it. Redirects must not be followed by the driver:
/// a redirect to `/Login/` is how Creatio says the session is gone (§2.2).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON response, the way Creatio's OData answers.
    pub fn json(status: u16, body: &str) -> Self {
        HttpResponse::new(status)
            .with_header("Content-Type", "application/json; charset=utf-8")
            .with_body(body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every value of a repeated header (`Set-Cookie` comes once per cookie).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// Whether the body is an HTML page rather than the JSON we asked for: by content type,
    /// or by a leading `<` when the server sent no usable content type.
    pub fn looks_like_html(&self) -> bool {
        let by_type = self
            .header("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
        let first = self.body.iter().find(|b| !b.is_ascii_whitespace());
        by_type || first == Some(&b'<')
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why the driver could not get any HTTP response at all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TransportError {
    /// DNS failure, connection refused, TLS failure: the server was not reached.
    Unreachable(String),
    /// The request may or may not have reached the server.
    Timeout,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Unreachable(reason) => f.write_str(reason),
            TransportError::Timeout => f.write_str("no answer in time"),
        }
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_recognised_by_type_or_by_shape() {
        let typed = HttpResponse::new(200).with_header("content-type", "text/html; charset=utf-8");
        assert!(typed.looks_like_html());
        let untyped = HttpResponse::new(200).with_body("\r\n  <!DOCTYPE html><html>");
        assert!(untyped.looks_like_html());
        assert!(!HttpResponse::json(200, r#"{"value":[]}"#).looks_like_html());
    }

    #[test]
    fn debug_never_shows_header_values_or_bodies() {
        let request = HttpRequest {
            id: WireId(1),
            method: Method::Post,
            url: "https://crm.example.com/ServiceModel/AuthService.svc/Login".into(),
            headers: vec![("Cookie".into(), ".ASPXAUTH=secret-session".into())],
            body: Some(br#"{"UserPassword":"hunter2"}"#.to_vec()),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret-session"));
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("Cookie"));
    }
}
