//! The signalling flow over a connection (TCP, or TLS on top of it): one connection to the proxy, framed into
//! messages, kept alive with CRLF pings (RFC 5626 §3.5.1), and opened again with backoff when it breaks.
//!
//! The task tells the link each new connection (with its local address: Via and Contact move there, and the user
//! agent registers over it) and each break (requests in flight fail at once instead of waiting for Timer F).
//! Requests to us arrive over the same connection: the registrar reaches our Contact through it, so nothing
//! listens here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use sip::msg::Limits;
use sip::stream::{Framed, PING, PONG, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::oktell_link::Tls;

/// First wait before connecting again; doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A connection attempt that takes longer has failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A quiet connection is pinged this often, so NATs and firewalls keep it and a dead peer is noticed.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// How the signalling reaches the proxy.
#[derive(Debug, Clone, Default)]
pub enum Signalling {
    /// Datagrams from one socket (the PBX default).
    #[default]
    Udp,
    /// A TCP connection.
    Tcp,
    /// A TLS connection, checked against `trust` for `server_name` (the SIP domain, as on its certificate).
    Tls {
        /// The trusted roots.
        trust: Tls,
        /// The name the certificate must carry.
        server_name: String,
    },
}

impl Signalling {
    /// The user agent's view of it.
    pub fn transport(&self) -> sip::ua::Transport {
        match self {
            Signalling::Udp => sip::ua::Transport::Udp,
            Signalling::Tcp => sip::ua::Transport::Tcp,
            Signalling::Tls { .. } => sip::ua::Transport::Tls,
        }
    }
}

/// What the flow reports to the link.
#[derive(Debug)]
pub(crate) enum FlowEvent {
    /// A connection is up, from this local address.
    Connected(SocketAddr),
    /// One whole SIP message.
    Message(Vec<u8>),
    /// The connection broke or could not be made, and why; another attempt follows.
    Lost(String),
}

/// The running flow: send bytes in, read [`FlowEvent`]s out. Dropping it stops the task.
#[derive(Debug)]
pub(crate) struct Flow {
    outgoing: mpsc::Sender<Vec<u8>>,
    pub(crate) events: mpsc::Receiver<FlowEvent>,
    task: JoinHandle<()>,
}

impl Flow {
    /// Starts connecting to `proxy`.
    pub(crate) fn start(proxy: SocketAddr, signalling: Signalling, limits: Limits) -> Flow {
        let (outgoing, outgoing_rx) = mpsc::channel(64);
        let (events_tx, events) = mpsc::channel(64);
        let task = tokio::spawn(run(proxy, signalling, limits, outgoing_rx, events_tx));
        Flow { outgoing, events, task }
    }

    /// Queues `bytes` for the connection; while there is none they are dropped, as a datagram to a dead host
    /// would be (the transaction fails or the next connection's REGISTER starts over).
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        if self.outgoing.try_send(bytes).is_err() {
            tracing::debug!("SIP connection busy or down; message dropped");
        }
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    proxy: SocketAddr,
    signalling: Signalling,
    limits: Limits,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    events: mpsc::Sender<FlowEvent>,
) {
    let mut backoff = BACKOFF_START;
    loop {
        let reason = match connect(proxy, &signalling).await {
            Ok(Connection { local, stream }) => {
                tracing::info!(%proxy, %local, "SIP connection up");
                backoff = BACKOFF_START;
                if events.send(FlowEvent::Connected(local)).await.is_err() {
                    return;
                }
                match stream {
                    Stream::Tcp(tcp) => serve(tcp, &limits, &mut outgoing, &events).await,
                    Stream::Tls(tls) => serve(*tls, &limits, &mut outgoing, &events).await,
                }
            }
            Err(reason) => reason,
        };
        tracing::warn!(%proxy, %reason, retry_in = ?backoff, "SIP connection lost");
        if events.send(FlowEvent::Lost(reason)).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        // What was queued for the dead connection belongs to transactions that have failed by now.
        while outgoing.try_recv().is_ok() {}
    }
}

struct Connection {
    local: SocketAddr,
    stream: Stream,
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

async fn connect(proxy: SocketAddr, signalling: &Signalling) -> Result<Connection, String> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(proxy))
        .await
        .map_err(|_| format!("no answer from {proxy} within {CONNECT_TIMEOUT:?}"))?
        .map_err(|error| format!("cannot connect to {proxy}: {error}"))?;
    // SIP requests are small and wait on each other: Nagle would hold them back.
    tcp.set_nodelay(true)
        .map_err(|error| format!("cannot configure the connection: {error}"))?;
    let local = tcp
        .local_addr()
        .map_err(|error| format!("the connection has no local address: {error}"))?;
    let stream = match signalling {
        Signalling::Udp | Signalling::Tcp => Stream::Tcp(tcp),
        Signalling::Tls { trust, server_name } => {
            let name = ServerName::try_from(server_name.clone())
                .map_err(|_| format!("`{server_name}` cannot be checked against a certificate"))?;
            let connector = TlsConnector::from(Arc::clone(trust.client_config()));
            let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                .await
                .map_err(|_| format!("TLS handshake with {proxy} took longer than {CONNECT_TIMEOUT:?}"))?
                .map_err(|error| format!("TLS handshake with {proxy} failed: {error}"))?;
            Stream::Tls(Box::new(tls))
        }
    };
    Ok(Connection { local, stream })
}

/// Moves bytes both ways until the connection breaks; returns why it did.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    limits: &Limits,
    outgoing: &mut mpsc::Receiver<Vec<u8>>,
    events: &mpsc::Sender<FlowEvent>,
) -> String {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut framer = StreamFramer::new(limits);
    let mut buf = vec![0u8; 16 * 1024];
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => {
                let count = match read {
                    Ok(0) => return "the proxy closed the connection".to_owned(),
                    Ok(count) => count,
                    Err(error) => return format!("reading the connection failed: {error}"),
                };
                framer.push(buf.get(..count).unwrap_or_default());
                loop {
                    match framer.next_item() {
                        Ok(Some(Framed::Message(message))) => {
                            if events.send(FlowEvent::Message(message)).await.is_err() {
                                return "the link stopped".to_owned();
                            }
                        }
                        Ok(Some(Framed::Ping)) => {
                            if let Err(error) = writer.write_all(PONG).await {
                                return format!("writing the connection failed: {error}");
                            }
                        }
                        Ok(Some(Framed::Pong)) => tracing::trace!("SIP keepalive answered"),
                        Ok(None) => break,
                        Err(error) => return format!("the proxy sent an unreadable stream: {error}"),
                    }
                }
            }
            message = outgoing.recv() => {
                let Some(bytes) = message else {
                    return "the link stopped".to_owned();
                };
                if let Err(error) = writer.write_all(&bytes).await {
                    return format!("writing the connection failed: {error}");
                }
            }
            _ = keepalive.tick() => {
                if let Err(error) = writer.write_all(PING).await {
                    return format!("the keepalive could not be sent: {error}");
                }
            }
        }
    }
}
