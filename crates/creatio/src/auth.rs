//! Authentication with Creatio: forms login with cookies and the CSRF header (§2.1), OAuth 2.0
//! client credentials (§2.4), and recognising a session that has silently ended (§2.2).
//!
//! This module holds the pieces; [`crate::session::Session`] drives them.

use std::fmt;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::error::AuthError;
use crate::http::{HttpRequest, HttpResponse, Method, WireId};
use crate::site::Site;
use crate::wire::{LoginRequest, LoginResponse, TokenError, TokenResponse};

/// The cookie that carries the anti-CSRF token, echoed in the header of the same name.
pub const CSRF_COOKIE: &str = "BPMCSRF";
/// The forms-authentication cookie; its presence is what "logged in" means (§2.1).
pub const AUTH_COOKIE: &str = ".ASPXAUTH";

/// A password or client secret: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the panel proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `AuthService.svc/Login` with the operator's own user, so calls land in that operator's
    /// CTI history (§5.3 point 4).
    Forms { user_name: String, password: Secret },
    /// Identity Service client credentials (§2.4). The token URL is configurable: the cloud
    /// `<site>-is.creatio.com/connect/token` convention is only a convention (`[INF]`).
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: Secret,
    },
}

/// The cookies Creatio set for this session, matched by path (RFC 6265 §5.1.4, reduced to what
/// one origin needs: no domain matching, no persistence).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

#[derive(Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

impl CookieJar {
    /// Stores one `Set-Cookie` value. An empty value, `Max-Age` ≤ 0 or an `Expires` in the
    /// last century deletes the cookie: that is how ASP.NET signs a session out. A missing
    /// `Path` defaults to `default_path` (the application root) rather than the login
    /// service's directory, so a sloppy proxy cannot hide the session from OData (`[INF]`).
    pub fn store(&mut self, set_cookie: &str, default_path: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return;
        }
        let mut path = None;
        let mut expired = value.is_empty();
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
            match key.as_str() {
                "path" if val.starts_with('/') => path = Some(val.to_owned()),
                "max-age" => expired |= val.parse::<i64>().is_ok_and(|age| age <= 0),
                "expires" => expired |= expires_in_the_past(val),
                _ => {}
            }
        }
        let path = path.unwrap_or_else(|| default_path.to_owned());
        self.cookies.retain(|c| !(c.name == name && c.path == path));
        if !expired {
            self.cookies.push(Cookie {
                name: name.to_owned(),
                value: value.to_owned(),
                path,
            });
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|c| c.name == name).map(|c| c.value.as_str())
    }

    /// The `Cookie` header for a request path, longest paths first (RFC 6265 §5.4).
    pub fn header_for(&self, path_and_query: &str) -> Option<String> {
        let path = path_and_query.split(['?', '#']).next().unwrap_or("/");
        let mut matching: Vec<&Cookie> = self.cookies.iter().filter(|c| path_matches(&c.path, path)).collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching.iter().map(|c| format!("{}={}", c.name, c.value)).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    pub fn clear(&mut self) {
        self.cookies.clear();
    }
}

/// Names only: values are session secrets.
impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.cookies.iter().map(|c| &c.name)).finish()
    }
}

fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || request_path
            .strip_prefix(cookie_path)
            .is_some_and(|rest| cookie_path.ends_with('/') || rest.starts_with('/'))
}

/// True for `Expires` dates before 2000, the shape ASP.NET uses to delete a cookie
/// (`Mon, 11-Oct-1999 22:00:00 GMT`). Real future dates are not evaluated: the jar lives only
/// as long as the process, and Creatio's own idle timeout ends sessions anyway (§2.2).
fn expires_in_the_past(value: &str) -> bool {
    value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| part.len() == 4)
        .filter_map(|year| year.parse::<u32>().ok())
        .any(|year| year < 2000)
}

/// How a response says the session is gone (§2.2 and the `[INF]` rule there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpirySignal {
    /// HTTP 401.
    Unauthorized,
    /// HTTP 403 with an HTML page instead of an OData error.
    ForbiddenPage,
    /// A 3xx whose `Location` path contains `/Login/`.
    RedirectToLogin,
    /// A 2xx HTML page where JSON was asked for: the login page served in place of data.
    LoginPage,
}

