//! Whatever Creatio (or something pretending to be it) sends, the core answers with values,
//! never a panic, and the outbox never loses a record.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use creatio::auth::{CookieJar, Credentials, ExpirySignal, Secret};
use creatio::calls::{self, CallTimeline, Direction};
use creatio::card::CardUrl;
use creatio::http::{HttpResponse, Method, TransportError};
use creatio::identify::{IdentifyConfig, Lookup, LookupPart, NumberLengths, SearchKey, lengths_from_settings};
use creatio::outbox::{Outbox, OutboxConfig};
use creatio::session::{ApiRequest, RequestFailure, Session};
use creatio::site::{Platform, PlatformChoice, Site};
use creatio::wire::{CreatioTime, ODataError};

/// A small deterministic generator, so a failure is reproducible from its seed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = (self.next() % 64) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn body(&mut self) -> Vec<u8> {
        match self.next() % 3 {
            0 => self.bytes(),
            _ => self.pick(BODIES).as_bytes().to_vec(),
        }
    }

    fn response(&mut self) -> HttpResponse {
        let status = [
            0u16, 100, 200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 500, 503, 999,
        ][(self.next() % 15) as usize];
        let mut response = HttpResponse::new(status).with_body(self.body());
        for _ in 0..self.next() % 3 {
            let name = self.pick(&["Set-Cookie", "Location", "Content-Type", "set-cookie"]);
            let value = self.pick(HEADER_VALUES);
            response = response.with_header(name, value);
        }
        response
    }
}

const BODIES: &[&str] = &[
    "",
    "null",
    "[]",
    "{}",
    r#"{"Code":0}"#,
    r#"{"Code":"0"}"#,
    r#"{"Code":1,"Message":null,"Exception":"boom"}"#,
    r#"{"Code":99999999999999999999}"#,
    r#"{"value":null}"#,
    r#"{"value":[{"Id":"not-a-guid"}]}"#,
    r#"{"value":[{"Id":"00000000-0000-4000-8000-000000000001","Contact":42}]}"#,
    r#"{"value":[{"Id":"00000000-0000-4000-8000-000000000001","ContactId":"00000000-0000-0000-0000-000000000000"}]}"#,
    r#"{"value":[{"IntegerValue":-5,"SysSettings":{"Code":"SearchNumberLength"}}]}"#,
    r#"{"value":[{"IntegerValue":9223372036854775807,"SysSettings":{"Code":"InternalNumberLength"}}]}"#,
    r#"{"error":{"message":{"lang":"en","value":"x"},"innererror":{"internalexception":{"internalexception":null}}}}"#,
    r#"{"access_token":"","expires_in":18446744073709551615,"token_type":"mac"}"#,
    r#"{"access_token":"t","expires_in":0}"#,
    "<html><body>Login</body></html>",
    "\u{feff}{\"Code\":0}",
    "{\"Code\":0,\"Message\":\"\u{0}\"}",
];

const HEADER_VALUES: &[&str] = &[
    "",
    "=",
    ";;;",
    ".ASPXAUTH=",
    ".ASPXAUTH=a; path=/",
    "BPMCSRF=c; Path=relative; Max-Age=abc",
    "BPMCSRF=c; Max-Age=-1",
    "é=ü; pAth=/ñ; expires=Mon, 11-Oct-1999",
    "UserName=x; expires=Thu, 01 Jan 99999 00:00:00 GMT",
    "/Login/NuiLogin.aspx",
    "text/html",
    "application/json",
];

fn site() -> Site {
    Site::parse("https://crm.example.com/app").unwrap()
}

