//! The phone against a real kamailio (registrar and proxy with digest auth): registration
//! with MD5 and SHA-256 challenges, refresh, a wrong password, and a call between two of our
//! phones through it with a tone each way and DTMF.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{process::ExitCode, time::Duration};

use runtime::phone::{PasswordSource, PhoneArgs, Transport};
use serde_json::json;
use sip_support::{
    TestPhone,
    audio::{assert_tone, write_tone},
    kamailio::{Algorithm, DOMAIN, Kamailio, TlsIdentity, USERS},
    phone_args, saw,
};

fn account(kamailio: &Kamailio, index: usize) -> PhoneArgs {
    let (user, password) = USERS[index];
    let mut args = phone_args(user, DOMAIN, kamailio.addr);
    args.password = PasswordSource::Value(password.to_owned());
    args
}

async fn registers_refreshes_and_unregisters(algorithm: Algorithm) {
    let kamailio = Kamailio::start(algorithm);
    let mut args = account(&kamailio, 0);
    // Kamailio grants what we ask (min_expires 1): a refresh is due after 80 % of 2 s.
    args.register_expires = 2;
    let mut phone = TestPhone::spawn("1001", args);
    let first = phone.expect("registered").await;
    assert_eq!(first["expires"], json!(2), "{first}");
    let refreshed = tokio::time::timeout(Duration::from_secs(4), phone.expect("registered")).await;
    assert!(refreshed.is_ok(), "no refresh within 4 s; saw {:#?}", phone.history);
    let (code, events) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        events.iter().any(|e| e["event"] == "unregistered"),
        "no unregistration; saw {events:#?}\nkamailio log:\n{}",
        kamailio.log()
    );
    assert!(!events.iter().any(|e| e["event"] == "register_failed"), "{events:#?}");
}

#[tokio::test]
async fn registers_with_md5_digest_refreshes_and_unregisters() {
    registers_refreshes_and_unregisters(Algorithm::Md5).await;
}

#[tokio::test]
async fn registers_with_sha256_digest_refreshes_and_unregisters() {
    registers_refreshes_and_unregisters(Algorithm::Sha256).await;
}

#[tokio::test]
async fn wrong_password_is_reported_as_a_registration_failure() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let mut args = account(&kamailio, 0);
    args.password = PasswordSource::Value(String::from("not the password"));
    let mut phone = TestPhone::spawn("1001", args);
    let failed = phone.expect("register_failed").await;
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("authentication"), "{failed}");
    assert!(
        !phone.history.iter().any(|e| e["event"] == "registered"),
        "{:#?}",
        phone.history
    );
    phone.quit().await;
}

/// 1001 calls 1002 through kamailio (SHA-256 challenges for REGISTER and INVITE); each plays
/// its own tone and must hear the other's; a DTMF digit crosses; the caller hangs up.
#[tokio::test]
async fn two_phones_call_each_other_through_kamailio_with_audio_both_ways() {
    let kamailio = Kamailio::start(Algorithm::Sha256);
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str| files.path().join(name);
    write_tone(&path("a.wav"), 440.0, 8000, 1, 1.0);
    // The callee's file is 48 kHz stereo: the phone must mix down and resample.
    write_tone(&path("b.wav"), 1300.0, 48000, 2, 1.0);

    let mut callee_args = account(&kamailio, 1);
    callee_args.auto_answer = true;
    callee_args.play = Some(path("b.wav"));
    callee_args.record = Some(path("b-heard.wav"));
    let mut callee = TestPhone::spawn("1002", callee_args);
    callee.expect("registered").await;

    let mut caller_args = account(&kamailio, 0);
    caller_args.dial = Some(format!("sip:1002@{DOMAIN}"));
    caller_args.play = Some(path("a.wav"));
    caller_args.record = Some(path("a-heard.wav"));
    let mut caller = TestPhone::spawn("1001", caller_args);

    let incoming = callee.expect("incoming").await;
    assert!(
        incoming["from"]
            .as_str()
            .unwrap()
            .contains(&format!("sip:1001@{DOMAIN}")),
        "{incoming}"
    );
    let established = caller.expect("established").await;
    assert_eq!(established["codec"], "PCMU");
    callee.expect("established").await;
    caller.expect("audio").await;
    callee.expect("audio").await;

    caller.stays_up_for(Duration::from_millis(1500)).await;
    caller.send("dtmf 7").await;
    let digit = callee.expect("dtmf").await;
    assert_eq!(digit["digit"], "7");
    caller.send("hangup").await;

    let closed = callee.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    let (code, events) = caller.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    assert!(saw(&events, "closed", "cause", &json!("local_hangup")), "{events:#?}");
    callee.quit().await;

    assert_tone(&path("b-heard.wav"), 440.0, 1300.0);
    assert_tone(&path("a-heard.wav"), 1300.0, 440.0);
}

