//! The tokio driver of the Oktell core: one task owns one [`oktell::Session`].
//!
//! The task `select!`s over the socket events of every candidate socket, a
//! bounded command channel and `sleep_until(session.poll_timeout())`; whatever
//! woke it becomes exactly one `handle_*` call, after which it drains the
//! session's actions, transmits and events (the run loop documented in the
//! `oktell` crate). Each WebSocket lives in a small task of its own that only
//! moves text frames between the network and two channels, so the session
//! never waits on the network.
//!
//! `wss://` goes through rustls on the `ring` provider, trusting the system's
//! roots plus, optionally, one CA file (a PBX with a company-issued
//! certificate): see [`Tls`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use oktell::error::{CommandError, ConfigError};
use oktell::{Action, Command, Event, RequestId, Session, SocketId};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Commands waiting for the session task.
const COMMAND_QUEUE: usize = 32;
/// Frames and socket events waiting for the session task.
const SOCKET_QUEUE: usize = 256;
/// Outgoing frames waiting for one socket.
const OUTGOING_QUEUE: usize = 64;

/// Why a command did not reach the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The session refused it (not connected, wrong line state, ...).
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// The session task has ended.
    #[error("the Oktell session has ended")]
    Stopped,
}

/// Why the TLS settings for `wss://` could not be built. All of these are
/// configuration faults: the operator (or the installer) must fix a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The configured CA file cannot be read.
    #[error("cannot read the CA file {path}: {source}")]
    CaFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA file is not PEM, or holds no usable certificate.
    #[error("the CA file {path} holds no usable PEM certificate: {reason}")]
    CaFileMalformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration (a protocol-version mismatch: our bug).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The trust settings of `wss://` sockets. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// Trusts the system's root certificates and, when given, every
    /// certificate in the PEM file `ca_file`. An unreadable part of the
    /// system store is logged and skipped.
    pub fn new(ca_file: Option<&Path>) -> Result<Tls, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        for error in &system.errors {
            tracing::warn!(%error, "part of the system certificate store is unreadable");
        }
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        tracing::debug!(added, ignored, "system trust roots loaded");
        if let Some(path) = ca_file {
            add_ca_file(&mut roots, path)?;
        }
        Tls::with_roots(roots)
    }

    /// Trusts only the certificates in the PEM file `ca_file` (tests, and
    /// sites that pin their PBX's CA).
    pub fn only_ca_file(ca_file: &Path) -> Result<Tls, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        add_ca_file(&mut roots, ca_file)?;
        Tls::with_roots(roots)
    }

    /// The rustls configuration, for other TLS clients of the same trust (the SIP connection).
    pub(crate) fn client_config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }

    /// An empty store is not an error: `ws://` needs none, and a `wss://`
    /// socket then fails with an "unknown issuer" the operator can act on.
    fn with_roots(roots: rustls::RootCertStore) -> Result<Tls, TlsError> {
        if roots.is_empty() {
            tracing::warn!("no trusted root certificates: wss:// servers will be refused");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls {
            config: Arc::new(config),
        })
    }
}

fn add_ca_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::CaFileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let malformed = |reason: String| TlsError::CaFileMalformed {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(e.to_string()))?;
    if certs.is_empty() {
        return Err(malformed("no CERTIFICATE block".to_owned()));
    }
    for cert in certs {
        roots.add(cert).map_err(|e| malformed(e.to_string()))?;
    }
    Ok(())
}

struct LinkRequest {
    command: Command,
    reply: oneshot::Sender<Result<RequestId, CommandError>>,
}

/// Handle to a running Oktell session task. Cheap to clone; the task shuts
/// the session down (without logging out) when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct OktellLink {
    commands: mpsc::Sender<LinkRequest>,
}

impl std::fmt::Debug for LinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRequest")
            .field("command", &self.command.name())
            .finish_non_exhaustive()
    }
}

impl OktellLink {
    /// Validates `config` and starts the session task. Events go to
    /// `events`; the task waits when that channel is full (state events are
    /// never dropped) and ends when it is closed.
    pub fn spawn(
        config: oktell::Config,
        tls: Tls,
        events: mpsc::Sender<Event>,
    ) -> Result<(OktellLink, JoinHandle<()>), ConfigError> {
        let sockets = SocketSettings {
            tls,
            max_frame_len: config.max_frame_len,
        };
        let session = Session::new(config, Instant::now())?;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let task = tokio::spawn(run(session, sockets, rx, events));
        Ok((OktellLink { commands }, task))
    }

