//! Wire-level behaviour with a plain HTTP client: cookies, CSRF, expiry, both prefixes, writes
//! and the fault-injection endpoints.

use std::time::{Duration, Instant};

use serde_json::json;
use sim::World;

use crate::{Answer, NoAnswer, control, http, start};

pub(crate) struct Login {
    cookie: String,
    csrf: String,
}

pub(crate) async fn login(base: &str, user: &str, password: &str) -> (Answer, Option<Login>) {
    let body = json!({"UserName": user, "UserPassword": password}).to_string();
    let answer = http(
        base,
        "POST",
        "/ServiceModel/AuthService.svc/Login",
        &[
            ("Content-Type", "application/json; charset=utf-8"),
            ("ForceUseSession", "true"),
        ],
        body.as_bytes(),
    )
    .await
    .unwrap();
    let pairs: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| {
            v.split(';')
                .next()?
                .split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        })
        .collect();
    let csrf = pairs.iter().find(|(n, _)| n == "BPMCSRF").map(|(_, v)| v.clone());
    let cookie = pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    (answer, csrf.map(|csrf| Login { cookie, csrf }))
}

pub(crate) async fn call(
    base: &str,
    session: &Login,
    method: &str,
    target: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    http(
        base,
        method,
        target,
        &[
            ("Cookie", &session.cookie),
            ("BPMCSRF", &session.csrf),
            ("ForceUseSession", "true"),
            ("Accept", "application/json"),
            (
                "Content-Type",
                "application/json; charset=utf-8; IEEE754Compatible=true",
            ),
        ],
        body.as_bytes(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn login_csrf_and_expiry_over_http() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let (refused, none) = login(&base, "op1", "nope").await;
    assert_eq!(refused.status, 200);
    assert!(String::from_utf8_lossy(&refused.body).contains(r#""Code":1"#));
    assert!(none.is_none());

    let (ok, session) = login(&base, "op1", "demo").await;
    assert_eq!(ok.status, 200);
    let session = session.unwrap();
    assert_eq!(
        call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await.status,
        200
    );
    let no_csrf = http(
        &base,
        "GET",
        "/0/odata/Call?$top=0",
        &[("Cookie", &session.cookie)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(no_csrf.status, 403);
    let no_cookie = http(&base, "GET", "/0/odata/Call?$top=0", &[], b"").await.unwrap();
    assert_eq!(no_cookie.status, 401);

    let expired = control(&sim, "POST", "/creatio/sessions/expire", "").await;
    assert_eq!(expired["expired"], 1);
    assert_eq!(
        call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await.status,
        401
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn odata_writes_under_both_prefixes() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let (_, session) = login(&base, "op2", "demo").await;
    let session = session.unwrap();
    let id = "3c8f5a9e-0d1b-4f2a-9e7c-5b6a4d3c2b1a";
    let created = call(
        &base,
        &session,
        "POST",
        "/0/odata/Call",
        Some(json!({"Id": id, "CallerId": "89161234567"})),
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json()["Id"], id);
    let patched = call(
        &base,
        &session,
        "PATCH",
        &format!("/odata/Call({id})"),
        Some(json!({"TalkTime": 42})),
    )
    .await;
    assert_eq!(patched.status, 204);
    let read = call(
        &base,
        &session,
        "GET",
        &format!("/odata/Call({id})?$select=TalkTime,CallerId"),
        None,
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["TalkTime"], 42);
    assert!(read.header("content-type").unwrap().starts_with("application/json"));
    let listed = control(&sim, "GET", "/creatio/calls", "").await;
    assert_eq!(listed[0]["TalkTime"], 42);
    let deleted = call(&base, &session, "DELETE", &format!("/0/odata/Call({id})"), None).await;
    assert_eq!(deleted.status, 204);
    let gone = call(&base, &session, "GET", &format!("/0/odata/Call({id})"), None).await;
    assert_eq!(gone.status, 404);
    assert!(gone.json()["error"]["message"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn fault_injection_slow_failing_down_and_back() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let (_, session) = login(&base, "op1", "demo").await;
    let session = session.unwrap();

    control(&sim, "POST", "/creatio/slow", r#"{"delay_ms":300}"#).await;
    let started = Instant::now();
    assert_eq!(
        call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await.status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    control(&sim, "POST", "/creatio/slow", r#"{"delay_ms":0}"#).await;

    control(&sim, "POST", "/creatio/fail", r#"{"status":500,"count":1}"#).await;
    let failed = call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await;
    assert_eq!(failed.status, 500);
    assert!(failed.json()["error"]["innererror"]["message"].is_string());
    assert_eq!(
        call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await.status,
        200
    );

    control(&sim, "POST", "/creatio/down", "").await;
    let down = http(
        &base,
        "GET",
        "/0/odata/Call?$top=0",
        &[("Cookie", &session.cookie)],
        b"",
    )
    .await;
    assert!(matches!(down, Err(NoAnswer::Closed | NoAnswer::Io(_))), "{down:?}");
    let state = control(&sim, "POST", "/creatio/up", "").await;
    assert_eq!(state["faults"]["down"], false);
    assert_eq!(
        call(&base, &session, "GET", "/0/odata/Call?$top=0", None).await.status,
        200
    );
    let healed = control(&sim, "POST", "/creatio/heal", "").await;
    assert_eq!(healed["sessions"], 1);
    sim.shutdown().await;
}
