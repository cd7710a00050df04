//! Feeds arbitrary text to the frame decoder and to a logged-in session.
//! Any panic is the session's bug, never the input's fault.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use oktell::{Action, Config, Session};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = oktell::msg::Frame::decode(text);
    let now = Instant::now();
    let Some((mut session, link)) = logged_in(now) else {
        return;
    };
    for line in text.lines() {
        let _ = session.handle_frame(now, link, line);
    }
    session.handle_timeout(now + Duration::from_secs(60));
    while session.poll_event().is_some() || session.poll_transmit().is_some() {}
});

/// A session past login, driven through the public API only.
fn logged_in(now: Instant) -> Option<(Session, oktell::SocketId)> {
    let mut config = Config::new(vec!["ws://127.0.0.1:4066".into()], "op1");
    config.password = Some("x".into());
    let mut session = Session::new(config, now).ok()?;
    let Some(Action::Open { socket, .. }) = session.poll_action() else {
        return None;
    };
    session.handle_socket_opened(now, socket);
    for _ in 0..64 {
        let Some(t) = session.poll_transmit() else {
            break;
        };
        let (name, qid) = name_and_qid(&t.text)?;
        let reply = match name.as_str() {
            "ping" => format!(r#"["pong",{{"qid":"{}"}}]"#, qid),
            "login" => format!(
                r#"["loginresult",{{"qid":"{}","result":1,"userid":"u1","sessionid":"s1"}}]"#,
                qid
            ),
            "getversion" => format!(
                r#"["getversionresult",{{"qid":"{}","result":1,"version":{{"dated":161116}}}}]"#,
                qid
            ),
            _ => format!(r#"["{}result",{{"qid":"{}","result":1,"abonent":{{}}}}]"#, name, qid),
        };
        session.handle_frame(now, socket, &reply).ok()?;
    }
    Some((session, socket))
}

/// The name and qid of one of our own frames.
fn name_and_qid(text: &str) -> Option<(String, String)> {
    let frame = oktell::msg::Frame::decode(text).ok()?;
    let qid = frame.qid()?;
    Some((frame.name, qid))
}