impl ExpirySignal {
    /// Reads a response to an API request for any sign of an ended session.
    pub fn of(response: &HttpResponse) -> Option<ExpirySignal> {
        match response.status {
            401 => Some(ExpirySignal::Unauthorized),
            403 if response.looks_like_html() => Some(ExpirySignal::ForbiddenPage),
            300..=399
                if response
                    .header("Location")
                    .is_some_and(|l| l.to_ascii_lowercase().contains("/login/")) =>
            {
                Some(ExpirySignal::RedirectToLogin)
            }
            200..=299 if response.looks_like_html() => Some(ExpirySignal::LoginPage),
            _ => None,
        }
    }

    /// What to tell the operator when the signal persists right after a fresh login: an HTML
    /// page then means missing rights (the OData operation), not an expired session.
    pub fn as_error_after_relogin(self) -> AuthError {
        match self {
            ExpirySignal::Unauthorized | ExpirySignal::RedirectToLogin => AuthError::LoggedOut,
            ExpirySignal::ForbiddenPage | ExpirySignal::LoginPage => AuthError::PermissionDenied(
                "Creatio answered with a web page instead of data; the user may lack the \
                 \"Access to OData\" (CanUseODataService) permission"
                    .into(),
            ),
        }
    }
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Bearer {
    token: Secret,
    refresh_at: Option<Instant>,
}

impl Bearer {
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }

