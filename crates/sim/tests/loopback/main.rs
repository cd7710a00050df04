//! The tokio driver over real loopback sockets: a raw tokio-tungstenite client speaking exactly
//! as oktell.js does, and the HTTP control API.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sim::world::Pickup;
use sim::{RunningSim, SimOptions, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(5);

fn manual_world() -> World {
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = None;
    for subscriber in &mut world.subscribers {
        subscriber.pickup = Pickup::Manual;
    }
    world
}

async fn start(world: World) -> RunningSim {
    sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world,
        seed: 11,
    })
    .await
    .unwrap()
}

/// Opens a socket as `new WebSocket(url, 'json')` does and checks the sub-protocol answer.
async fn connect(sim: &RunningSim) -> Ws {
    let mut request = sim.endpoints().oktell.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "json".parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers().get("sec-websocket-protocol").unwrap(), "json");
    ws
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// Next text frame; `None` when the server closed the socket.
async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("server went silent")
        {
            Some(Ok(Message::Text(text))) => {
                return Some(serde_json::from_str(text.as_str()).unwrap());
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Sends a request and returns its reply, skipping events.
async fn call(ws: &mut Ws, name: &str, qid: &str, mut body: Value) -> Value {
    body["qid"] = qid.into();
    send(ws, json!([name, body])).await;
    loop {
        let frame = next(ws).await.expect("closed while waiting for a reply");
        if frame[1]["qid"] == qid {
            return frame;
        }
    }
}

/// Waits for an event by name, skipping everything else.
async fn event(ws: &mut Ws, name: &str) -> Value {
    loop {
        let frame = next(ws)
            .await
            .unwrap_or_else(|| panic!("closed while waiting for {name}"));
        if frame[0] == name {
            return frame;
        }
    }
}

/// The oktell.js post-login sequence of PROTOCOL.md §2.6, returning the session id.
async fn log_in(ws: &mut Ws, login: &str) -> String {
    let pong = call(ws, "ping", "0.0584", json!({})).await;
    assert_eq!(pong[0], "pong");
    let digests = oktell::login::PasswordDigests::of("demo");
    let reply = call(
        ws,
        "login",
        "0.9534383848297019",
        json!({"userlogin": login, "Password": digests.typed, "password": digests.lowered, "showid": 1, "usewebrtc": false}),
    )
    .await;
    assert_eq!(reply[0], "loginresult");
    assert_eq!(reply[1]["result"], 1);
    let session = reply[1]["sessionid"].as_str().unwrap().to_owned();
    let u = |extra: Value| {
        let mut body = json!({"userlogin": login});
        if let Value::Object(extra) = extra {
            body.as_object_mut().unwrap().extend(extra);
        }
        body
    };
    assert_eq!(
        call(ws, "getcurrentqueue", "q2", u(json!({}))).await[1]["queue"],
        json!([])
    );
    for (qid, event) in [("q3", "customevent"), ("q4", "userstatechanged")] {
        call(ws, "subscribeevent", qid, json!({"eventmethod": [event]})).await;
    }
    let version = call(ws, "getversion", "q5", u(json!({"showalloweddbstoredprocs": 1}))).await;
    assert!(version[1]["version"]["dated"].as_u64().unwrap() >= 150_416);
    let me = call(ws, "getmyuserinfo", "q6", u(json!({}))).await;
    assert_eq!(me[1]["result"], 1);
    call(ws, "cc_getlunchtypes", "q7", u(json!({}))).await;
    call(ws, "getuserstate", "q8", u(json!({}))).await;
    call(ws, "getredirectrules", "q9", u(json!({}))).await;
    call(ws, "getpbxnumbers", "q10", u(json!({"mode": "full"}))).await;
    call(
        ws,
        "subscribeevent",
        "q11",
        json!({"eventmethod": ["pbxnumberstatechanged"]}),
    )
    .await;
    call(ws, "getallusernumbers", "q12", u(json!({"fillsubordinates": true}))).await;
    call(ws, "getalluserphotolink", "q13", u(json!({"mode": "page"}))).await;
    let line = call(ws, "getextendedlineinfo", "q14", u(json!({}))).await;
    assert_eq!(line[1]["abonent"], json!({}));
    for (i, event) in [
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
    ]
    .into_iter()
    .enumerate()
    {
        call(ws, "subscribeevent", &format!("s{i}"), json!({"eventmethod": [event]})).await;
    }
    session
}

/// A minimal HTTP/1.1 client for the control API: `(status, json body)`.
async fn control(sim: &RunningSim, method: &str, path: &str, body: &str) -> (u16, Value) {
    let address = sim.endpoints().control.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    let status = response[9..12].parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn endpoints_name_loopback_urls() {
    let sim = start(World::default_world()).await;
    assert!(sim.endpoints().oktell.starts_with("ws://127.0.0.1:"));
    assert!(sim.endpoints().control.starts_with("http://127.0.0.1:"));
    sim.shutdown().await;
}

#[tokio::test]
async fn oktell_js_login_sequence_and_incoming_call_from_the_control_api() {
    let sim = start(manual_world()).await;
    let mut ws = connect(&sim).await;
    log_in(&mut ws, "op1").await;

    let (status, created) = control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#).await;
    assert_eq!(status, 200, "{created}");
    let ring = event(&mut ws, "phoneevent_ringstarted").await;
    assert_eq!(ring[1]["callerid"], "89161234567");
    let line = call(&mut ws, "getextendedlineinfo", "r1", json!({"userlogin": "op1"})).await;
    assert_eq!(line[1]["abonent"]["isringing"], true);

    let reply = call(&mut ws, "pbxanswercall", "r2", json!({"userlogin": "op1"})).await;
    assert_eq!(reply[0], "pbxanswercallresult");
    event(&mut ws, "phoneevent_commstarted").await;

    let id = created["call"].as_u64().unwrap();
    let (status, _) = control(&sim, "POST", &format!("/calls/{id}/hangup"), "").await;
    assert_eq!(status, 200);
    event(&mut ws, "phoneevent_commstopped").await;
    let line = call(&mut ws, "getextendedlineinfo", "r3", json!({"userlogin": "op1"})).await;
    assert_eq!(line[1]["abonent"], json!({}));
    sim.shutdown().await;
}

#[tokio::test]
async fn dropping_connections_closes_the_socket_and_the_session_resumes() {
    let sim = start(manual_world()).await;
    let mut ws = connect(&sim).await;
    let session = log_in(&mut ws, "op1").await;
    let (status, answer) = control(&sim, "POST", "/connections/drop", "").await;
    assert_eq!((status, answer["dropped"].as_u64()), (200, Some(1)));
    while next(&mut ws).await.is_some() {}

    let mut again = connect(&sim).await;
    assert_eq!(call(&mut again, "ping", "p", json!({})).await[0], "pong");
    let reply = call(
        &mut again,
        "login",
        "l",
        json!({"userlogin": "op1", "sessionid": session, "showid": 1, "usewebrtc": false}),
    )
    .await;
    assert_eq!(reply[1]["result"], 1, "{reply}");
    sim.shutdown().await;
}

#[tokio::test]
async fn logout_is_answered_and_the_server_closes_the_socket() {
    let sim = start(World::default_world()).await;
    let mut ws = connect(&sim).await;
    log_in(&mut ws, "op1").await;
    let reply = call(&mut ws, "logout", "0.4424", json!({"userlogin": "op1"})).await;
    assert_eq!(reply, json!(["logoutresult", {"qid": "0.4424", "result": 1}]));
    send(
        &mut ws,
        json!(["getextendedlineinfo", {"userlogin": "op1", "qid": "late"}]),
    )
    .await;
    assert_eq!(next(&mut ws).await, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_changes_another_users_state_and_reports_the_world() {
    let sim = start(World::default_world()).await;
    let mut ws = connect(&sim).await;
    log_in(&mut ws, "op1").await;
    let (status, state) = control(&sim, "POST", "/users/op2/state", r#"{"userstateid":3}"#).await;
    assert_eq!((status, state["userstateid"].as_u64()), (200, Some(3)));
    let change = event(&mut ws, "pbxnumberstatechanged").await;
    assert_eq!(change[1]["numbers"], json!([{"num": "102", "numstateid": 3}]));

    let (status, world) = control(&sim, "GET", "/state", "").await;
    assert_eq!(status, 200);
    let op1 = world["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "op1")
        .unwrap();
    assert_eq!(op1["connections"], 1);
    assert_eq!(world["connections"][0]["login"], "op1");

    assert_eq!(
        control(&sim, "POST", "/users/nobody/state", r#"{"userstateid":3}"#)
            .await
            .0,
        404
    );
    assert_eq!(control(&sim, "POST", "/calls/99/answer", "").await.0, 404);
    assert_eq!(control(&sim, "POST", "/calls", "{").await.0, 400);
    assert_eq!(control(&sim, "GET", "/nothing", "").await.0, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn redirect_world_sends_websocketredirect_and_closes() {
    let mut world = World::default_world();
    world.server.websocket_redirect = true;
    let sim = start(world).await;
    let mut ws = connect(&sim).await;
    send(&mut ws, json!(["ping", {"qid": "Q"}])).await;
    assert_eq!(next(&mut ws).await, Some(json!(["websocketredirect", {}])));
    assert_eq!(next(&mut ws).await, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_open_connections() {
    let sim = start(World::default_world()).await;
    let mut ws = connect(&sim).await;
    log_in(&mut ws, "op2").await;
    sim.shutdown().await;
    assert_eq!(next(&mut ws).await, None);
}

#[tokio::test]
async fn outgoing_call_follows_the_world_clock_over_real_time() {
    // §6a with short real-time delays: the driver must wake up for the PBX's deadlines.
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = Some(50);
    world.timing.answer_after_ms = 100;
    let sim = start(world).await;
    let mut ws = connect(&sim).await;
    log_in(&mut ws, "op1").await;
    let u = json!({"userlogin": "op1", "sequence": "user", "number": "84951234567"});
    let reply = call(&mut ws, "pbxautocallstart", "0.5226786025210892", u).await;
    assert_eq!(reply[0], "pbxautocallstartresult");
    event(&mut ws, "phoneevent_acmcallstarted").await;
    event(&mut ws, "phoneevent_ringstopped").await;
    event(&mut ws, "phoneevent_commstarted").await;
    let line = call(&mut ws, "getextendedlineinfo", "r", json!({"userlogin": "op1"})).await;
    assert_eq!(line[1]["linestatestr"], "lsCommutated");
    assert_eq!(line[1]["abonent"]["number"], "84951234567");

    call(
        &mut ws,
        "pbxmakeflash",
        "h",
        json!({"userlogin": "op1", "mode": "switch"}),
    )
    .await;
    event(&mut ws, "flashstatechanged").await;
    let line = call(&mut ws, "getextendedlineinfo", "r2", json!({"userlogin": "op1"})).await;
    assert_eq!(line[1]["isflashing"], true);
    call(&mut ws, "pbxabortcall", "e", json!({"userlogin": "op1"})).await;
    let state = event(&mut ws, "userstatechanged").await;
    assert_eq!(state[1]["userstateid"], 1);
    sim.shutdown().await;
}
