//! Login (§2.2–§2.4) and the post-login sequence (§2.6), frame by frame.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use oktell::agent::AgentStatus;
use oktell::error::LoginError;
use oktell::{CloseReason, ConnectionState, Event};
use serde_json::json;
use support::*;

#[test]
fn password_login_runs_the_post_login_sequence_in_document_order() {
    let mut h = Harness::new(config());
    assert!(
        matches!(h.actions[0], oktell::Action::Open { ref url, subprotocol: "json", .. } if url == "ws://127.0.0.1:4066")
    );
    let s = h.handshake();

    let login = h.expect("login");
    assert_eq!(
        login.fields(),
        json!({"userlogin":"op1","Password":"d6cb2342e44efb6dd628276f36da2359",
               "password":"e52d98c459819a11775936d8dfbb7929","showid":1,"usewebrtc":false})
    );
    assert!(login.text.starts_with(r#"["login",{"userlogin":"op1","Password":"#));
    assert!(login.text.ends_with(&format!(r#""qid":"{}"}}]"#, login.qid())));
    h.expect_nothing();
    h.reply(&login, canned("login"));

    // Steps 2–5 at once.
    let queue = h.expect("getcurrentqueue");
    assert_eq!(queue.fields(), json!({"userlogin":"op1"}));
    let sub = h.expect("subscribeevent");
    assert_eq!(sub.fields(), json!({"eventmethod":["customevent"]}));
    let sub2 = h.expect("subscribeevent");
    assert_eq!(sub2.fields(), json!({"eventmethod":["userstatechanged"]}));
    let version = h.expect("getversion");
    assert_eq!(
        version.fields(),
        json!({"userlogin":"op1","showalloweddbstoredprocs":1})
    );
    h.expect_nothing();
    h.reply(&queue, canned("getcurrentqueue"));
    h.reply(&sub, json!({"result":1}));
    h.reply(&sub2, json!({"result":1}));
    h.reply(&version, canned("getversion"));

    for (method, fields) in [
        ("getmyuserinfo", json!({"userlogin":"op1"})),
        ("cc_getlunchtypes", json!({"userlogin":"op1"})),
        ("getuserstate", json!({"userlogin":"op1"})),
        ("getredirectrules", json!({"userlogin":"op1"})),
        ("getpbxnumbers", json!({"userlogin":"op1","mode":"full"})),
    ] {
        let r = h.expect(method);
        assert_eq!(r.fields(), fields);
        h.expect_nothing();
        h.reply(&r, canned(method));
    }
    let sub = h.expect("subscribeevent");
    assert_eq!(sub.fields(), json!({"eventmethod":["pbxnumberstatechanged"]}));
    let users = h.expect("getallusernumbers");
    assert_eq!(users.fields(), json!({"userlogin":"op1","fillsubordinates":true}));
    h.reply(&users, canned("getallusernumbers"));
    let photos = h.expect("getalluserphotolink");
    assert_eq!(photos.fields(), json!({"userlogin":"op1","mode":"page"}));
    h.reply(&photos, canned("getalluserphotolink"));
    let line = h.expect("getextendedlineinfo");
    assert!(!h.session.is_connected());
    h.reply(&line, canned("getextendedlineinfo"));

    let mut names = Vec::new();
    while let Some(f) = h.outbox.pop_front() {
        if f.name == "subscribeevent" {
            names.push(f.body["eventmethod"][0].as_str().unwrap().to_owned());
        } else {
            names.push(f.name.clone());
        }
    }
    assert_eq!(
        names,
        [
            "linestatechanged",
            "flashstatechanged",
            "confcompositionchanged",
            "confcompetitorstatechanged",
            "phoneevent_acmcallstarted",
            "phoneevent_acmcallstopped",
            "phoneevent_ringstarted",
            "phoneevent_ringstopped",
            "phoneevent_ivrstarted",
            "phoneevent_commstarted",
            "phoneevent_commstopped",
            "cc_getlunchtypes",
            "httpresponsecopy"
        ]
    );
    assert!(h.session.is_connected());
    let _ = s;

    // The library's state is complete.
    let ev = &h.events;
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::LoggedIn { user_id, session_id: Some(_) } if user_id == USER_ID))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Version(v) if v.dated == Some(161116)))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::UserInfo(u) if u.mainpbxnumber.as_deref() == Some("101")))
    );
    assert!(ev.iter().any(|e| matches!(e, Event::BreakReasons(r) if r.len() == 2)));
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Agent(a) if a.status() == AgentStatus::Ready))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::RedirectNumber(Some(n)) if n == "89031112233"))
    );
    assert!(ev.iter().any(|e| matches!(e, Event::Numbers(n) if n.len() == 2)));
    assert!(ev.iter().any(|e| matches!(e, Event::Users(u) if u.len() == 2)));
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Line(l) if l.state == oktell::line::PhoneState::Ready))
    );
    assert_eq!(
        h.connection_states(),
        [
            ConnectionState::Connecting { attempt: 1 },
            ConnectionState::LoggingIn,
            ConnectionState::Syncing,
            ConnectionState::Connected
        ]
    );
}

#[test]
fn session_only_login_sends_the_session_id_and_no_digests() {
    let mut c = config();
    c.password = None;
    c.session_id = Some(SESSION.into());
    let mut h = Harness::new(c);
    h.handshake();
    let login = h.expect("login");
    assert_eq!(
        login.fields(),
        json!({"userlogin":"op1","sessionid":SESSION,"showid":1,"usewebrtc":false})
    );
}

