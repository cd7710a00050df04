//! The tokio driver: a WebSocket listener for Oktell clients, an HTTP listener for the Creatio
//! stand-in, an HTTP listener for the control API, the PBX's SIP socket (with its RTP streams,
//! see [`crate::sip`]), one task that owns the [`Sim`] core and one that owns the [`Creatio`] core.
//!
//! The core tasks are the only places that read the clock. Connection tasks forward frames to it
//! and write back what it tells them; the control server sends it commands and waits for the
//! answer. When the core task ends, every connection's outbox closes and its socket with it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request as WsRequest, Response as WsResponse};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::Instrument;

use crate::control::{self, Command, ControlError};
use crate::core::{Output, Sim};
use crate::creatio::{self as crm, Creatio, CrmRequest, Reply};
use crate::oktell::connection::ConnId;
use crate::sip::driver::SipDriver;
use crate::{SimError, World};

/// Frames waiting for one slow client before it is cut off.
const CONNECTION_BACKLOG: usize = 1024;
/// Largest control request body.
const CONTROL_BODY_LIMIT: usize = 64 * 1024;
/// Largest Creatio request body (OData writes are a few kilobytes).
const CREATIO_BODY_LIMIT: usize = 1024 * 1024;
/// Largest client frame: oktell.js requests are a few hundred bytes.
const CLIENT_MESSAGE_LIMIT: usize = 1024 * 1024;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub bind: IpAddr,
    /// 0 = any free port.
    pub oktell_port: u16,
    /// 0 = any free port.
    pub control_port: u16,
    /// The Creatio stand-in's HTTP port; 0 = any free port.
    pub creatio_port: u16,
    pub world: World,
    /// Seeds every random choice (GUIDs, background activity, connection drops).
    pub seed: u64,
}

/// How to run the PBX's SIP side (see [`serve_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SipOptions {
    /// The UDP port of the registrar and the phones' calls, on [`SimOptions::bind`]; 0 = any free port.
    pub port: u16,
}

/// Where a running simulator listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// `ws://127.0.0.1:PORT`
    pub oktell: String,
    /// `http://127.0.0.1:PORT`
    pub control: String,
    /// `http://127.0.0.1:PORT` plus the world's `app_path`: the Creatio site address.
    pub creatio: String,
    /// `127.0.0.1:PORT`: the PBX's SIP registrar and proxy (UDP).
    pub sip: String,
}

/// A simulator serving on its sockets until [`RunningSim::shutdown`] (dropping it stops the
/// simulator as well, without waiting).
#[derive(Debug)]
pub struct RunningSim {
    endpoints: Endpoints,
    sip: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The PBX's SIP address (UDP): where the operators' phones register.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// Stops listening, closes every connection and waits for the tasks to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "simulator task failed");
            }
        }
    }
}

enum CoreInput {
    Open {
        outbox: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<ConnId>,
    },
    Text {
        conn: ConnId,
        text: String,
    },
    Closed {
        conn: ConnId,
    },
    Control {
        command: Command,
        reply: oneshot::Sender<Result<Value, ControlError>>,
    },
}

enum CreatioInput {
    Request {
        request: CrmRequest,
        reply: oneshot::Sender<Reply>,
    },
    Control {
        command: crm::Control,
        reply: oneshot::Sender<Value>,
    },
}

enum Outgoing {
    Text(String),
    Close,
}

/// Starts the simulator, its SIP side on any free UDP port.
pub async fn serve(opts: SimOptions) -> Result<RunningSim, SimError> {
    serve_with(opts, SipOptions::default()).await
}

