//! Framing rules: qid echo, multipart, subscriptions, redirect, random drops (PROTOCOL.md §1).

use base64::Engine as _;
use serde_json::{Value, json};
use sim::World;
use sim::control::Command;

use crate::harness::Harness;

/// oktell.js's reassembly: each part base64- and UTF-8-decoded on its own, then concatenated.
fn reassemble(parts: &[Value]) -> Value {
    let mut text = String::new();
    let id = &parts[0][1]["message-id"];
    for (index, part) in parts.iter().enumerate() {
        assert_eq!(part[0], "multipart");
        assert_eq!(&part[1]["message-id"], id);
        assert_eq!(part[1]["packetnumber"], index);
        assert_eq!(part[1]["packetcount"], parts.len());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(part[1]["content"].as_str().unwrap())
            .unwrap();
        text.push_str(&String::from_utf8(bytes).expect("each part is whole UTF-8"));
    }
    serde_json::from_str(&text).unwrap()
}

#[test]
fn replies_echo_qid_and_are_named_after_the_method() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    h.send_raw(
        conn,
        r#"["getuserstate",{"userlogin":"op1","qid":"0.05843231864852620"}]"#,
    );
    let frames = h.frames(conn);
    assert_eq!(frames[0][0], "getuserstateresult");
    // The identical string, trailing zero included: a number would have lost it.
    assert_eq!(frames[0][1]["qid"], "0.05843231864852620");
}

#[test]
fn malformed_frames_are_ignored_without_reply() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    for text in [
        "nonsense",
        "{}",
        r#"["getuserstate"]"#,
        r#"["getuserstate",5]"#,
        r#"[1,{}]"#,
    ] {
        h.send_raw(conn, text);
    }
    assert!(h.frames(conn).is_empty());
    assert!(!h.closed.contains(&conn));
}

#[test]
fn large_replies_are_sent_as_ordered_multipart_with_cyrillic_intact() {
    let mut world = World::default_world();
    world.server.multipart_threshold = 200;
    let mut h = Harness::new(world);
    let conn = h.login("op1", "demo");
    h.send_raw(
        conn,
        r#"["getpbxnumbers",{"userlogin":"op1","mode":"full","qid":"0.37"}]"#,
    );
    let parts = h.frames(conn);
    assert!(parts.len() > 3, "{} parts", parts.len());
    let message = reassemble(&parts);
    assert_eq!(message[0], "getpbxnumbersresult");
    assert_eq!(message[1]["qid"], "0.37");
    let numbers = message[1]["numbers"].as_array().unwrap();
    assert!(numbers.iter().any(|n| n["caption"] == "Анна Смирнова"));
}