#[test]
fn optional_login_fields_are_sent_when_configured() {
    let mut c = config();
    c.workplace = Some("ws-17".into());
    c.expires = Some(86400);
    c.use_webrtc = true;
    let mut h = Harness::new(c);
    h.handshake();
    let login = h.expect("login");
    assert_eq!(login.body["workplace"], "ws-17");
    assert_eq!(login.body["expires"], 86400);
    assert_eq!(login.body["usewebrtc"], true);
}

fn refused(fields: serde_json::Value) -> (Harness, LoginError) {
    let mut h = Harness::new(config());
    h.handshake();
    let login = h.expect("login");
    h.reply(&login, fields);
    let error = h
        .events
        .iter()
        .find_map(|e| match e {
            Event::LoginFailed(e) => Some(e.clone()),
            _ => None,
        })
        .expect("a LoginFailed event");
    (h, error)
}

#[test]
fn wrong_password_closes_for_good() {
    let (h, error) = refused(json!({"result":0,"error":2,"errormsg":"Wrong login/pass combination"}));
    assert_eq!(error, LoginError::WrongPassword);
    assert!(h.session.is_closed());
    assert_eq!(
        h.connection_states().last(),
        Some(&ConnectionState::Closed(CloseReason::LoginRefused(
            LoginError::WrongPassword
        )))
    );
    assert!(h.actions.iter().any(|a| matches!(a, oktell::Action::Close { .. })));
    assert!(!h.log.contains(&"logout".to_owned()), "no logout after a refused login");
}

#[test]
fn desktop_client_conflict_is_reported_and_final() {
    let (h, error) = refused(json!({"result":0,"error":50093,"errormsg":"User already registered"}));
    assert_eq!(error, LoginError::AlreadyLoggedIn);
    assert!(h.session.is_closed());
}

#[test]
fn licence_limit_and_service_start_are_retried_with_backoff() {
    for fields in [
        json!({"result":0,"error":50025,"errormsg":"Licence limit"}),
        json!({"result":0,"errormsg":"Service not available"}),
    ] {
        let (mut h, error) = refused(fields);
        assert!(error.is_transient());
        assert!(!h.session.is_closed());
        let Some(ConnectionState::Reconnecting { attempt: 2, delay }) = h.connection_states().last().cloned() else {
            panic!("expected a reconnect: {:?}", h.connection_states());
        };
        assert!(delay <= std::time::Duration::from_millis(500));
        h.advance(delay);
        assert!(matches!(
            h.connection_states().last(),
            Some(ConnectionState::Connecting { attempt: 2 })
        ));
    }
}

#[test]
fn a_reply_with_result_one_but_an_error_text_is_a_failure() {
    let (_, error) = refused(json!({"result":1,"errormsg":"Wrong login/pass combination"}));
    assert_eq!(error, LoginError::WrongPassword);
}

#[test]
fn login_without_userid_is_refused() {
    let (h, error) = refused(json!({"result":1,"sessionid":SESSION}));
    assert_eq!(error, LoginError::NoUserId);
    assert!(h.session.is_closed());
}

#[test]
fn expired_session_without_password_is_final() {
    let mut c = config();
    c.password = None;
    c.session_id = Some(SESSION.into());
    let mut h = Harness::new(c);
    h.handshake();
    let login = h.expect("login");
    h.reply(
        &login,
        json!({"result":0,"errormsg":"Bad request. Session does not exist"}),
    );
    assert!(h.events.contains(&Event::LoginFailed(LoginError::SessionExpired)));
    assert!(h.session.is_closed());
}

#[test]
fn failed_getversion_drops_the_connection_and_retries() {
    let mut h = Harness::new(config());
    h.handshake();
    h.serve_with(|s| (s.name == "getversion").then(|| json!({"result":0})));
    assert!(h.events.contains(&Event::SyncFailed(oktell::error::SyncError::Version)));
    assert!(!h.session.is_connected());
    assert!(matches!(
        h.connection_states().last(),
        Some(ConnectionState::Reconnecting { .. })
    ));
}

#[test]
fn too_old_server_is_incompatible() {
    let mut h = Harness::new(config());
    h.handshake();
    h.serve_with(|s| (s.name == "getversion").then(|| json!({"result":1,"version":{"dated":120112}})));
    assert!(h.session.is_closed());
}

#[test]
fn failed_directory_skips_photos_and_still_connects() {
    let mut h = Harness::new(config());
    h.handshake();
    h.serve_with(|s| (s.name == "getallusernumbers").then(|| json!({"result":0})));
    assert!(h.session.is_connected());
    assert!(!h.log.contains(&"getalluserphotolink".to_owned()));
}

#[test]
fn events_during_the_sync_do_not_cut_the_chain_short() {
    let mut h = Harness::new(config());
    let s = h.handshake();
    let login = h.expect("login");
    h.reply(&login, canned("login"));
    // A state change arrives before the chain has read anything.
    h.push(s, "userstatechanged", json!({"userstateid":5,"oncallcenter":false}));
    h.push(s, "linestatechanged", json!({}));
    assert!(!h.log.contains(&"getextendedlineinfo".to_owned()));
    h.serve();
    assert!(h.session.is_connected());
    for step in ["getmyuserinfo", "getuserstate", "getpbxnumbers", "getallusernumbers"] {
        assert!(h.log.contains(&step.to_owned()), "{step} skipped");
    }
    assert_eq!(h.log.iter().filter(|m| *m == "getextendedlineinfo").count(), 1);
}