/// Starts the simulator with its SIP side where `sip` says.
pub async fn serve_with(opts: SimOptions, sip: SipOptions) -> Result<RunningSim, SimError> {
    opts.world.validate()?;
    let oktell = bind(SocketAddr::new(opts.bind, opts.oktell_port)).await?;
    let control = bind(SocketAddr::new(opts.bind, opts.control_port)).await?;
    let creatio = bind(SocketAddr::new(opts.bind, opts.creatio_port)).await?;
    let sip_bind = SocketAddr::new(opts.bind, sip.port);
    let sip_socket = tokio::net::UdpSocket::bind(sip_bind)
        .await
        .map_err(|source| SimError::Bind { addr: sip_bind, source })?;
    let sip_addr = {
        let port = sip_socket.local_addr().map(|a| a.port()).unwrap_or(sip.port);
        SocketAddr::new(public_ip(opts.bind), port)
    };
    let sip_driver =
        SipDriver::new(sip_socket, opts.seed).map_err(|source| SimError::Bind { addr: sip_bind, source })?;
    let endpoints = Endpoints {
        oktell: format!("ws://{}", public_addr(&oktell, opts.bind, opts.oktell_port)),
        control: format!("http://{}", public_addr(&control, opts.bind, opts.control_port)),
        creatio: format!(
            "http://{}{}",
            public_addr(&creatio, opts.bind, opts.creatio_port),
            opts.world.creatio.app_path
        ),
        sip: sip_addr.to_string(),
    };
    let crm = Creatio::new(
        &opts.world.creatio,
        opts.seed,
        std::time::Instant::now(),
        std::time::SystemTime::now(),
    )?;
    let (stop, stopped) = watch::channel(false);
    let (core_tx, core_rx) = mpsc::channel(4096);
    let (crm_tx, crm_rx) = mpsc::channel(1024);
    let mut sim = Sim::new(opts.world, opts.seed, std::time::Instant::now());
    sim.enable_sip(sip_addr);
    // Decode the far end's clips now rather than in the first call's audio task.
    crate::sip::audio::caller_voice();
    crate::sip::audio::hold_melody();
    let tasks = vec![
        tokio::spawn(run_core(sim, sip_driver, core_rx, stopped.clone())),
        tokio::spawn(run_creatio(crm, crm_rx, stopped.clone())),
        tokio::spawn(accept_oktell(oktell, core_tx.clone(), stopped.clone())),
        tokio::spawn(accept_creatio(creatio, crm_tx.clone(), stopped.clone())),
        tokio::spawn(accept_control(control, core_tx, crm_tx, stopped)),
    ];
    tracing::info!(
        oktell = %endpoints.oktell,
        creatio = %endpoints.creatio,
        control = %endpoints.control,
        sip = %endpoints.sip,
        caller_speaks = crate::sip::audio::voice_is_speech(),
        "simulator listening"
    );
    Ok(RunningSim {
        endpoints,
        sip: sip_addr,
        stop,
        tasks,
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

/// The address clients should use: the bound one, with a wildcard replaced by loopback.
fn public_addr(listener: &TcpListener, bind: IpAddr, port: u16) -> SocketAddr {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    SocketAddr::new(public_ip(bind), port)
}

fn public_ip(bind: IpAddr) -> IpAddr {
    match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

async fn run_core(
    mut sim: Sim,
    mut sip: SipDriver,
    mut inputs: mpsc::Receiver<CoreInput>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut outboxes: HashMap<ConnId, mpsc::Sender<Outgoing>> = HashMap::new();
    let mut datagram = vec![0u8; 65_535];
    loop {
        sip.refill(&mut sim);
        let deadline = sim.poll_timeout();
        tokio::select! {
            _ = stopped.changed() => break,
            received = sip.recv(&mut datagram) => match received {
                Ok((len, from)) => {
                    if let Some(bytes) = datagram.get(..len) {
                        sim.handle_sip_datagram(from, bytes, std::time::Instant::now());
                    }
                }
                Err(error) => tracing::debug!(%error, "SIP receive failed"),
            },
            input = inputs.recv() => {
                let Some(input) = input else { break };
                let now = std::time::Instant::now();
                match input {
                    CoreInput::Open { outbox, reply } => {
                        let conn = sim.handle_open();
                        outboxes.insert(conn, outbox);
                        if reply.send(conn).is_err() {
                            outboxes.remove(&conn);
                            sim.handle_closed(conn);
                        }
                    }
                    CoreInput::Text { conn, text } => sim.handle_text(conn, &text, now),
                    CoreInput::Closed { conn } => {
                        outboxes.remove(&conn);
                        sim.handle_closed(conn);
                    }
                    CoreInput::Control { command, reply } => {
                        let sip_state = command == Command::SipState;
                        let mut answer = sim.handle_control(command, now);
                        if sip_state && let Ok(Value::Object(state)) = &mut answer {
                            add_rtp_counters(state, &sip.stats());
                        }
                        let _ = reply.send(answer);
                    }
                }
            }
            () = sleep_until(deadline) => sim.handle_timeout(std::time::Instant::now()),
        }
        while let Some(output) = sim.poll_output() {
            let (conn, message) = match output {
                Output::Send { conn, text } => (conn, Outgoing::Text(text)),
                Output::Close { conn } => (conn, Outgoing::Close),
            };
            let Some(outbox) = outboxes.get(&conn) else {
                continue;
            };
            if outbox.try_send(message).is_err() {
                tracing::warn!(conn = conn.0, "client too slow or gone, dropping it");
                outboxes.remove(&conn);
            }
        }
        while let Some(output) = sim.poll_sip_output() {
            sip.apply(output);
        }
    }
    sip.shutdown();
    tracing::debug!("simulator core stopped");
}

/// Puts each leg's RTP counters (kept by the driver, not the core) into the `GET /sip` answer.
fn add_rtp_counters(
    state: &mut serde_json::Map<String, Value>,
    counters: &std::collections::BTreeMap<crate::sip::LegId, Value>,
) {
    let Some(Value::Array(legs)) = state.get_mut("legs") else {
        return;
    };
    for leg in legs {
        let id = leg.get("leg").and_then(Value::as_u64).map(crate::sip::LegId);
        if let (Some(id), Value::Object(fields)) = (id, leg) {
            fields.insert("rtp".into(), counters.get(&id).cloned().unwrap_or(Value::Null));
        }
    }
    let ended: Vec<Value> = counters
        .iter()
        .map(|(id, rtp)| json!({ "leg": id, "rtp": rtp }))
        .collect();
    state.insert("rtp".into(), Value::Array(ended));
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

async fn accept_oktell(listener: TcpListener, core: mpsc::Sender<CoreInput>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Events are small frames that must leave at once: with Nagle on, a ring waits for the
                    // client's delayed ACK (about 40 ms on Linux).
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::warn!(%error, "cannot disable Nagle on an Oktell connection");
                    }
                    let span = tracing::debug_span!("oktell_client", %peer);
                    tokio::spawn(run_connection(stream, core.clone()).instrument(span));
                }
                Err(error) => tracing::warn!(%error, "accept failed"),
            },
        }
    }
}