#[test]
fn each_multipart_message_gets_a_fresh_id() {
    let mut world = World::default_world();
    world.server.multipart_threshold = 200;
    let mut h = Harness::new(world);
    let conn = h.login("op1", "demo");
    h.send_raw(conn, r#"["getpbxnumbers",{"mode":"full","qid":"1"}]"#);
    h.send_raw(conn, r#"["getpbxnumbers",{"mode":"full","qid":"2"}]"#);
    let frames = h.frames(conn);
    let ids: std::collections::BTreeSet<String> = frames
        .iter()
        .map(|f| f[1]["message-id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
}

#[test]
fn events_are_never_multipart() {
    let mut world = World::default_world();
    world.server.multipart_threshold = 10;
    let mut h = Harness::new(world);
    let conn = h.open();
    h.send_raw(conn, r#"["ping",{"qid":"1"}]"#);
    h.frames(conn);
    let digests = oktell::login::PasswordDigests::of("demo");
    let login =
        json!(["login", {"userlogin": "op1", "Password": digests.typed, "password": digests.lowered, "qid": "1"}]);
    h.send_raw(conn, &login.to_string());
    assert_eq!(
        reassemble(&h.frames(conn))[1]["result"],
        1,
        "even the login reply is split"
    );
    h.send_raw(
        conn,
        r#"["subscribeevent",{"eventmethod":["pbxnumberstatechanged"],"qid":"2"}]"#,
    );
    h.frames(conn);
    h.control(Command::IncomingCall {
        from: "89161234567".into(),
        to: "102".into(),
    });
    let frames = h.frames(conn);
    assert_eq!(
        frames,
        [json!(["pbxnumberstatechanged", {"numbers": [{"num": "102", "numstateid": 5}]}])]
    );
}

#[test]
fn multipart_threshold_zero_never_splits() {
    let mut world = World::default_world();
    world.server.multipart_threshold = 0;
    let mut h = Harness::new(world);
    let conn = h.login("op1", "demo");
    let reply = h.request(conn, "getpbxnumbers", json!({"mode": "full"}));
    assert_eq!(reply[0], "getpbxnumbersresult");
}

#[test]
fn events_go_only_to_subscribed_sockets_of_the_addressed_user() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    let unsubscribed = h.open();
    h.raw_request(unsubscribed, "ping", Default::default());
    h.password_login(unsubscribed, "op1", "demo");
    h.incoming("89161234567", "101");
    assert_eq!(
        h.events(op1),
        ["userstatechanged", "pbxnumberstatechanged", "phoneevent_ringstarted"]
    );
    // Another user hears only the public number state.
    assert_eq!(h.events(op2), ["pbxnumberstatechanged"]);
    assert!(h.frames(unsubscribed).is_empty());
}

#[test]
fn anonymous_sockets_receive_no_events() {
    let mut h = Harness::quiet();
    let conn = h.open();
    h.send_raw(
        conn,
        r#"["subscribeevent",{"eventmethod":["pbxnumberstatechanged"],"qid":"1"}]"#,
    );
    assert_eq!(h.frames(conn)[0][1]["result"], 0);
    h.incoming("89161234567", "101");
    assert!(h.frames(conn).is_empty());
}

#[test]
fn custom_events_reach_recipients_and_the_sender_only_with_sendback() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    let userid = h.request(op1, "getmyuserinfo", json!({}))[1]["userid"].clone();
    h.request(
        op1,
        "triggercustomevent",
        json!({"userid": userid, "eventname": "hello", "eventparam": {"a": 1}, "recipients": false, "sendback": "0"}),
    );
    assert!(h.frames(op1).is_empty());
    assert_eq!(
        h.frames(op2),
        [json!(["customevent", {"eventname": "hello", "eventparam": {"a": 1}}])]
    );
    h.request(
        op1,
        "triggercustomevent",
        json!({"eventname": "again", "eventparam": null, "recipients": [userid], "sendback": 1}),
    );
    assert_eq!(h.events(op1), ["customevent"]);
    assert!(h.frames(op2).is_empty());
}

#[test]
fn redirect_answers_the_handshake_ping_and_closes() {
    let mut world = World::default_world();
    world.server.websocket_redirect = true;
    let mut h = Harness::new(world);
    let conn = h.open();
    h.send_raw(conn, r#"["ping",{"qid":"0.1"}]"#);
    assert_eq!(h.frames(conn), [json!(["websocketredirect", {}])]);
    assert!(h.closed.contains(&conn));
}

#[test]
fn random_drops_are_seeded_and_happen() {
    let run = |probability: f64| {
        let mut world = World::default_world();
        world.server.drop_probability = probability;
        let mut h = Harness::new(world);
        let conn = h.open();
        let mut survived = 0;
        for i in 0..50 {
            if h.closed.contains(&conn) {
                break;
            }
            h.send_raw(conn, &format!(r#"["ping",{{"qid":"{i}"}}]"#));
            survived += 1;
        }
        survived
    };
    assert_eq!(run(0.0), 50);
    assert_eq!(run(1.0), 1);
    let a = run(0.2);
    assert!(a < 50);
    assert_eq!(a, run(0.2), "same seed, same drop point");
}

#[test]
fn dropped_connections_get_no_more_frames() {
    let mut h = Harness::quiet();
    let conn = h.login("op1", "demo");
    h.control(Command::DropConnections);
    assert!(h.closed.contains(&conn));
    h.incoming("89161234567", "101");
    assert!(h.frames(conn).is_empty());
}