#[test]
fn session_survives_any_answer_to_login_probe_or_request() {
    for seed in 0..300 {
        let mut noise = Noise(seed);
        let now = Instant::now();
        let credentials = if seed.is_multiple_of(2) {
            Credentials::Forms {
                user_name: "operator".into(),
                password: Secret::new("pw"),
            }
        } else {
            Credentials::ClientCredentials {
                token_url: "https://crm-is.example.com/connect/token".into(),
                client_id: "c".into(),
                client_secret: Secret::new("s"),
            }
        };
        let mut session: Session<u32> = Session::new(site(), PlatformChoice::Detect, credentials);
        let mut submitted = 0;
        let mut concluded = 0;
        for step in 0..20u32 {
            if step.is_multiple_of(4) {
                session.submit(
                    now,
                    step,
                    ApiRequest {
                        method: Method::Get,
                        resource: "Contact".into(),
                        body: None,
                    },
                );
                submitted += 1;
            }
            while let Some(request) = session.poll_transmit() {
                if noise.next().is_multiple_of(5) {
                    session.handle_transport_error(now, request.id, TransportError::Timeout);
                } else {
                    session.handle_response(now, request.id, noise.response());
                }
            }
            while let Some(event) = session.poll_event() {
                if matches!(
                    event,
                    creatio::session::SessionEvent::Response { .. } | creatio::session::SessionEvent::Failed { .. }
                ) {
                    concluded += 1;
                }
            }
        }
        assert_eq!(submitted, concluded, "seed {seed}: every request gets an outcome");
    }
}

#[test]
fn parsers_return_values_for_garbage() {
    let mut noise = Noise(7);
    let config = IdentifyConfig::default();
    for _ in 0..2000 {
        let response = noise.response();
        let mut lookup = Lookup::new(SearchKey::External("7654321".into()), &config);
        let _ = lookup.handle(LookupPart::Contacts, &response);
        let _ = lookup.handle(LookupPart::Accounts, &response);
        let _ = lookup.result();
        let _ = lengths_from_settings(&response);
        let _ = ODataError::parse(&response.body);
        let _ = ExpirySignal::of(&response);
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let _ = text.parse::<CreatioTime>();
        let _ = SearchKey::from_number(&text, NumberLengths::default());
        let _ = CardUrl::checked(&site(), &text);
        let _ = Site::parse(&text);
        let mut jar = CookieJar::default();
        jar.store(&text, "/");
        for value in HEADER_VALUES {
            jar.store(value, "/app");
        }
        let _ = jar.header_for(&text);
    }
}

#[test]
fn outbox_keeps_every_record_whatever_comes_back() {
    for seed in 0..100 {
        let mut noise = Noise(seed);
        let mut now = Instant::now();
        let mut outbox = Outbox::new(OutboxConfig {
            seed,
            ..OutboxConfig::default()
        });
        let mut enqueued = 0;
        let mut delivered = 0;
        for n in 0..5u8 {
            let call = CallTimeline {
                record_id: calls::new_record_id([n; 16]),
                integration_id: n.to_string(),
                caption: String::new(),
                direction: Direction::Incoming,
                caller_id: "1".into(),
                called_id: "2".into(),
                started: "2026-11-23T10:00:00Z".parse().unwrap(),
                answered: None,
                holds: vec![],
                ended: Some("2026-11-23T10:00:10Z".parse().unwrap()),
            };
            outbox.enqueue(calls::created(&call));
            outbox.enqueue(calls::ended(&call).unwrap());
            enqueued += 2;
        }
        for _ in 0..200 {
            while let Some(out) = outbox.poll_request(now) {
                match noise.next() % 6 {
                    0 => outbox.handle_failure(now, out.id, &RequestFailure::Transport(TransportError::Timeout)),
                    _ => outbox.handle_response(now, out.id, &noise.response()),
                }
            }
            while let Some(event) = outbox.poll_event() {
                if matches!(event, creatio::outbox::OutboxEvent::Delivered { .. }) {
                    delivered += 1;
                }
            }
            now = outbox
                .poll_timeout()
                .map_or(now + Duration::from_secs(1), |at| at.max(now));
        }
        assert_eq!(
            outbox.snapshot().len() + delivered,
            enqueued,
            "seed {seed}: stored + delivered = enqueued"
        );
    }
}

#[test]
fn platform_is_known_after_detection_or_configuration() {
    let session: Session<u32> = Session::new(
        site(),
        PlatformChoice::Known(Platform::NetCore),
        Credentials::Forms {
            user_name: "u".into(),
            password: Secret::new("p"),
        },
    );
    assert_eq!(session.platform(), Some(Platform::NetCore));
}