/// Selects the `json` sub-protocol that oktell.js requests; browsers abort without it.
#[allow(clippy::result_large_err)]
fn select_json(request: &WsRequest, mut response: WsResponse) -> Result<WsResponse, ErrorResponse> {
    let offers_json = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("json"));
    if offers_json {
        response
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("json"));
    }
    Ok(response)
}

async fn run_connection(stream: TcpStream, core: mpsc::Sender<CoreInput>) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(CLIENT_MESSAGE_LIMIT))
        .max_frame_size(Some(CLIENT_MESSAGE_LIMIT));
    let accepted = tokio_tungstenite::accept_hdr_async_with_config(stream, select_json, Some(config));
    let ws = match accepted.await {
        Ok(ws) => ws,
        Err(error) => {
            tracing::debug!(%error, "websocket handshake failed");
            return;
        }
    };
    let (outbox, mut outgoing) = mpsc::channel(CONNECTION_BACKLOG);
    let (reply, registered) = oneshot::channel();
    if core.send(CoreInput::Open { outbox, reply }).await.is_err() {
        return;
    }
    let Ok(conn) = registered.await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    loop {
        tokio::select! {
            message = source.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let input = CoreInput::Text { conn, text: text.as_str().to_owned() };
                    if core.send(input).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::debug!(conn = conn.0, %error, "websocket read failed");
                    break;
                }
            },
            out = outgoing.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
        }
    }
    let _ = sink.close().await;
    let _ = core.send(CoreInput::Closed { conn }).await;
}

