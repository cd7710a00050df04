//! Hostile input: random methods with fields of random types never panic the server, and every
//! frame it sends is still `[name, object]` (the harness checks that on every frame).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sim::World;
use sim::control::Command;

use crate::harness::Harness;

const METHODS: [&str; 34] = [
    "ping",
    "login",
    "logout",
    "subscribeevent",
    "getversion",
    "getmyuserinfo",
    "cc_getlunchtypes",
    "getuserstate",
    "setuserstate",
    "getredirectrules",
    "saveredirectrules",
    "deleteredirectrules",
    "getpbxnumbers",
    "getallusernumbers",
    "getextendedlineinfo",
    "getflashedabonentinfo",
    "getcurrentqueue",
    "pbxautocallstart",
    "pbxautocallabort",
    "pbxanswercall",
    "pbxdeclinecall",
    "pbxabortcall",
    "pbxmakeflash",
    "pbxmaketransfer",
    "buildconferencefromcommutation",
    "checkcanconnecttogathertoconference",
    "connecttogathertoconference",
    "createnewconference",
    "invitetoconference",
    "getconferenceinfo",
    "confdisconnectcompetitor",
    "exitconference",
    "triggercustomevent",
    "unknownmethod",
];

const FIELDS: [&str; 16] = [
    "qid",
    "number",
    "mode",
    "transferto",
    "eventmethod",
    "userstateid",
    "lunchreasonid",
    "oncallcenter",
    "sessionid",
    "competitors",
    "conference",
    "conferenceid",
    "competitor",
    "recipients",
    "redirectrule",
    "ids",
];

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 1 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(rng.random_range(-1_000_000i64..1_000_000)),
        3 => json!(["101", "102", "84951234567", "", "ж", "😀", "1e999"][rng.random_range(0..7)]),
        4 => json!(rng.random::<f64>() * 1e12),
        5 => json!(["switch", "abort", "next", "user", "abonent"][rng.random_range(0..5)]),
        6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.random_range(0..4) {
                let key = FIELDS[rng.random_range(0..FIELDS.len())];
                map.insert(key.to_owned(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

#[test]
fn random_requests_never_break_the_server() {
    let mut world = World::default_world();
    world.server.multipart_threshold = 300;
    let mut h = Harness::new(world);
    let mut rng = StdRng::seed_from_u64(0x0c7e11);
    let mut conn = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    for round in 0..3_000 {
        if h.closed.contains(&conn) {
            h.sim.handle_closed(conn);
            conn = h.login("op1", "demo");
        }
        let method = METHODS[rng.random_range(0..METHODS.len())];
        let mut body = serde_json::Map::new();
        for _ in 0..rng.random_range(0..5) {
            let key = FIELDS[rng.random_range(0..FIELDS.len())];
            body.insert(key.to_owned(), random_value(&mut rng, 0));
        }
        let text = json!([method, body]).to_string();
        h.send_raw(conn, &text);
        if round % 10 == 0 {
            let half: String = text.chars().take(text.chars().count() / 2).collect();
            h.send_raw(conn, &half);
        }
        if round % 97 == 0 {
            let _ = h.sim.handle_control(
                Command::IncomingCall {
                    from: "89161234567".into(),
                    to: "101".into(),
                },
                h.now,
            );
        }
        h.advance(rng.random_range(0..2_000));
        h.frames(conn);
        h.frames(op2);
    }
    // Still serving afterwards.
    let line = h.line(op2);
    assert!(line["linestatestr"].is_string());
}