/// 1001 registers over TCP and 1002 over UDP; each calls the other through kamailio, so requests reach the TCP
/// phone over the connection it opened (nothing of ours listens for TCP). Tones cross both ways.
#[tokio::test]
async fn a_phone_on_tcp_calls_and_is_called_by_a_phone_on_udp_with_audio_both_ways() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str| files.path().join(name);
    write_tone(&path("tcp.wav"), 440.0, 8000, 1, 1.0);
    write_tone(&path("udp.wav"), 1300.0, 8000, 1, 1.0);

    let mut tcp_args = account(&kamailio, 0);
    tcp_args.transport = Transport::Tcp;
    tcp_args.auto_answer = true;
    tcp_args.play = Some(path("tcp.wav"));
    tcp_args.record = Some(path("tcp-heard.wav"));
    let mut tcp_phone = TestPhone::spawn("1001", tcp_args);
    tcp_phone.expect("registered").await;
    let mut udp_args = account(&kamailio, 1);
    udp_args.auto_answer = true;
    udp_args.play = Some(path("udp.wav"));
    udp_args.record = Some(path("udp-heard.wav"));
    let mut udp_phone = TestPhone::spawn("1002", udp_args);
    udp_phone.expect("registered").await;
    let registered = kamailio.log();
    assert!(
        registered
            .lines()
            .any(|line| line.contains("REGISTER from 127.0.0.1:") && line.contains(" over tcp ")),
        "kamailio saw no REGISTER over TCP:\n{registered}"
    );

    udp_phone.send(&format!("dial sip:1001@{DOMAIN}")).await;
    tcp_phone.expect("incoming").await;
    udp_phone.expect("established").await;
    tcp_phone.expect("established").await;
    udp_phone.stays_up_for(Duration::from_millis(1500)).await;
    udp_phone.send("hangup").await;
    let closed = tcp_phone.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    udp_phone.expect("closed").await;

    tcp_phone.send(&format!("dial sip:1002@{DOMAIN}")).await;
    udp_phone.expect("incoming").await;
    tcp_phone.expect("established").await;
    tcp_phone.stays_up_for(Duration::from_millis(1500)).await;
    tcp_phone.send("hangup").await;
    let closed = udp_phone.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    let (code, events) = tcp_phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    assert!(events.iter().any(|e| e["event"] == "unregistered"), "{events:#?}");
    udp_phone.quit().await;
    // The recordings are complete once the phones have quit; each holds both calls.
    assert_tone(&path("tcp-heard.wav"), 1300.0, 440.0);
    assert_tone(&path("udp-heard.wav"), 440.0, 1300.0);
}

/// Kamailio restarts: the TCP connection breaks, the phone says so, connects again with backoff and registers
/// over the new connection (the new registrar knows nothing of the old binding).
#[tokio::test]
async fn over_tcp_a_registrar_restart_is_followed_by_a_new_connection_and_registration() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let port = kamailio.addr.port();
    let mut args = account(&kamailio, 0);
    args.transport = Transport::Tcp;
    let mut phone = TestPhone::spawn("1001", args);
    phone.expect("registered").await;

    drop(kamailio);
    let lost = phone.expect("error").await;
    assert!(
        lost["message"].as_str().is_some_and(|m| m.contains("SIP connection")),
        "{lost}"
    );
    let kamailio = Kamailio::start_on(Algorithm::Md5, port);
    let again = tokio::time::timeout(Duration::from_secs(20), phone.expect("registered")).await;
    assert!(
        again.is_ok(),
        "no registration over a new connection; saw {:#?}\nkamailio log:\n{}",
        phone.history,
        kamailio.log()
    );
    let (code, events) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
}

/// A private CA (PEM) and a server identity for [`DOMAIN`] signed by it.
fn private_ca() -> (String, TlsIdentity) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Oktell Panel test SIP CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec![DOMAIN.to_owned()])
        .unwrap()
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    let identity = TlsIdentity {
        certificate: server_cert.pem(),
        private_key: server_key.serialize_pem(),
    };
    (ca_cert.pem(), identity)
}

/// The phone registers over TLS, checking kamailio's certificate against a private CA for the account's domain,
/// and calls a UDP phone through it; a phone that does not trust that CA refuses the connection and says why.
#[tokio::test]
async fn over_tls_the_phone_checks_the_certificate_registers_and_calls() {
    let (ca, identity) = private_ca();
    let kamailio = Kamailio::start_tls(Algorithm::Md5, &identity);
    let files = tempfile::tempdir().unwrap();
    let ca_file = files.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();

    let mut untrusting = account(&kamailio, 0);
    untrusting.transport = Transport::Tls;
    untrusting.proxy = kamailio.tls_addr.unwrap();
    let mut refused = TestPhone::spawn("1001", untrusting);
    let error = refused.expect("error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("TLS handshake") && message.contains("certificate"),
        "{error}"
    );
    refused.quit().await;

    let mut callee = account(&kamailio, 1);
    callee.auto_answer = true;
    let mut callee = TestPhone::spawn("1002", callee);
    callee.expect("registered").await;
    let mut args = account(&kamailio, 0);
    args.transport = Transport::Tls;
    args.proxy = kamailio.tls_addr.unwrap();
    args.ca_file = Some(ca_file);
    let mut phone = TestPhone::spawn("1001", args);
    phone.expect("registered").await;
    assert!(
        kamailio
            .log()
            .lines()
            .any(|line| line.contains("REGISTER from 127.0.0.1:") && line.contains(" over tls ")),
        "kamailio saw no REGISTER over TLS:\n{}",
        kamailio.log()
    );
    phone.send(&format!("dial sip:1002@{DOMAIN}")).await;
    callee.expect("incoming").await;
    phone.expect("established").await;
    phone.send("hangup").await;
    callee.expect("closed").await;
    let (code, events) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    callee.quit().await;
}
