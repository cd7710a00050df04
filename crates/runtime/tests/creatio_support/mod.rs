//! A scripted HTTP server on 127.0.0.1 that plays just enough of Creatio for the driver's transport tests: forms
//! login with cookies and the CSRF header, the OData probe, `Call` create/patch/get with client-chosen ids, the
//! number-length settings and a contact lookup. It is a transport test double, not a Creatio stand-in: the
//! scripts (lose an answer, hold creates, go down) are what the tests are about.

#![allow(dead_code, reason = "each test file uses part of the server")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failure here is a failed test"
)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

pub const USER: &str = "operator1";
pub const PASSWORD: &str = "correct horse";

/// A contact the lookup finds.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub number: String,
}

/// What the server has seen and holds; tests read and script it.
#[derive(Debug, Default)]
pub struct World {
    /// `Call` records by `Id`, with every column written.
    pub calls: BTreeMap<Uuid, serde_json::Map<String, Value>>,
    /// Every `POST Call` received, by the `Id` in its body, in order.
    pub posts: Vec<Uuid>,
    /// Every `PATCH Call(..)` received.
    pub patches: Vec<Uuid>,
    /// Logins received.
    pub logins: usize,
    /// Contact lookups received.
    pub lookups: usize,
    /// The next creates are stored but answered only after the client has given up.
    pub lose_create_answers: usize,
    /// Creates are stored and never answered.
    pub hold_creates: bool,
    /// The user lacks the "Access to OData" right: every OData request gets the HTML error page.
    pub odata_forbidden: bool,
    /// Creates are refused with HTTP 400 and this message.
    pub refuse_creates: Option<String>,
    pub people: Vec<Person>,
    sessions: Vec<String>,
}

