//! Handshake, login, sessions and logout (PROTOCOL.md §1.4, §2).

use serde_json::json;
use sim::World;
use sim::control::Command;
use sim::world::LoginRefusal;

use crate::harness::Harness;

#[test]
fn handshake_ping_gets_pong_with_the_identical_qid() {
    let mut h = Harness::quiet();
    let conn = h.open();
    h.send_raw(conn, r#"["ping",{"qid":"0.30000000000000004"}]"#);
    let frames = h.frames(conn);
    assert_eq!(frames, vec![json!(["pong", {"qid": "0.30000000000000004"}])]);
}

#[test]
fn password_login_returns_userid_string_and_session() {
    let mut h = Harness::quiet();
    let conn = h.open();
    let reply = h.password_login(conn, "op1", "demo");
    assert_eq!(reply[0], "loginresult");
    assert_eq!(reply[1]["result"], 1);
    assert!(reply[1]["userid"].as_str().unwrap().len() == 36);
    assert!(reply[1]["sessionid"].as_str().is_some());
    assert!(reply[1].get("error").is_none() && reply[1].get("errormsg").is_none());
}

#[test]
fn login_name_is_case_insensitive_and_password_case_via_lowered_digest() {
    let mut h = Harness::quiet();
    let conn = h.open();
    // Only the lower-cased digest matches "DEMO": login is case-insensitive like Oktell's.
    let reply = h.password_login(conn, "OP1", "DEMO");
    assert_eq!(reply[1]["result"], 1, "{reply}");
}

#[test]
fn wrong_password_is_refused_with_the_exact_text_and_socket_stays_open() {
    let mut h = Harness::quiet();
    let conn = h.open();
    let reply = h.password_login(conn, "op1", "wrong");
    assert_eq!(reply[1]["result"], 0);
    assert_eq!(reply[1]["error"], 2);
    assert_eq!(reply[1]["errormsg"], "Wrong login/pass combination");
    assert!(
        !h.closed.contains(&conn),
        "the client closes after a failed login, not the server"
    );
    let reply = h.request(conn, "getversion", json!({"showalloweddbstoredprocs": 1}));
    assert_eq!(reply[1]["result"], 0, "not logged in: {reply}");
}

#[test]
fn unknown_user_is_refused_like_a_wrong_password() {
    let mut h = Harness::quiet();
    let conn = h.open();
    let reply = h.password_login(conn, "nobody", "demo");
    assert_eq!(reply[1]["errormsg"], "Wrong login/pass combination");
}

#[test]
fn configured_refusals_carry_the_codes_oktell_js_maps() {
    for (refusal, error, errormsg) in [
        (LoginRefusal::DesktopClient, Some(50093), None),
        (LoginRefusal::LicenceLimit, Some(50025), None),
        (LoginRefusal::ServiceUnavailable, None, Some("Service not available")),
    ] {
        let mut world = World::default_world();
        world.users[0].refuse_login = Some(refusal);
        let mut h = Harness::new(world);
        let conn = h.open();
        let reply = h.password_login(conn, "op1", "demo");
        assert_eq!(reply[1]["result"], 0);
        if let Some(error) = error {
            assert_eq!(reply[1]["error"], error);
        }
        if let Some(errormsg) = errormsg {
            assert_eq!(reply[1]["errormsg"], errormsg);
        }
    }
}

#[test]
fn session_login_resumes_after_the_server_dropped_the_connection() {
    let mut h = Harness::quiet();
    let first = h.open();
    let reply = h.password_login(first, "op1", "demo");
    let session = reply[1]["sessionid"].as_str().unwrap().to_owned();
    let userid = reply[1]["userid"].clone();
    let dropped = h.control(Command::DropConnections);
    assert_eq!(dropped["dropped"], 1);
    assert!(h.closed.contains(&first));
    h.sim.handle_closed(first);

    let second = h.open();
    h.raw_request(second, "ping", Default::default());
    let reply = h.session_login(second, "op1", &session);
    assert_eq!(reply[1]["result"], 1, "{reply}");
    assert_eq!(reply[1]["userid"], userid);
    assert_eq!(reply[1]["sessionid"], session.as_str());
}

#[test]
fn unknown_session_and_session_of_another_user_are_refused_with_exact_texts() {
    let mut h = Harness::quiet();
    let conn = h.open();
    let reply = h.session_login(conn, "op1", "6ce69019-2e38-48c3-8ed1-106e08fda2af");
    assert_eq!(reply[1]["errormsg"], "Bad request. Session does not exist");

    let reply = h.password_login(conn, "op1", "demo");
    let session = reply[1]["sessionid"].as_str().unwrap().to_owned();
    let other = h.open();
    let reply = h.session_login(other, "op2", &session);
    assert_eq!(reply[1]["errormsg"], "Bad request. Invalid session user");
}

#[test]
fn second_concurrent_login_of_the_same_user_is_allowed() {
    let mut h = Harness::quiet();
    let a = h.login("op1", "demo");
    let b = h.login("op1", "demo");
    assert_ne!(a, b);
    assert_eq!(h.line(a)["linestatestr"], "lsFree");
    assert_eq!(h.line(b)["linestatestr"], "lsFree");
}

#[test]
fn logout_replies_then_closes_and_forgets_the_session() {
    let mut h = Harness::quiet();
    let conn = h.open();
    let reply = h.password_login(conn, "op1", "demo");
    let session = reply[1]["sessionid"].as_str().unwrap().to_owned();
    let reply = h.request(conn, "logout", json!({}));
    assert_eq!(reply[0], "logoutresult");
    assert_eq!(reply[1]["result"], 1);
    assert!(h.closed.contains(&conn));
    // oktell.js sends getextendedlineinfo right after logout; the server ignores it.
    h.send_raw(conn, r#"["getextendedlineinfo",{"userlogin":"op1","qid":"0.9"}]"#);
    assert!(h.frames(conn).is_empty());

    let again = h.open();
    let reply = h.session_login(again, "op1", &session);
    assert_eq!(reply[1]["errormsg"], "Bad request. Session does not exist");
}

#[test]
fn post_login_sequence_gets_the_fields_oktell_js_reads() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    let version = h.request(conn, "getversion", json!({"showalloweddbstoredprocs": 1}));
    assert!(version[1]["version"]["dated"].as_u64().unwrap() >= 150_416);
    assert!(version[1]["alloweddbstoredprocs"].is_object());
    let me = h.request(conn, "getmyuserinfo", json!({}));
    assert_eq!(me[1]["mainpbxnumber"], "101");
    assert_eq!(me[1]["linenumber"], "101");
    assert_eq!(me[1]["hasline"], true);
    let reasons = h.request(conn, "cc_getlunchtypes", json!({}));
    assert_eq!(reasons[1]["items"].as_array().unwrap().len(), 5);
    assert!(reasons[1]["items"][0]["id"].is_number());
    let state = h.request(conn, "getuserstate", json!({}));
    for key in [
        "userstateid",
        "oncallcenter",
        "onccmanual",
        "onlunch",
        "onredirect",
        "lunchreasonid",
        "ontask",
    ] {
        assert!(state[1].get(key).is_some(), "{key} missing");
    }
    let numbers = h.request(conn, "getpbxnumbers", json!({"mode": "full"}));
    let numbers = numbers[1]["numbers"].as_array().unwrap();
    assert!(numbers.iter().any(|n| n["number"] == "102" && n["state"] == 1));
    let users = h.request(conn, "getallusernumbers", json!({"fillsubordinates": true}));
    assert!(users[1]["users"].as_array().unwrap().iter().any(|u| u["main"] == "102"));
    let queue = h.request(conn, "getcurrentqueue", json!({}));
    assert_eq!(queue[1]["queue"], json!([]));
    let links = h.request(conn, "getalluserphotolink", json!({"mode": "page"}));
    assert_eq!(links[1]["links"], json!([]));
    let rules = h.request(conn, "getredirectrules", json!({}));
    assert_eq!(rules[1]["redirectrules"], json!([]));
}

#[test]
fn supervisor_sees_department_colleagues_as_subordinates() {
    let mut h = Harness::quiet();
    let conn = h.login("sup1", "demo");
    let users = h.request(conn, "getallusernumbers", json!({"fillsubordinates": true}));
    let users = users[1]["users"].as_array().unwrap();
    let sub = |main: &str| users.iter().find(|u| u["main"] == main).unwrap()["sub"].clone();
    assert_eq!(sub("101"), true);
    assert_eq!(sub("103"), false, "other department");
    assert_eq!(sub("100"), false, "not oneself");
}

#[test]
fn unknown_method_fails_instead_of_pretending() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    let reply = h.request(conn, "nosuchmethod", json!({}));
    assert_eq!(reply[0], "nosuchmethodresult");
    assert_eq!(reply[1]["result"], 0);
}

