//! The operator's Oktell session next to the phone: a raw WebSocket client speaking as
//! oktell.js does, to watch events and send PBX commands.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sim::RunningSim;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::PATIENCE;

pub struct Session {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    qid: u32,
    /// The `loginresult` body.
    pub login: Value,
}

impl Session {
    /// Logs `login` in (password `demo`) and subscribes to the phone events.
    pub async fn open(sim: &RunningSim, login: &str, usewebrtc: bool) -> Session {
        let mut request = sim.endpoints().oktell.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "json".parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut session = Session {
            ws,
            qid: 0,
            login: Value::Null,
        };
        session.call("ping", json!({})).await;
        let digests = oktell::login::PasswordDigests::of("demo");
        let reply = session
            .call(
                "login",
                json!({"userlogin": login, "Password": digests.typed, "password": digests.lowered,
                       "showid": 1, "usewebrtc": usewebrtc}),
            )
            .await;
        assert_eq!(reply[1]["result"], 1, "{reply}");
        session.login = reply[1].clone();
        let events = [
            "phoneevent_ringstarted",
            "phoneevent_ringstopped",
            "phoneevent_commstarted",
            "phoneevent_commstopped",
            "flashstatechanged",
        ];
        session.call("subscribeevent", json!({ "eventmethod": events })).await;
        session
    }

    /// Sends a request and returns its reply frame, skipping events.
    pub async fn call(&mut self, name: &str, mut body: Value) -> Value {
        self.qid += 1;
        let qid = format!("t{}", self.qid);
        body["qid"] = qid.clone().into();
        self.ws
            .send(Message::text(json!([name, body]).to_string()))
            .await
            .unwrap();
        loop {
            let frame = self.next().await;
            if frame[1]["qid"] == qid.as_str() {
                return frame;
            }
        }
    }

    /// Waits for an event by name, skipping everything else.
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame[0] == name {
                return frame;
            }
        }
    }

    async fn next(&mut self) -> Value {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("Oktell server went silent")
            {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => panic!("Oktell connection closed"),
                Some(Ok(_)) => {}
            }
        }
    }
}
