//! Login answers, cookies, CSRF enforcement and idle expiry (CREATIO.md §2.1, §2.2, §9 points 1–2).

use std::time::Duration;

use sim::World;
use sim::creatio::{Control, CrmRequest};
use sim::world::ExpiredSession;

use crate::{Harness, json};

#[test]
fn good_login_answers_the_documented_body_and_cookies() {
    let mut h = Harness::new();
    let response = h.login("Supervisor", "Supervisor");
    assert_eq!(response.status, 200);
    assert_eq!(
        String::from_utf8(response.body.clone()).unwrap(),
        r#"{"Code":0,"Message":"","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#
    );
    let set_cookies: Vec<&str> = response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    let find = |name: &str| {
        set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"))
    };
    assert!(find(".ASPXAUTH").contains("HttpOnly"));
    assert!(find("BPMLOADER").contains("HttpOnly"));
    let csrf = find("BPMCSRF");
    assert!(csrf.contains("path=/") && !csrf.contains("HttpOnly"), "{csrf}");
    let user_name = find("UserName");
    assert!(
        user_name.contains("expires=") && user_name.contains("GMT"),
        "{user_name}"
    );
}

#[test]
fn operators_log_in_with_demo_and_logins_ignore_case() {
    for user in ["op1", "op2", "OP1", "supervisor"] {
        let mut h = Harness::new();
        let password = if user.eq_ignore_ascii_case("supervisor") {
            "Supervisor"
        } else {
            "demo"
        };
        h.login(user, password);
        assert!(h.cookie(".ASPXAUTH").is_some(), "{user}");
    }
}

#[test]
fn wrong_password_is_code_1_with_exception_and_no_cookie() {
    let mut h = Harness::new();
    let response = h.login("op1", "wrong");
    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body.clone()).unwrap();
    assert!(body.contains(r#""Code":1"#), "{body}");
    let body = json(&response);
    assert_eq!(body["Exception"]["Message"], body["Message"]);
    assert!(body["Exception"]["Type"].as_str().unwrap().contains("Exception"));
    assert_eq!(body["PasswordChangeUrl"], serde_json::Value::Null);
    assert!(h.cookie(".ASPXAUTH").is_none());
}

#[test]
fn malformed_login_body_is_400() {
    let mut h = Harness::new();
    let mut request = CrmRequest::new("POST", "/ServiceModel/AuthService.svc/Login");
    request.body = b"{\"UserName\":".to_vec();
    assert_eq!(h.send(request).status, 400);
    let get = CrmRequest::new("GET", "/ServiceModel/AuthService.svc/Login");
    assert_eq!(h.send(get).status, 405);
}

#[test]
fn no_cookie_is_401_and_missing_or_wrong_csrf_is_403() {
    let mut h = Harness::new();
    assert_eq!(h.send(CrmRequest::new("GET", "/0/odata/Contact")).status, 401);
    h.login("op1", "demo");
    let ok = h.authed("GET", "/0/odata/Contact?$top=1", None);
    assert_eq!(h.send(ok).status, 200);
    let mut without = h.authed("POST", "/0/odata/Call", Some(serde_json::json!({})));
    without.headers.retain(|(n, _)| n != "BPMCSRF");
    let answer = h.send(without);
    assert_eq!(answer.status, 403);
    assert!(json(&answer)["error"]["message"].as_str().unwrap().contains("BPMCSRF"));
    let mut wrong = h.authed("GET", "/0/odata/Contact", None);
    for (name, value) in &mut wrong.headers {
        if name == "BPMCSRF" {
            *value = "forged".into();
        }
    }
    assert_eq!(h.send(wrong).status, 403);
}

#[test]
fn reads_without_csrf_pass_when_the_world_relaxes_it() {
    let mut world = World::default_world();
    world.creatio.csrf_on_reads = false;
    let mut h = Harness::with_world(world);
    h.login("op1", "demo");
    let mut read = h.authed("GET", "/0/odata/Contact?$top=1", None);
    read.headers.retain(|(n, _)| n != "BPMCSRF");
    assert_eq!(h.send(read).status, 200);
    let mut write = h.authed("DELETE", "/0/odata/Contact(00000000-0000-0000-0000-000000000001)", None);
    write.headers.retain(|(n, _)| n != "BPMCSRF");
    assert_eq!(h.send(write).status, 403);
}

#[test]
fn idle_session_expires_after_the_timeout_and_activity_keeps_it() {
    let mut world = World::default_world();
    world.creatio.session_timeout_s = 600;
    let mut h = Harness::with_world(world);
    h.login("op1", "demo");
    for _ in 0..5 {
        h.advance(Duration::from_secs(599));
        let (status, _) = h.get_json("/0/odata/Call?$top=0");
        assert_eq!(status, 200, "activity within the timeout keeps the session");
    }
    h.advance(Duration::from_secs(600));
    let (status, _) = h.get_json("/0/odata/Call?$top=0");
    assert_eq!(status, 401);
    h.login("op1", "demo");
    assert_eq!(h.get_json("/0/odata/Call?$top=0").0, 200);
}

#[test]
fn expired_session_can_answer_with_the_login_redirect() {
    let mut world = World::default_world();
    world.creatio.expired_session = ExpiredSession::RedirectToLogin;
    let mut h = Harness::with_world(world);
    let response = h.send(CrmRequest::new("GET", "/0/odata/Contact?$top=1"));
    assert_eq!(response.status, 302);
    assert_eq!(
        response.header("Location"),
        Some("/Login/NuiLogin.aspx?ReturnUrl=%2F0%2Fodata%2FContact")
    );
}

#[test]
fn expire_all_ends_every_session_and_logout_ends_one() {
    let mut h = Harness::new();
    h.login("op1", "demo");
    let mut other = Harness::new();
    std::mem::swap(&mut other.crm, &mut h.crm);
    other.login("op2", "demo");
    std::mem::swap(&mut other.crm, &mut h.crm);
    assert_eq!(h.crm.handle_control(h.now, Control::ExpireSessions)["expired"], 2);
    assert_eq!(h.get_json("/0/odata/Call?$top=0").0, 401);
    h.login("op1", "demo");
    let logout = h.authed("POST", "/ServiceModel/AuthService.svc/Logout", None);
    assert_eq!(h.send(logout).status, 200);
    assert_eq!(h.get_json("/0/odata/Call?$top=0").0, 401);
}

#[test]
fn ping_needs_the_session() {
    let mut h = Harness::new();
    assert_eq!(h.send(CrmRequest::new("POST", "/0/ping")).status, 401);
    h.login("op1", "demo");
    let ping = h.authed("POST", "/0/ping", None);
    assert_eq!(h.send(ping).status, 200);
}

fn token_request(form: &str) -> CrmRequest {
    let mut request = CrmRequest::new("POST", "/connect/token");
    request
        .headers
        .push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    request.body = form.as_bytes().to_vec();
    request
}

fn bearer(target: &str, token: &str) -> CrmRequest {
    let mut request = CrmRequest::new("GET", target);
    request
        .headers
        .push(("Authorization".into(), format!("Bearer {token}")));
    request
}

#[test]
fn client_credentials_grant_a_bearer_token_that_lapses() {
    let mut world = World::default_world();
    world.creatio.token_lifetime_s = 100;
    let mut h = Harness::with_world(world);
    let granted = h.send(token_request(
        "grant_type=client_credentials&client_id=oktell-panel&client_secret=demo-secret",
    ));
    assert_eq!(granted.status, 200);
    let body = json(&granted);
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(100))
    );
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.send(bearer("/odata/Call?$top=0", &token)).status,
        200,
        "no cookie or CSRF needed"
    );
    h.advance(Duration::from_secs(99));
    assert_eq!(h.send(bearer("/odata/Call?$top=0", &token)).status, 200);
    h.advance(Duration::from_secs(1));
    let lapsed = h.send(bearer("/odata/Call?$top=0", &token));
    assert_eq!(lapsed.status, 401);
    assert!(lapsed.header("WWW-Authenticate").unwrap().contains("invalid_token"));
}