#[test]
fn redirect_rules_are_saved_listed_and_deleted() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    let rule = json!({"id": "ff6dc3b4f3faa556634a681c9b1fa8d5", "destinationnumber": "89031112233", "isenabled": true});
    assert_eq!(
        h.request(conn, "saveredirectrules", json!({"redirectrule": rule}))[1]["result"],
        1
    );
    let rules = h.request(conn, "getredirectrules", json!({}));
    assert_eq!(rules[1]["redirectrules"][0]["destinationnumber"], "89031112233");
    h.request(
        conn,
        "deleteredirectrules",
        json!({"ids": ["ff6dc3b4f3faa556634a681c9b1fa8d5"]}),
    );
    assert_eq!(
        h.request(conn, "getredirectrules", json!({}))[1]["redirectrules"],
        json!([])
    );
}

#[test]
fn web_phone_relogin_with_digests_and_session_keeps_the_session() {
    let mut h = Harness::quiet();
    let first = h.open();
    let session = h.password_login(first, "op1", "demo")[1]["sessionid"].clone();
    let second = h.open();
    let digests = oktell::login::PasswordDigests::of("demo");
    let reply = h.request(
        second,
        "login",
        json!({"userlogin": "op1", "Password": digests.typed, "password": digests.lowered, "sessionid": session, "showid": 1, "usewebrtc": true}),
    );
    assert_eq!(reply[1]["result"], 1);
    assert_eq!(reply[1]["sessionid"], session);
}