pub struct FakeCreatio {
    addr: SocketAddr,
    world: Arc<Mutex<World>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl FakeCreatio {
    pub async fn start() -> FakeCreatio {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let world = Arc::new(Mutex::new(World::default()));
        let accept = tokio::spawn(accept_loop(listener, world.clone()));
        FakeCreatio {
            addr,
            world,
            accept: Mutex::new(Some(accept)),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Stops listening and drops every open connection: clients get "connection refused".
    pub async fn down(&self) {
        let task = self.accept.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same address.
    pub async fn up(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        let task = tokio::spawn(accept_loop(listener, self.world.clone()));
        *self.accept.lock().unwrap() = Some(task);
    }
}

impl Drop for FakeCreatio {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// Waits until `condition` holds, checking every 10 ms, for at most `limit`.
pub async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn accept_loop(listener: TcpListener, world: Arc<Mutex<World>>) {
    // Dropping this set (when the task is aborted) aborts every connection with it.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let world = world.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(world.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn json_answer(status: u16, body: &Value) -> Answer {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn empty(status: u16) -> Answer {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

enum Then {
    Answer(Answer),
    AnswerLate(Answer),
    Never,
}

async fn handle(world: Arc<Mutex<World>>, request: Request<Incoming>) -> Result<Answer, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let then = respond(&mut world.lock().unwrap(), &parts, &body);
    Ok(match then {
        Then::Answer(answer) => answer,
        Then::AnswerLate(answer) => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            answer
        }
        Then::Never => std::future::pending().await,
    })
}

fn respond(world: &mut World, parts: &hyper::http::request::Parts, body: &[u8]) -> Then {
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    if path == "/ServiceModel/AuthService.svc/Login" && parts.method == Method::POST {
        return Then::Answer(login(world, body));
    }
    let Some(resource) = path.strip_prefix("/0/odata/") else {
        return Then::Answer(empty(404));
    };
    if !authorised(world, parts) {
        return Then::Answer(empty(401));
    }
    if world.odata_forbidden {
        let page = "<!DOCTYPE html><html><body>Access denied</body></html>";
        let answer = Response::builder()
            .status(403)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(Full::new(Bytes::from(page)))
            .unwrap();
        return Then::Answer(answer);
    }
    let odata_error =
        |status: u16, message: &str| json_answer(status, &json!({"error": {"code": "", "message": message}}));
    match (&parts.method, resource) {
        (&Method::GET, "Call") => Then::Answer(json_answer(200, &json!({"value": []}))),
        (&Method::POST, "Call") => {
            let Ok(Value::Object(columns)) = serde_json::from_slice::<Value>(body) else {
                return Then::Answer(odata_error(400, "the body is not a JSON object"));
            };
            let Some(id) = columns
                .get("Id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok())
            else {
                return Then::Answer(odata_error(400, "Id is missing"));
            };
            world.posts.push(id);
            if let Some(message) = &world.refuse_creates {
                return Then::Answer(odata_error(400, message));
            }
            if world.calls.contains_key(&id) {
                return Then::Answer(odata_error(500, "Cannot insert duplicate key row in object 'dbo.Call'"));
            }
            world.calls.insert(id, columns.clone());
            let created = json_answer(201, &Value::Object(columns));
            if world.hold_creates {
                Then::Never
            } else if world.lose_create_answers > 0 {
                world.lose_create_answers -= 1;
                Then::AnswerLate(created)
            } else {
                Then::Answer(created)
            }
        }
        (method, resource) if resource.starts_with("Call(") => {
            let id = resource
                .trim_start_matches("Call(")
                .split(')')
                .next()
                .and_then(|s| s.parse::<Uuid>().ok());
            let Some(id) = id else {
                return Then::Answer(odata_error(400, "bad key"));
            };
            match *method {
                Method::GET => match world.calls.get(&id) {
                    Some(_) => Then::Answer(json_answer(200, &json!({"Id": id}))),
                    None => Then::Answer(odata_error(404, "not found")),
                },
                Method::PATCH => {
                    world.patches.push(id);
                    let Ok(Value::Object(columns)) = serde_json::from_slice::<Value>(body) else {
                        return Then::Answer(odata_error(400, "the body is not a JSON object"));
                    };
                    match world.calls.get_mut(&id) {
                        Some(call) => {
                            call.extend(columns);
                            Then::Answer(empty(204))
                        }
                        None => Then::Answer(odata_error(404, "not found")),
                    }
                }
                _ => Then::Answer(empty(405)),
            }
        }
        (&Method::GET, "SysSettingsValue") => Then::Answer(json_answer(
            200,
            &json!({"value": [
                {"IntegerValue": 7, "SysSettings": {"Code": "SearchNumberLength"}},
                {"IntegerValue": 3, "SysSettings": {"Code": "InternalNumberLength"}}
            ]}),
        )),
        (&Method::GET, "ContactCommunication") => {
            world.lookups += 1;
            let rows: Vec<Value> = world
                .people
                .iter()
                .filter(|p| query.contains(&search_key(&p.number)))
                .map(|p| {
                    json!({
                        "Id": Uuid::from_u128(p.id.as_u128() ^ 1),
                        "Number": p.number,
                        "SearchNumber": search_key(&p.number),
                        "ContactId": p.id,
                        "Contact": {"Id": p.id, "Name": p.name}
                    })
                })
                .collect();
            Then::Answer(json_answer(200, &json!({ "value": rows })))
        }
        (&Method::GET, "AccountCommunication") => Then::Answer(json_answer(200, &json!({"value": []}))),
        _ => Then::Answer(odata_error(404, "no such resource")),
    }
}

/// The last seven digits, reversed: Creatio's `SearchNumber` form.
fn search_key(number: &str) -> String {
    number.chars().rev().filter(char::is_ascii_digit).take(7).collect()
}

fn login(world: &mut World, body: &[u8]) -> Answer {
    world.logins += 1;
    let given: Value = serde_json::from_slice(body).unwrap_or_default();
    if given["UserName"] != USER || given["UserPassword"] != PASSWORD {
        return json_answer(200, &json!({"Code": 1, "Message": "Invalid user name or password"}));
    }
    let token = format!("s{}", world.logins);
    world.sessions.push(token.clone());
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Set-Cookie", format!(".ASPXAUTH={token}; path=/; HttpOnly"))
        .header("Set-Cookie", format!("BPMCSRF=c{token}; path=/"))
        .body(Full::new(Bytes::from(json!({"Code": 0, "Message": ""}).to_string())))
        .unwrap()
}

fn authorised(world: &World, parts: &hyper::http::request::Parts) -> bool {
    let cookies = parts
        .headers
        .get("Cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let csrf = parts
        .headers
        .get("BPMCSRF")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    world.sessions.iter().any(|token| {
        cookies.split(';').any(|c| c.trim() == format!(".ASPXAUTH={token}")) && csrf == format!("c{token}")
    })
}