    pub(crate) fn header_value(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer")
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

/// Builds the login request for the configured credentials.
pub(crate) fn login_request(site: &Site, credentials: &Credentials, id: WireId) -> HttpRequest {
    match credentials {
        Credentials::Forms { user_name, password } => {
            let body = LoginRequest {
                user_name,
                user_password: password.expose(),
            };
            HttpRequest {
                id,
                method: Method::Post,
                url: format!("{}{}", site.origin(), site.login_path()),
                headers: vec![
                    ("Accept".into(), "application/json".into()),
                    ("Content-Type".into(), "application/json; charset=utf-8".into()),
                    ("ForceUseSession".into(), "true".into()),
                ],
                body: serde_json::to_vec(&body).ok(),
            }
        }
        Credentials::ClientCredentials {
            token_url,
            client_id,
            client_secret,
        } => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", client_id)
                .append_pair("client_secret", client_secret.expose())
                .finish();
            HttpRequest {
                id,
                method: Method::Post,
                url: token_url.clone(),
                headers: vec![
                    ("Accept".into(), "application/json".into()),
                    ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
                ],
                body: Some(body.into_bytes()),
            }
        }
    }
}

/// What a successful login left us with.
#[derive(Debug)]
pub(crate) enum Granted {
    /// Cookies were stored in the jar.
    Cookies,
    Bearer(Bearer),
}

/// Interprets the answer to [`login_request`]. Cookies go into `jar` only on success.
pub(crate) fn login_outcome(
    site: &Site,
    credentials: &Credentials,
    response: &HttpResponse,
    jar: &mut CookieJar,
    now: Instant,
) -> Result<Granted, AuthError> {
    match credentials {
        Credentials::Forms { .. } => forms_outcome(site, response, jar),
        Credentials::ClientCredentials { .. } => token_outcome(response, now),
    }
}

fn forms_outcome(site: &Site, response: &HttpResponse, jar: &mut CookieJar) -> Result<Granted, AuthError> {
    match response.status {
        200 => {}
        403 => {
            return Err(AuthError::PermissionDenied(
                "Creatio refused access to its login service (HTTP 403)".into(),
            ));
        }
        status => {
            return Err(AuthError::Protocol(format!("the login service answered HTTP {status}")));
        }
    }
    let answer: LoginResponse = serde_json::from_slice(&response.body)
        .map_err(|_| AuthError::Protocol("the login service did not answer with its JSON result".into()))?;
    if answer.code != LoginResponse::SUCCESS {
        return Err(AuthError::WrongPassword {
            reason: answer.reason(),
        });
    }
    let default_path = if site.app_path().is_empty() {
        "/"
    } else {
        site.app_path()
    };
    jar.clear();
    for set_cookie in response.header_values("Set-Cookie") {
        jar.store(set_cookie, default_path);
    }
    if jar.get(AUTH_COOKIE).is_none() {
        if jar.is_empty() {
            return Err(AuthError::Protocol(
                "the login succeeded but Creatio set no session cookie".into(),
            ));
        }
        warn!("Creatio login set no {AUTH_COOKIE} cookie; using the cookies it did set");
    }
    if jar.get(CSRF_COOKIE).is_none() {
        warn!("Creatio login set no {CSRF_COOKIE} cookie; requests go without the CSRF header");
    }
    debug!(cookies = ?jar, "logged in to Creatio");
    Ok(Granted::Cookies)
}

fn token_outcome(response: &HttpResponse, now: Instant) -> Result<Granted, AuthError> {
    if response.is_success() {
        let token: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|_| AuthError::Protocol("the Identity Service did not answer with a token".into()))?;
        if token
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(AuthError::Protocol(
                "the Identity Service issued a token that is not a bearer token".into(),
            ));
        }
        let refresh_at = token.expires_in.map(|secs| {
            // Renew a little early so a request never leaves with a token about to lapse.
            // A token granted with no lifetime left is still used for the requests waiting
            // for it, else the session would fetch tokens forever without sending anything.
            let margin = (secs / 10).clamp(1, 60);
            now + Duration::from_secs(secs.saturating_sub(margin).max(1))
        });
        return Ok(Granted::Bearer(Bearer {
            token: Secret::new(token.access_token),
            refresh_at,
        }));
    }
    let error = serde_json::from_slice::<TokenError>(&response.body).ok();
    match (response.status, error) {
        (400 | 401, Some(e)) if matches!(e.error.as_str(), "invalid_client" | "unauthorized_client") => {
            Err(AuthError::WrongPassword {
                reason: e.error_description.unwrap_or(e.error),
            })
        }
        (status, Some(e)) => Err(AuthError::Protocol(format!(
            "the Identity Service answered HTTP {status}: {}",
            e.error_description.unwrap_or(e.error)
        ))),
        (status, None) => Err(AuthError::Protocol(format!(
            "the Identity Service answered HTTP {status}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_keeps_what_creatio_sets_and_matches_paths() {
        let mut jar = CookieJar::default();
        jar.store("BPMLOADER=l1; path=/crm; HttpOnly", "/crm");
        jar.store(".ASPXAUTH=a1; path=/crm; HttpOnly", "/crm");
        jar.store("BPMCSRF=c1; path=/", "/crm");
        jar.store(
            "UserName=83|117; expires=Tue, 23-Nov-2027 10:00:00 GMT; path=/; HttpOnly",
            "/crm",
        );
        assert_eq!(jar.get(CSRF_COOKIE), Some("c1"));
        assert_eq!(
            jar.header_for("/crm/0/odata/Call?$top=1").as_deref(),
            Some("BPMLOADER=l1; .ASPXAUTH=a1; BPMCSRF=c1; UserName=83|117")
        );
        assert_eq!(
            jar.header_for("/crmother/x").as_deref(),
            Some("BPMCSRF=c1; UserName=83|117")
        );
    }

    #[test]
    fn jar_deletes_on_empty_value_max_age_or_old_expiry() {
        let mut jar = CookieJar::default();
        for name in ["a", "b", "c"] {
            jar.store(&format!("{name}=v; path=/"), "/");
        }
        jar.store("a=; path=/", "/");
        jar.store("b=x; Max-Age=0; path=/", "/");
        jar.store("c=x; expires=Mon, 11-Oct-1999 22:00:00 GMT; path=/", "/");
        assert!(jar.is_empty(), "{jar:?}");
    }

    #[test]
    fn jar_debug_shows_names_only() {
        let mut jar = CookieJar::default();
        jar.store(".ASPXAUTH=very-secret; path=/", "/");
        let shown = format!("{jar:?}");
        assert!(shown.contains(".ASPXAUTH") && !shown.contains("very-secret"));
    }

    #[test]
    fn every_documented_expiry_shape_is_recognised() {
        let html = "<html><body>Login</body></html>";
        let cases = [
            (HttpResponse::new(401), Some(ExpirySignal::Unauthorized)),
            (
                HttpResponse::new(403)
                    .with_header("Content-Type", "text/html")
                    .with_body(html),
                Some(ExpirySignal::ForbiddenPage),
            ),
            (
                HttpResponse::new(302).with_header("Location", "/Login/NuiLogin.aspx?ReturnUrl=%2f0%2fodata"),
                Some(ExpirySignal::RedirectToLogin),
            ),
            (
                HttpResponse::new(200)
                    .with_header("Content-Type", "text/html")
                    .with_body(html),
                Some(ExpirySignal::LoginPage),
            ),
            (
                HttpResponse::json(403, r#"{"error":{"code":"","message":"denied"}}"#),
                None,
            ),
            (HttpResponse::new(302).with_header("Location", "/0/Shell/"), None),
            (HttpResponse::json(200, r#"{"value":[]}"#), None),
            (HttpResponse::new(204), None),
        ];
        for (response, expected) in cases {
            assert_eq!(ExpirySignal::of(&response), expected, "{response:?}");
        }
    }

    fn site() -> Site {
        Site::parse("https://crm.example.com/crm").unwrap()
    }

    fn forms() -> Credentials {
        Credentials::Forms {
            user_name: "operator".into(),
            password: Secret::new("hunter2"),
        }
    }

    #[test]
    fn forms_login_request_matches_the_documentation() {
        let request = login_request(&site(), &forms(), WireId(7));
        assert_eq!(request.method, Method::Post);
        assert_eq!(
            request.url,
            "https://crm.example.com/crm/ServiceModel/AuthService.svc/Login"
        );
        assert_eq!(request.header("ForceUseSession"), Some("true"));
        assert_eq!(request.header("content-type"), Some("application/json; charset=utf-8"));
        let body: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"UserName":"operator","UserPassword":"hunter2"})
        );
        assert!(!format!("{:?}", forms()).contains("hunter2"));
    }

    #[test]
    fn refused_login_is_a_wrong_password_without_the_password() {
        let response = HttpResponse::json(
            200,
            r#"{"Code":1,"Message":"Invalid username or password specified","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#,
        );
        let mut jar = CookieJar::default();
        let error = login_outcome(&site(), &forms(), &response, &mut jar, Instant::now()).unwrap_err();
        assert!(matches!(error, AuthError::WrongPassword { .. }));
        assert!(!error.to_string().contains("hunter2"));
        assert!(jar.is_empty());
        assert!(!error.is_transient());
    }

    #[test]
    fn login_answers_outside_the_documentation_are_protocol_errors() {
        let mut jar = CookieJar::default();
        let now = Instant::now();
        let html = HttpResponse::new(200)
            .with_header("Content-Type", "text/html")
            .with_body("<html>");
        assert!(matches!(
            login_outcome(&site(), &forms(), &html, &mut jar, now),
            Err(AuthError::Protocol(_))
        ));
        let no_cookies = HttpResponse::json(200, r#"{"Code":0,"Message":""}"#);
        assert!(matches!(
            login_outcome(&site(), &forms(), &no_cookies, &mut jar, now),
            Err(AuthError::Protocol(_))
        ));
        assert!(matches!(
            login_outcome(&site(), &forms(), &HttpResponse::new(403), &mut jar, now),
            Err(AuthError::PermissionDenied(_))
        ));
    }

    #[test]
    fn client_credentials_token_exchange() {
        let credentials = Credentials::ClientCredentials {
            token_url: "https://crm-is.example.com/connect/token".into(),
            client_id: "panel".into(),
            client_secret: Secret::new("s3cr&t"),
        };
        let request = login_request(&site(), &credentials, WireId(1));
        assert_eq!(request.url, "https://crm-is.example.com/connect/token");
        assert_eq!(
            request.body.as_deref(),
            Some(&b"grant_type=client_credentials&client_id=panel&client_secret=s3cr%26t"[..])
        );
        let now = Instant::now();
        let mut jar = CookieJar::default();
        let ok = HttpResponse::json(200, r#"{"access_token":"tok","expires_in":3600,"token_type":"Bearer"}"#);
        let Ok(Granted::Bearer(bearer)) = login_outcome(&site(), &credentials, &ok, &mut jar, now) else {
            panic!("expected a bearer token");
        };
        assert_eq!(bearer.header_value(), "Bearer tok");
        assert!(bearer.is_fresh(now + Duration::from_secs(3500)));
        assert!(!bearer.is_fresh(now + Duration::from_secs(3541)));
        assert!(!format!("{bearer:?}").contains("tok\""));
        let refused = HttpResponse::json(400, r#"{"error":"invalid_client"}"#);
        assert_eq!(
            login_outcome(&site(), &credentials, &refused, &mut jar, now).unwrap_err(),
            AuthError::WrongPassword {
                reason: "invalid_client".into()
            }
        );
    }
}
