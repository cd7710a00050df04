//! The session against scripted Creatio answers: login, CSRF on every request, expiry in each
//! documented shape -> one re-login and one retry, and no loops when that does not help.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use creatio::auth::{Credentials, Secret};
use creatio::error::AuthError;
use creatio::http::{HttpRequest, HttpResponse, Method, TransportError};
use creatio::session::{ApiRequest, RequestFailure, Session, SessionEvent};
use creatio::site::{Platform, PlatformChoice, Site};

const LOGIN_OK: &str = r#"{"Code":0,"Message":"","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#;
const LOGIN_REFUSED: &str = r#"{"Code":1,"Message":"Invalid username or password specified","Exception":{"HelpLink":null,"InnerException":null,"Message":"Invalid username or password specified","StackTrace":null,"Type":"Terrasoft.Core.InvalidCredentialsException"},"PasswordChangeUrl":null,"RedirectUrl":null}"#;

fn login_ok(generation: u32) -> HttpResponse {
    HttpResponse::json(200, LOGIN_OK)
        .with_header("Set-Cookie", &format!("BPMLOADER=loader{generation}; path=/; HttpOnly"))
        .with_header("Set-Cookie", &format!(".ASPXAUTH=auth{generation}; path=/; HttpOnly"))
        .with_header("Set-Cookie", &format!("BPMCSRF=csrf{generation}; path=/"))
        .with_header(
            "Set-Cookie",
            "UserName=83|117; expires=Tue, 23-Nov-2027 10:00:00 GMT; path=/; HttpOnly",
        )
}

fn forms() -> Credentials {
    Credentials::Forms {
        user_name: "operator".into(),
        password: Secret::new("hunter2"),
    }
}

fn session(platform: PlatformChoice) -> Session<u32> {
    Session::new(Site::parse("https://crm.example.com").unwrap(), platform, forms())
}

fn get(resource: &str) -> ApiRequest {
    ApiRequest {
        method: Method::Get,
        resource: resource.into(),
        body: None,
    }
}

fn transmits(s: &mut Session<u32>) -> Vec<HttpRequest> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn events(s: &mut Session<u32>) -> Vec<SessionEvent<u32>> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn is_login(r: &HttpRequest) -> bool {
    r.url.ends_with("/ServiceModel/AuthService.svc/Login")
}

/// Logs in with the first cookie generation and returns the first API request on the wire.
fn logged_in_with_request(s: &mut Session<u32>, now: Instant, tag: u32) -> HttpRequest {
    s.submit(now, tag, get("Contact?$top=1"));
    let sent = transmits(s);
    assert_eq!(sent.len(), 1);
    assert!(is_login(&sent[0]));
    s.handle_response(now, sent[0].id, login_ok(1));
    let sent = transmits(s);
    assert_eq!(sent.len(), 1, "{sent:?}");
    sent[0].clone()
}

#[test]
fn login_then_every_request_carries_cookies_csrf_and_force_use_session() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    let first = logged_in_with_request(&mut s, now, 1);
    s.submit(now, 2, get("Call?$top=1"));
    s.submit(
        now,
        3,
        ApiRequest {
            method: Method::Post,
            resource: "Call".into(),
            body: Some(b"{}".to_vec()),
        },
    );
    let mut all = vec![first];
    all.extend(transmits(&mut s));
    assert_eq!(all.len(), 3);
    for request in &all {
        assert!(request.url.starts_with("https://crm.example.com/0/odata/"));
        assert_eq!(request.header("BPMCSRF"), Some("csrf1"), "{request:?}");
        assert_eq!(request.header("ForceUseSession"), Some("true"));
        let cookie = request.header("Cookie").unwrap();
        assert!(cookie.contains(".ASPXAUTH=auth1") && cookie.contains("BPMCSRF=csrf1"));
    }
    assert_eq!(
        all[2].header("Content-Type"),
        Some("application/json; charset=utf-8; IEEE754Compatible=true")
    );
    assert!(events(&mut s).contains(&SessionEvent::LoggedIn {
        platform: Platform::NetFramework
    }));
}

