//! The HTTP transport against raw sockets on 127.0.0.1: failures are sorted the way the outbox needs them
//! (never reached versus maybe reached), and a redirect comes back as an answer instead of being followed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

use std::time::{Duration, Instant};

use creatio::http::{HttpRequest, Method, TransportError, WireId};
use runtime::creatio::transport::{HttpSettings, Transport, TransportSetupError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn request(url: String) -> HttpRequest {
    HttpRequest {
        id: WireId(1),
        method: Method::Post,
        url,
        headers: Vec::new(),
        body: Some(b"{}".to_vec()),
    }
}

fn transport(timeout: Duration) -> Transport {
    Transport::new(&HttpSettings { timeout, ca_file: None }).unwrap()
}

/// Serves one connection: reads the request head, then writes `answer` (or nothing, holding the socket open).
async fn one_shot_server(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/0/odata/Call", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let _ = socket.read(&mut buffer).await;
        match answer {
            Some(answer) => {
                socket.write_all(answer.as_bytes()).await.unwrap();
                let _ = socket.read(&mut buffer).await;
            }
            None => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    });
    url
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_with_the_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    match transport(Duration::from_secs(2)).send(request(url)).await {
        Err(TransportError::Unreachable(reason)) => {
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_after_the_deadline() {
    let url = one_shot_server(None).await;
    let started = Instant::now();
    let outcome = transport(Duration::from_millis(300)).send(request(url)).await;
    assert_eq!(
        outcome.unwrap_err(),
        TransportError::Timeout,
        "the POST may have been acted on"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_connection_dropped_before_the_answer_counts_as_maybe_delivered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/0/odata/Call", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let _ = socket.read(&mut buffer).await;
        drop(socket);
    });
    let outcome = transport(Duration::from_secs(2)).send(request(url)).await;
    assert_eq!(outcome.unwrap_err(), TransportError::Timeout);
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let url = one_shot_server(Some(
        "HTTP/1.1 302 Found\r\nLocation: /Login/NuiLogin.aspx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ))
    .await;
    let response = transport(Duration::from_secs(2)).send(request(url)).await.unwrap();
    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some("/Login/NuiLogin.aspx"));
}

#[tokio::test]
async fn repeated_headers_and_the_body_arrive_intact() {
    let url = one_shot_server(Some(
        "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; path=/\r\nSet-Cookie: b=2; path=/\r\nContent-Type: application/json\r\n\
         Content-Length: 12\r\nConnection: close\r\n\r\n{\"value\":[]}",
    ))
    .await;
    let response = transport(Duration::from_secs(2)).send(request(url)).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header_values("set-cookie").collect::<Vec<_>>(),
        vec!["a=1; path=/", "b=2; path=/"]
    );
    assert_eq!(response.body, br#"{"value":[]}"#);
}

#[test]
fn a_missing_ca_file_is_named() {
    let path = std::path::PathBuf::from("/nonexistent/oktell-panel-ca.pem");
    let error = Transport::new(&HttpSettings {
        ca_file: Some(path),
        ..HttpSettings::default()
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/oktell-panel-ca.pem"),
        "{error}"
    );
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let outcome = Transport::new(&HttpSettings {
        ca_file: Some(path),
        ..HttpSettings::default()
    });
    assert!(
        matches!(outcome, Err(TransportSetupError::CaFile { .. })),
        "{outcome:?}"
    );
}

/// A one-connection HTTPS server on 127.0.0.1 whose certificate a fresh private CA signed; returns its URL and
/// the CA in PEM.
async fn https_server_with_private_ca() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Oktell Panel test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();

    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/0/odata/Call", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(socket).await else {
            return;
        };
        let mut buffer = vec![0u8; 4096];
        let _ = tls.read(&mut buffer).await;
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"value\":[]}";
        tls.write_all(answer.as_bytes()).await.unwrap();
        let _ = tls.shutdown().await;
    });
    (url, ca_cert.pem())
}

#[tokio::test]
async fn https_with_a_private_ca_works_when_the_ca_file_is_given() {
    let (url, ca) = https_server_with_private_ca().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("company-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let transport = Transport::new(&HttpSettings {
        timeout: Duration::from_secs(5),
        ca_file: Some(ca_file),
    })
    .unwrap();
    let response = transport.send(request(url)).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, br#"{"value":[]}"#);
}

#[tokio::test]
async fn https_with_an_unknown_ca_is_unreachable_and_says_why() {
    let (url, _ca) = https_server_with_private_ca().await;
    match transport(Duration::from_secs(5)).send(request(url)).await {
        Err(TransportError::Unreachable(reason)) => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        }
        other => panic!("an untrusted server must not be talked to: {other:?}"),
    }
}
