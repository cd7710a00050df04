//! `wss://` to the Oktell server (§1): rustls with the system roots plus an
//! optional CA file, and the `websocketredirect` from `ws://` to `wss://`.
//! A TLS front end on loopback, with a certificate from a fresh private CA,
//! forwards to the simulator, as a reverse proxy would in front of a PBX.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oktell_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oktell::ConnectionState;
use oktell_support::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use runtime::oktell_link::{Tls, TlsError};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// A private CA (PEM) and a TLS acceptor for 127.0.0.1 signed by it.
fn private_ca() -> (String, tokio_rustls::TlsAcceptor) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Oktell Panel test PBX CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        )
        .unwrap();
    (ca_cert.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Terminates TLS on a loopback port and forwards every connection to `backend`; returns the port.
async fn tls_front(acceptor: tokio_rustls::TlsAcceptor, backend: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                // A refused handshake (the untrusting client) just ends this connection.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut plain = TcpStream::connect(&backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn write_ca(dir: &Path, pem: &str) -> PathBuf {
    let path = dir.join("pbx-ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// A simulator behind a TLS front; returns it, the front's port and the CA.
async fn secure_simulator(seed: u64) -> (Simulator, u16, String) {
    let sim = Simulator::start(quick_world(), seed).await;
    let (ca, acceptor) = private_ca();
    let backend = sim.oktell.strip_prefix("ws://").unwrap().to_owned();
    let port = tls_front(acceptor, backend).await;
    (sim, port, ca)
}

#[tokio::test]
async fn wss_with_the_pbx_ca_file_logs_in() {
    let (sim, port, ca) = secure_simulator(21).await;
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::new(Some(&write_ca(dir.path(), &ca))).unwrap();
    let url = format!("wss://127.0.0.1:{port}");
    let mut client = Client::spawn(config(&url, "op1", "demo", 21), tls);
    client.until("connected over TLS", |m| m.is_connected()).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn wss_without_the_pbx_ca_is_refused_with_a_certificate_error() {
    let (sim, port, _ca) = secure_simulator(22).await;
    // The system roots alone cannot vouch for a private CA.
    let url = format!("wss://127.0.0.1:{port}");
    let mut client = Client::spawn(config(&url, "op1", "demo", 22), Tls::new(None).unwrap());
    client.until("a failed socket", |m| !m.socket_failures.is_empty()).await;
    let (failed, reason) = &client.mirror.socket_failures[0];
    assert_eq!(failed, &url);
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert!(!client.mirror.is_connected());
    assert_eq!(sim.control.user("op1").await["connections"], 0);
}

#[tokio::test]
async fn websocketredirect_moves_the_login_to_wss_on_the_configured_port() {
    let (secure, port, ca) = secure_simulator(23).await;
    let mut world = quick_world();
    world.server.websocket_redirect = true;
    let redirecting = Simulator::start(world, 24).await;
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::new(Some(&write_ca(dir.path(), &ca))).unwrap();
    let mut config = config(&redirecting.oktell, "op1", "demo", 23);
    config.secure_redirect_port = port;
    let mut client = Client::spawn(config, tls);
    client.until("connected after the redirect", |m| m.is_connected()).await;
    client.converge(&secure.control, "op1").await;
    assert_eq!(secure.control.user("op1").await["connections"], 1);
    assert_eq!(redirecting.control.user("op1").await["connections"], 0);
    assert!(
        client.mirror.connection == ConnectionState::Connected,
        "{:?}",
        client.mirror.connection
    );
}

#[test]
fn an_unreadable_ca_file_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    match Tls::new(Some(&missing)) {
        Err(TlsError::CaFileUnreadable { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_ca_file_without_certificates_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_ca(dir.path(), "not a certificate\n");
    assert!(matches!(Tls::new(Some(&path)), Err(TlsError::CaFileMalformed { .. })));
    assert!(matches!(
        Tls::only_ca_file(&path),
        Err(TlsError::CaFileMalformed { .. })
    ));
}