#[test]
fn each_expiry_shape_causes_one_relogin_and_one_retry() {
    let html = "<!DOCTYPE html><html><title>Creatio login</title></html>";
    let shapes = [
        HttpResponse::new(401),
        HttpResponse::new(403)
            .with_header("Content-Type", "text/html")
            .with_body(html),
        HttpResponse::new(302).with_header(
            "Location",
            "https://crm.example.com/Login/NuiLogin.aspx?ReturnUrl=%2f0%2fodata%2fContact",
        ),
        HttpResponse::new(200)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(html),
    ];
    for expired in shapes {
        let now = Instant::now();
        let mut s = session(PlatformChoice::Known(Platform::NetFramework));
        let first = logged_in_with_request(&mut s, now, 7);
        events(&mut s);
        s.handle_response(now, first.id, expired.clone());
        let relogin = transmits(&mut s);
        assert_eq!(relogin.len(), 1, "{expired:?}");
        assert!(is_login(&relogin[0]));
        assert!(relogin[0].header("Cookie").is_none(), "old cookies must be dropped");
        s.handle_response(now, relogin[0].id, login_ok(2));
        let retry = transmits(&mut s);
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].url, first.url);
        assert_eq!(retry[0].header("BPMCSRF"), Some("csrf2"));
        s.handle_response(now, retry[0].id, HttpResponse::json(200, r#"{"value":[]}"#));
        let got = events(&mut s);
        assert!(
            got.contains(&SessionEvent::Response {
                tag: 7,
                response: HttpResponse::json(200, r#"{"value":[]}"#)
            }),
            "{got:?}"
        );
        assert!(transmits(&mut s).is_empty());
    }
}

#[test]
fn failed_relogin_fails_the_request_without_looping() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    let first = logged_in_with_request(&mut s, now, 7);
    s.handle_response(now, first.id, HttpResponse::new(401));
    let relogin = transmits(&mut s);
    s.handle_response(now, relogin[0].id, HttpResponse::json(200, LOGIN_REFUSED));
    let got = events(&mut s);
    assert!(got.iter().any(|e| matches!(
        e,
        SessionEvent::Failed {
            tag: 7,
            error: RequestFailure::Auth(AuthError::WrongPassword { .. })
        }
    )));
    assert!(transmits(&mut s).is_empty(), "no further login after a refusal");

    // A refused password is not tried again behind the operator's back...
    s.submit(now, 8, get("Contact"));
    assert!(transmits(&mut s).is_empty());
    assert!(
        events(&mut s)
            .iter()
            .any(|e| matches!(e, SessionEvent::Failed { tag: 8, .. }))
    );
    // ...only once new credentials arrive.
    s.set_credentials(now, forms());
    s.submit(now, 9, get("Contact"));
    assert!(is_login(&transmits(&mut s)[0]));
}

#[test]
fn expiry_again_after_relogin_is_reported_not_retried() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    let first = logged_in_with_request(&mut s, now, 7);
    s.handle_response(now, first.id, HttpResponse::new(401));
    let relogin = transmits(&mut s);
    s.handle_response(now, relogin[0].id, login_ok(2));
    let retry = transmits(&mut s);
    events(&mut s);
    let page = HttpResponse::new(403)
        .with_header("Content-Type", "text/html")
        .with_body("<html>");
    s.handle_response(now, retry[0].id, page);
    assert!(transmits(&mut s).is_empty(), "exactly one re-login");
    let got = events(&mut s);
    assert!(
        matches!(
            got.as_slice(),
            [SessionEvent::Failed {
                tag: 7,
                error: RequestFailure::Auth(AuthError::PermissionDenied(_))
            }]
        ),
        "{got:?}"
    );
}

#[test]
fn concurrent_expiries_share_one_relogin() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    let first = logged_in_with_request(&mut s, now, 1);
    s.submit(now, 2, get("Call"));
    let second = transmits(&mut s);
    s.handle_response(now, first.id, HttpResponse::new(401));
    let relogin = transmits(&mut s);
    assert_eq!(relogin.len(), 1);
    s.handle_response(now, second[0].id, HttpResponse::new(401));
    assert!(transmits(&mut s).is_empty(), "the second 401 waits for the same login");
    s.handle_response(now, relogin[0].id, login_ok(2));
    let retries = transmits(&mut s);
    assert_eq!(retries.len(), 2);
    assert!(retries.iter().all(|r| r.header("BPMCSRF") == Some("csrf2")));
}

#[test]
fn late_expiry_from_an_old_session_resends_without_another_login() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    let first = logged_in_with_request(&mut s, now, 1);
    s.submit(now, 2, get("Call"));
    let second = transmits(&mut s);
    s.handle_response(now, first.id, HttpResponse::new(401));
    let relogin = transmits(&mut s);
    s.handle_response(now, relogin[0].id, login_ok(2));
    let retry_first = transmits(&mut s);
    assert_eq!(retry_first.len(), 1);
    s.handle_response(now, second[0].id, HttpResponse::new(401));
    let resent = transmits(&mut s);
    assert_eq!(resent.len(), 1);
    assert!(!is_login(&resent[0]));
    assert_eq!(resent[0].header("BPMCSRF"), Some("csrf2"));
}

#[test]
fn unreachable_login_fails_waiting_requests_and_the_next_submit_tries_again() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Known(Platform::NetFramework));
    s.submit(now, 1, get("Contact"));
    let login = transmits(&mut s);
    s.handle_transport_error(
        now,
        login[0].id,
        TransportError::Unreachable("connection refused".into()),
    );
    let got = events(&mut s);
    assert!(got.iter().any(|e| matches!(
        e,
        SessionEvent::Failed { tag: 1, error: RequestFailure::Auth(AuthError::Unreachable(m)) } if m == "connection refused"
    )));
    assert!(transmits(&mut s).is_empty());
    s.submit(now + Duration::from_secs(5), 2, get("Contact"));
    assert!(is_login(&transmits(&mut s)[0]));
}

