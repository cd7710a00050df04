//! The Creatio stand-in core without sockets: requests as data, a virtual clock.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod call_journal_and_history;
mod filter_parser;
mod hostile;
mod odata_rules;
mod sessions;

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use sim::World;
use sim::creatio::{Creatio, CrmRequest, CrmResponse, Reply};

#[derive(Debug)]
pub struct Harness {
    pub crm: Creatio,
    pub now: Instant,
    pub cookies: Vec<(String, String)>,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::with_world(World::default_world())
    }
}

impl Harness {
    pub fn new() -> Self {
        Harness::default()
    }

    pub fn with_world(world: World) -> Self {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let crm = Creatio::new(&world.creatio, 7, now, wall).unwrap();
        Harness {
            crm,
            now,
            cookies: Vec::new(),
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    pub fn send(&mut self, request: CrmRequest) -> CrmResponse {
        match self.crm.handle_request(self.now, &request) {
            Reply::Respond { response, .. } => response,
            Reply::Hangup => panic!("the stand-in hung up on {request:?}"),
        }
    }

    pub fn login(&mut self, user: &str, password: &str) -> CrmResponse {
        let mut request = CrmRequest::new("POST", "/ServiceModel/AuthService.svc/Login");
        request.headers.push(("Content-Type".into(), "application/json".into()));
        request.body = serde_json::json!({"UserName": user, "UserPassword": password, "TimeZoneOffset": -180})
            .to_string()
            .into_bytes();
        let response = self.send(request);
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap();
                let (n, v) = pair.split_once('=').unwrap();
                self.cookies.retain(|(k, _)| k != n);
                self.cookies.push((n.to_owned(), v.to_owned()));
            }
        }
        response
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// A request carrying the session cookies and the CSRF header, as real clients send it.
    pub fn authed(&self, method: &str, target: &str, body: Option<Value>) -> CrmRequest {
        let mut request = CrmRequest::new(method, target);
        let cookie = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        request.headers.push(("Cookie".into(), cookie));
        if let Some(csrf) = self.cookie("BPMCSRF") {
            request.headers.push(("BPMCSRF".into(), csrf));
        }
        request.headers.push(("Host".into(), "crm.test".into()));
        if let Some(body) = body {
            request.headers.push((
                "Content-Type".into(),
                "application/json; charset=utf-8; IEEE754Compatible=true".into(),
            ));
            request.body = body.to_string().into_bytes();
        }
        request
    }

    pub fn get_json(&mut self, target: &str) -> (u16, Value) {
        let response = self.send(self.authed("GET", target, None));
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, body)
    }
}

pub fn json(response: &CrmResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}
