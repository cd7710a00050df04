//! Hostile requests: whatever arrives, the stand-in answers with a status and never panics.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim::creatio::{CrmRequest, Reply};

use crate::Harness;

const PIECES: [&str; 27] = [
    "/0/odata/",
    "/odata/",
    "Contact",
    "Call",
    "ContactCommunication",
    "(",
    ")",
    "?",
    "&",
    "=",
    "$filter",
    "$select",
    "$expand",
    "$expand=Contact(",
    ";",
    "Account",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "'",
    "%",
    "%2",
    "/",
    " eq ",
    "startswith(",
    "c072be2c-3d82-4468-9d4a-6db47d1f4cca",
];

#[test]
fn random_targets_bodies_and_headers_never_panic() {
    let mut h = Harness::new();
    h.login("op1", "demo");
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..3000 {
        let mut target = String::new();
        for _ in 0..rng.random_range(1..12) {
            target.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
        let method = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"][rng.random_range(0..6)];
        let body: Option<serde_json::Value> = match rng.random_range(0..4) {
            0 => None,
            1 => Some(serde_json::json!({"Name": rng.random::<u32>(), "Id": "x"})),
            2 => Some(serde_json::json!({"Number": "+7 (1) 2", "ContactId": null})),
            _ => Some(serde_json::json!([null, {"a": [1, 2]}])),
        };
        let mut request = h.authed(method, &target, body);
        if rng.random_bool(0.2) {
            request.body = (0..rng.random_range(0..64)).map(|_| rng.random::<u8>()).collect();
        }
        match h.crm.handle_request(h.now, &request) {
            Reply::Respond { response, .. } => assert!((200..600).contains(&response.status)),
            Reply::Hangup => panic!("hung up without a fault"),
        }
    }
}

#[test]
fn garbage_cookies_and_login_bodies_are_refused() {
    let mut h = Harness::new();
    let mut request = CrmRequest::new("GET", "/0/odata/Contact");
    request
        .headers
        .push(("Cookie".into(), ";;=;.ASPXAUTH;.ASPXAUTH=;BPMCSRF".into()));
    request.headers.push(("BPMCSRF".into(), "".into()));
    assert_eq!(h.send(request).status, 401);
    for body in [&b""[..], b"null", b"[]", b"{\"UserName\":1}", &[0xff, 0xfe, 0x00]] {
        let mut login = CrmRequest::new("POST", "/ServiceModel/AuthService.svc/Login");
        login.body = body.to_vec();
        assert_eq!(h.send(login).status, 400, "{body:?}");
    }
}

#[test]
fn expand_nested_ten_thousand_deep_is_refused_not_overflowed() {
    let mut h = Harness::new();
    h.login("op1", "demo");
    let depth = 10_000;
    let expand = format!("{}Owner{}", "Owner($expand=".repeat(depth), ")".repeat(depth));
    let unbalanced = format!("{}Owner", "Owner($expand=".repeat(depth));
    for expand in [expand, unbalanced] {
        let (status, body) = h.get_json(&format!("/0/odata/Contact?$expand={expand}"));
        assert_eq!(status, 400);
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}