#[test]
fn platform_detection_falls_back_from_slash_zero_to_plain_odata() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Detect);
    s.submit(now, 1, get("Contact?$top=1"));
    let login = transmits(&mut s);
    s.handle_response(now, login[0].id, login_ok(1));
    let probe = transmits(&mut s);
    assert_eq!(probe[0].url, "https://crm.example.com/0/odata/Call?$top=0&$select=Id");
    assert_eq!(probe[0].header("BPMCSRF"), Some("csrf1"));
    s.handle_response(now, probe[0].id, HttpResponse::new(404));
    let probe = transmits(&mut s);
    assert_eq!(probe[0].url, "https://crm.example.com/odata/Call?$top=0&$select=Id");
    s.handle_response(now, probe[0].id, HttpResponse::json(200, r#"{"value":[]}"#));
    let sent = transmits(&mut s);
    assert_eq!(sent[0].url, "https://crm.example.com/odata/Contact?$top=1");
    assert_eq!(s.platform(), Some(Platform::NetCore));
    assert!(events(&mut s).contains(&SessionEvent::LoggedIn {
        platform: Platform::NetCore
    }));
}

#[test]
fn no_odata_service_at_either_path_is_a_configuration_refusal() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Detect);
    s.submit(now, 1, get("Contact"));
    let login = transmits(&mut s);
    s.handle_response(now, login[0].id, login_ok(1));
    let probe = transmits(&mut s);
    s.handle_response(now, probe[0].id, HttpResponse::new(404));
    let probe = transmits(&mut s);
    s.handle_response(now, probe[0].id, HttpResponse::new(404));
    assert!(matches!(s.refusal(), Some(AuthError::NoODataService(_))));
    assert!(transmits(&mut s).is_empty());
}

#[test]
fn bearer_token_is_used_instead_of_cookies_and_renewed_before_expiry() {
    let now = Instant::now();
    let mut s: Session<u32> = Session::new(
        Site::parse("https://crm.example.com").unwrap(),
        PlatformChoice::Known(Platform::NetCore),
        Credentials::ClientCredentials {
            token_url: "https://crm-is.example.com/connect/token".into(),
            client_id: "panel".into(),
            client_secret: Secret::new("secret"),
        },
    );
    s.submit(now, 1, get("Contact"));
    let token = transmits(&mut s);
    assert_eq!(token[0].url, "https://crm-is.example.com/connect/token");
    s.handle_response(
        now,
        token[0].id,
        HttpResponse::json(200, r#"{"access_token":"t1","expires_in":600,"token_type":"Bearer"}"#),
    );
    let sent = transmits(&mut s);
    assert_eq!(sent[0].header("Authorization"), Some("Bearer t1"));
    assert!(sent[0].header("Cookie").is_none() && sent[0].header("BPMCSRF").is_none());
    s.handle_response(now, sent[0].id, HttpResponse::json(200, r#"{"value":[]}"#));

    s.submit(now + Duration::from_secs(599), 2, get("Contact"));
    let renewal = transmits(&mut s);
    assert_eq!(renewal.len(), 1);
    assert_eq!(renewal[0].url, "https://crm-is.example.com/connect/token");
}

#[test]
fn token_without_lifetime_is_used_for_the_waiting_request_not_refetched_forever() {
    let now = Instant::now();
    let mut s: Session<u32> = Session::new(
        Site::parse("https://crm.example.com").unwrap(),
        PlatformChoice::Known(Platform::NetCore),
        Credentials::ClientCredentials {
            token_url: "https://crm-is.example.com/connect/token".into(),
            client_id: "panel".into(),
            client_secret: Secret::new("secret"),
        },
    );
    s.submit(now, 1, get("Contact"));
    let token = transmits(&mut s);
    s.handle_response(
        now,
        token[0].id,
        HttpResponse::json(200, r#"{"access_token":"t0","expires_in":0}"#),
    );
    let sent = transmits(&mut s);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("Authorization"), Some("Bearer t0"));
}

#[test]
fn probe_refused_for_missing_rights_is_reported_and_tried_again_later() {
    let now = Instant::now();
    let mut s = session(PlatformChoice::Detect);
    s.submit(now, 1, get("Contact"));
    let login = transmits(&mut s);
    s.handle_response(now, login[0].id, login_ok(1));
    let probe = transmits(&mut s);
    let page = HttpResponse::new(403)
        .with_header("Content-Type", "text/html")
        .with_body("<html>");
    s.handle_response(now, probe[0].id, page);
    let got = events(&mut s);
    assert!(
        got.iter().any(|e| matches!(
            e,
            SessionEvent::Failed { tag: 1, error: RequestFailure::Auth(AuthError::PermissionDenied(m)) }
                if m.contains("CanUseODataService")
        )),
        "{got:?}"
    );
    assert_eq!(s.refusal(), None, "rights can be granted meanwhile");
    s.submit(now + Duration::from_secs(60), 2, get("Contact"));
    assert!(is_login(&transmits(&mut s)[0]));
}