#[test]
fn bad_clients_and_grants_get_oauth_errors() {
    let mut h = Harness::new();
    for (form, error) in [
        (
            "grant_type=client_credentials&client_id=oktell-panel&client_secret=nope",
            "invalid_client",
        ),
        (
            "grant_type=client_credentials&client_id=who&client_secret=demo-secret",
            "invalid_client",
        ),
        (
            "grant_type=password&client_id=oktell-panel&client_secret=demo-secret",
            "unsupported_grant_type",
        ),
        ("", "unsupported_grant_type"),
    ] {
        let answer = h.send(token_request(form));
        assert_eq!(answer.status, 400, "{form}");
        assert_eq!(json(&answer)["error"], error, "{form}");
    }
    assert_eq!(h.send(bearer("/0/odata/Call", "forged")).status, 401);
}

#[test]
fn bearer_writes_are_stamped_with_the_clients_user() {
    let mut h = Harness::new();
    let granted = h.send(token_request(
        "grant_type=client_credentials&client_id=oktell-panel&client_secret=demo-secret",
    ));
    let token = json(&granted)["access_token"].as_str().unwrap().to_owned();
    let mut post = bearer("/0/odata/Call", &token);
    post.method = "POST".into();
    post.body = br#"{"CallerId":"101"}"#.to_vec();
    let created = h.send(post);
    assert_eq!(created.status, 201);
    h.login("op1", "demo");
    let (_, op1) = h.get_json("/0/odata/Contact?$filter=Name eq 'Анна Смирнова'&$select=Id");
    assert_eq!(json(&created)["CreatedById"], op1["value"][0]["Id"]);
    assert_eq!(
        h.crm.handle_control(h.now, Control::ExpireSessions)["expired"],
        2,
        "the token and the cookie session"
    );
}