    /// Runs a command. `Ok` means it was sent to the server; its outcome
    /// arrives as [`Event::CommandSucceeded`] / [`Event::CommandFailed`].
    pub async fn command(&self, command: Command) -> Result<RequestId, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(LinkRequest { command, reply })
            .await
            .map_err(|_| LinkError::Stopped)?;
        Ok(rx.await.map_err(|_| LinkError::Stopped)??)
    }
}

/// What every socket task needs besides its URL.
#[derive(Debug, Clone)]
struct SocketSettings {
    tls: Tls,
    max_frame_len: usize,
}

/// What a socket task reports.
#[derive(Debug)]
enum SocketEvent {
    Opened,
    /// The socket never opened; the reason is for the operator's eyes.
    Failed(String),
    Text(String),
    Closed,
}

async fn run(
    mut session: Session,
    settings: SocketSettings,
    mut commands: mpsc::Receiver<LinkRequest>,
    events: mpsc::Sender<Event>,
) {
    let (socket_tx, mut socket_rx) = mpsc::channel::<(SocketId, SocketEvent)>(SOCKET_QUEUE);
    let mut sockets: HashMap<SocketId, mpsc::Sender<String>> = HashMap::new();
    let mut commands_open = true;
    loop {
        while let Some(action) = session.poll_action() {
            match action {
                Action::Open {
                    socket,
                    url,
                    subprotocol,
                } => {
                    let (tx, rx) = mpsc::channel(OUTGOING_QUEUE);
                    sockets.insert(socket, tx);
                    let task = socket_task(socket, url, subprotocol, settings.clone(), rx, socket_tx.clone());
                    tokio::spawn(task);
                }
                // Dropping the sender makes the socket task close the socket.
                Action::Close { socket } => {
                    sockets.remove(&socket);
                }
            }
        }
        while let Some(transmit) = session.poll_transmit() {
            if let Some(tx) = sockets.get(&transmit.socket)
                && tx.send(transmit.text).await.is_err()
            {
                tracing::debug!("socket task gone before a send; its close is on the way");
            }
        }
        while let Some(event) = session.poll_event() {
            if events.send(event).await.is_err() {
                tracing::info!("event receiver dropped; stopping the Oktell session");
                return;
            }
        }
        if session.is_closed() {
            return;
        }
        let deadline = session.poll_timeout();
        tokio::select! {
            Some((socket, event)) = socket_rx.recv() => {
                let now = Instant::now();
                match event {
                    SocketEvent::Opened => session.handle_socket_opened(now, socket),
                    SocketEvent::Failed(reason) => {
                        sockets.remove(&socket);
                        session.handle_socket_failed(now, socket, &reason);
                    }
                    SocketEvent::Text(text) => {
                        if let Err(error) = session.handle_frame(now, socket, &text) {
                            tracing::warn!(%error, "unusable frame from the Oktell server");
                        }
                    }
                    SocketEvent::Closed => {
                        sockets.remove(&socket);
                        session.handle_socket_closed(now, socket);
                    }
                }
            }
            request = commands.recv(), if commands_open => {
                let now = Instant::now();
                match request {
                    Some(LinkRequest { command, reply }) => {
                        let _ = reply.send(session.command(now, command));
                    }
                    None => {
                        commands_open = false;
                        let _ = session.command(now, Command::Shutdown);
                    }
                }
            }
            () = sleep_until(deadline) => session.handle_timeout(Instant::now()),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// Connects one WebSocket and shuttles text frames until either side ends.
/// Always reports `Failed` or `Closed` last.
async fn socket_task(
    socket: SocketId,
    url: String,
    subprotocol: &'static str,
    settings: SocketSettings,
    mut outgoing: mpsc::Receiver<String>,
    events: mpsc::Sender<(SocketId, SocketEvent)>,
) {
    let ws = match connect(&url, subprotocol, &settings).await {
        Ok(ws) => ws,
        Err(error) => {
            tracing::info!(%url, %error, "cannot open the Oktell socket");
            let _ = events.send((socket, SocketEvent::Failed(error.to_string()))).await;
            return;
        }
    };
    if events.send((socket, SocketEvent::Opened)).await.is_ok()
        && let Err(error) = shuttle(socket, ws, &mut outgoing, &events).await
    {
        tracing::info!(%url, %error, "Oktell socket ended");
    }
    let _ = events.send((socket, SocketEvent::Closed)).await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    url: &str,
    subprotocol: &'static str,
    settings: &SocketSettings,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(subprotocol));
    let limits = WebSocketConfig::default()
        .max_message_size(Some(settings.max_frame_len))
        .max_frame_size(Some(settings.max_frame_len));
    let connector = Connector::Rustls(Arc::clone(&settings.tls.config));
    // tungstenite fails the handshake unless the server selects `json`.
    let (ws, _response) =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(limits), true, Some(connector)).await?;
    Ok(ws)
}

async fn shuttle(
    socket: SocketId,
    mut ws: Socket,
    outgoing: &mut mpsc::Receiver<String>,
    events: &mpsc::Sender<(SocketId, SocketEvent)>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if events.send((socket, SocketEvent::Text(text.to_string()))).await.is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                // Binary frames are not part of the protocol; pings are answered by tungstenite.
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
            },
            text = outgoing.recv() => match text {
                Some(text) => ws.send(Message::Text(text.into())).await?,
                None => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::time::Duration;
    use tokio::net::TcpListener;
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

    /// The server's half of the sub-protocol negotiation (§1.2). The error
    /// type is tungstenite's, hence the lint.
    #[allow(clippy::result_large_err)]
    fn select_json(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("json"));
        Ok(response)
    }

    /// A minimal loopback Oktell server: selects `json`, answers pings with
    /// pongs and every request with `<method>result`.
    async fn serve_one(listener: TcpListener) {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, select_json).await.unwrap();
        while let Some(Ok(Message::Text(text))) = ws.next().await {
            let frame: Value = serde_json::from_str(&text).unwrap();
            let name = frame[0].as_str().unwrap().to_owned();
            let qid = frame[1]["qid"].clone();
            let reply = match name.as_str() {
                "ping" => json!(["pong", {"qid": qid}]),
                "login" => {
                    json!(["loginresult", {"qid": qid, "result": 1, "userid": "u1", "sessionid": "s1"}])
                }
                "getversion" => {
                    json!(["getversionresult", {"qid": qid, "result": 1, "version": {"dated": 161116}}])
                }
                "getextendedlineinfo" => {
                    json!(["getextendedlineinforesult", {"qid": qid, "result": 1, "abonent": {}}])
                }
                "logout" => {
                    ws.send(Message::Text(json!(["logoutresult", {"qid": qid}]).to_string().into()))
                        .await
                        .unwrap();
                    let _ = ws.close(None).await;
                    return;
                }
                other => json!([format!("{other}result"), {"qid": qid, "result": 1}]),
            };
            ws.send(Message::Text(reply.to_string().into())).await.unwrap();
        }
    }

    /// Plain `ws://` never touches the trust roots; any valid set will do.
    fn test_tls() -> Tls {
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        Tls::only_ca_file(&path).unwrap()
    }

    async fn next_matching(rx: &mut mpsc::Receiver<Event>, want: impl Fn(&Event) -> bool) {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("event in time")
                .expect("session alive");
            if want(&event) {
                return;
            }
        }
    }

    #[tokio::test]
    async fn connects_logs_in_and_logs_out_against_a_loopback_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(serve_one(listener));

        let mut config = oktell::Config::new(vec![format!("ws://127.0.0.1:{port}")], "op1");
        config.password = Some("Secret1".into());
        let (events_tx, mut events) = mpsc::channel(64);
        let (link, task) = OktellLink::spawn(config, test_tls(), events_tx).unwrap();
        next_matching(&mut events, |e| {
            matches!(e, Event::Connection(oktell::ConnectionState::Connected))
        })
        .await;

        assert_eq!(
            link.command(Command::Answer).await,
            Err(LinkError::Refused(CommandError::InvalidLineState {
                command: "answer",
                state: "ready"
            }))
        );
        link.command(Command::Logout).await.unwrap();
        next_matching(&mut events, |e| {
            matches!(
                e,
                Event::Connection(oktell::ConnectionState::Closed(oktell::CloseReason::LoggedOut))
            )
        })
        .await;
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        server.await.unwrap();
        assert_eq!(link.command(Command::Answer).await, Err(LinkError::Stopped));
    }

    #[test]
    fn bad_configuration_fails_at_spawn() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let config = oktell::Config::new(vec![], "op1");
            let (tx, _rx) = mpsc::channel(1);
            assert!(matches!(
                OktellLink::spawn(config, test_tls(), tx),
                Err(ConfigError::NoUrl)
            ));
        });
    }
}