/// The Creatio core's task: one request or control command at a time, `now` read per input.
async fn run_creatio(mut crm: Creatio, mut inputs: mpsc::Receiver<CreatioInput>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            input = inputs.recv() => {
                let Some(input) = input else { break };
                let now = std::time::Instant::now();
                match input {
                    CreatioInput::Request { request, reply } => {
                        let _ = reply.send(crm.handle_request(now, &request));
                    }
                    CreatioInput::Control { command, reply } => {
                        let _ = reply.send(crm.handle_control(now, command));
                    }
                }
            }
        }
    }
    tracing::debug!("creatio stand-in stopped");
}

async fn accept_creatio(listener: TcpListener, crm: mpsc::Sender<CreatioInput>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let crm = crm.clone();
                    let mut stopped = stopped.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| creatio_request(request, crm.clone()));
                        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = stopped.changed() => {}
                            served = connection => if let Err(error) = served {
                                tracing::debug!(%error, "creatio connection ended");
                            },
                        }
                    });
                }
                Err(error) => tracing::warn!(%error, "accept failed"),
            },
        }
    }
}

/// The stand-in is "down": the connection is closed without an answer.
#[derive(Debug, thiserror::Error)]
#[error("creatio stand-in is down")]
struct Hangup;

async fn creatio_request(
    request: Request<Incoming>,
    crm: mpsc::Sender<CreatioInput>,
) -> Result<Response<Full<Bytes>>, Hangup> {
    let method = request.method().as_str().to_owned();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let body = match Limited::new(request.into_body(), CREATIO_BODY_LIMIT).collect().await {
        Ok(body) => body.to_bytes().to_vec(),
        Err(error) => return Ok(respond(413, &json!({ "error": error.to_string() }))),
    };
    let (reply, answer) = oneshot::channel();
    let request = CrmRequest {
        method,
        target,
        headers,
        body,
    };
    if crm.send(CreatioInput::Request { request, reply }).await.is_err() {
        return Err(Hangup);
    }
    match answer.await {
        Ok(Reply::Respond { response, delay }) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut answer = Response::new(Full::new(Bytes::from(response.body)));
            *answer.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in response.headers {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(name.as_bytes()),
                    hyper::header::HeaderValue::from_str(&value),
                ) {
                    answer.headers_mut().append(name, value);
                }
            }
            Ok(answer)
        }
        Ok(Reply::Hangup) | Err(_) => Err(Hangup),
    }
}

async fn accept_control(
    listener: TcpListener,
    core: mpsc::Sender<CoreInput>,
    crm: mpsc::Sender<CreatioInput>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let core = core.clone();
                    let crm = crm.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| control_request(request, core.clone(), crm.clone()));
                        if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                            tracing::debug!(%error, "control connection failed");
                        }
                    });
                }
                Err(error) => tracing::warn!(%error, "accept failed"),
            },
        }
    }
}

async fn control_request(
    request: Request<Incoming>,
    core: mpsc::Sender<CoreInput>,
    crm: mpsc::Sender<CreatioInput>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let body = match Limited::new(request.into_body(), CONTROL_BODY_LIMIT).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return Ok(respond(400, &json!({ "error": error.to_string() }))),
    };
    if let Some(routed) = control::route_creatio(&method, &path, &body) {
        let command = match routed {
            Ok(command) => command,
            Err(error) => return Ok(respond(error.status(), &json!({ "error": error.to_string() }))),
        };
        let (reply, answer) = oneshot::channel();
        if crm.send(CreatioInput::Control { command, reply }).await.is_err() {
            return Ok(respond(503, &json!({ "error": "simulator stopped" })));
        }
        return Ok(match answer.await {
            Ok(value) => respond(200, &value),
            Err(_) => respond(503, &json!({ "error": "simulator stopped" })),
        });
    }
    let answer = match control::route(&method, &path, &body) {
        Ok(command) => {
            let (reply, answer) = oneshot::channel();
            if core.send(CoreInput::Control { command, reply }).await.is_err() {
                return Ok(respond(503, &json!({ "error": "simulator stopped" })));
            }
            match answer.await {
                Ok(answer) => answer,
                Err(_) => return Ok(respond(503, &json!({ "error": "simulator stopped" }))),
            }
        }
        Err(error) => Err(error),
    };
    Ok(match answer {
        Ok(value) => respond(200, &value),
        Err(error) => respond(error.status(), &json!({ "error": error.to_string() })),
    })
}

fn respond(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
