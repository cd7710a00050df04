//! REGISTER behaviour against a scripted registrar on a virtual clock.

#![cfg(test)]

mod common;

use std::time::Duration;

use common::{Clock, parse_bytes};
use sip::digest::{Algorithm, Credentials, DigestInput, Qop, compute_response};
use sip::msg::{Message, Request, Response, SentBy, StatusCode, Uri};
use sip::register::{RegisterConfig, RegisterEvent, RegisterFailure, Registration};

fn registration() -> Registration {
    let config = RegisterConfig::new(
        Uri::parse("sip:pbx.example.com").unwrap(),
        Uri::parse("sip:1001@pbx.example.com").unwrap(),
        Uri::parse("sip:1001@192.0.2.10:5060").unwrap(),
        SentBy {
            host: "192.0.2.10".into(),
            port: Some(5060),
        },
    );
    Registration::new(
        config,
        Credentials {
            username: "1001".into(),
            password: "secret1001".into(),
        },
        42,
    )
}

fn sent(reg: &mut Registration) -> Vec<Request> {
    std::iter::from_fn(|| reg.poll_transmit())
        .map(|b| match parse_bytes(&b) {
            Message::Request(r) => r,
            Message::Response(r) => panic!("unexpected response {}", r.status),
        })
        .collect()
}

fn one(reg: &mut Registration) -> Request {
    let mut all = sent(reg);
    assert_eq!(all.len(), 1, "expected exactly one REGISTER: {all:?}");
    all.remove(0)
}

fn events(reg: &mut Registration) -> Vec<RegisterEvent> {
    std::iter::from_fn(|| reg.poll_event()).collect()
}

fn answer(request: &Request, status: u16, extra: &[(&str, &str)]) -> Response {
    let mut r = Response::to_request(request, StatusCode::new(status).unwrap(), "Reason", "reg-tag");
    for (n, v) in extra {
        r.headers.push(n, *v);
    }
    r
}

const CHALLENGE: &str = r#"Digest realm="pbx", nonce="n-1", opaque="op", algorithm=SHA-256, qop="auth""#;

/// Checks an Authorization value the way a registrar would.
fn verify(request: &Request, header: &str, password: &str) -> (String, String) {
    let value = request.headers.get(header).unwrap_or_else(|| panic!("no {header}"));
    let field = |name: &str| -> String {
        let start = value.find(&format!("{name}=")).unwrap() + name.len() + 1;
        let rest = &value[start..];
        let v = if let Some(q) = rest.strip_prefix('"') {
            &q[..q.find('"').unwrap()]
        } else {
            rest.split(',').next().unwrap()
        };
        v.trim().to_owned()
    };
    assert_eq!(
        field("uri"),
        request.uri.as_str(),
        "digest-uri is the Request-URI as sent"
    );
    let algorithm = Algorithm::parse(&field("algorithm")).unwrap();
    let nc = field("nc");
    let expected = compute_response(&DigestInput {
        algorithm,
        username: &field("username"),
        realm: &field("realm"),
        password,
        nonce: &field("nonce"),
        cnonce: &field("cnonce"),
        nc: u32::from_str_radix(&nc, 16).unwrap(),
        qop: Some(Qop::Auth),
        method: "REGISTER",
        uri: &field("uri"),
        body: b"",
    });
    assert_eq!(field("response"), expected);
    assert_eq!(field("opaque"), "op");
    (nc, field("nonce"))
}

/// Registers through one 401 and a 200 granting `granted` via the Contact parameter.
fn registered(clock: &Clock, granted: u32) -> (Registration, Request) {
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    assert!(reg.handle_response(clock.at(10), answer(&first, 401, &[("WWW-Authenticate", CHALLENGE)])));
    let second = one(&mut reg);
    let contact = format!("<sip:1001@192.0.2.10:5060>;expires={granted}");
    assert!(reg.handle_response(clock.at(20), answer(&second, 200, &[("Contact", &contact)])));
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: granted }]);
    (reg, second)
}

#[test]
fn challenge_is_answered_with_same_call_id_and_next_cseq() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    assert_eq!(first.headers.cseq().unwrap().seq, 1);
    assert_eq!(first.headers.get("Authorization"), None);
    assert_eq!(first.headers.get("Expires"), Some("3600"));
    assert_eq!(first.headers.from().unwrap().uri.as_str(), "sip:1001@pbx.example.com");
    assert_eq!(first.headers.to().unwrap().tag(), None);
    assert_eq!(first.headers.top_via().unwrap().rport(), Some(None), "rport requested");
    reg.handle_response(clock.at(10), answer(&first, 401, &[("WWW-Authenticate", CHALLENGE)]));
    assert!(events(&mut reg).is_empty(), "a challenge is not a failure");
    let second = one(&mut reg);
    assert_eq!(second.headers.call_id().unwrap(), first.headers.call_id().unwrap());
    assert_eq!(
        second.headers.from().unwrap().tag(),
        first.headers.from().unwrap().tag()
    );
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_ne!(
        second.headers.top_via().unwrap().branch(),
        first.headers.top_via().unwrap().branch()
    );
    assert_eq!(verify(&second, "Authorization", "secret1001").0, "00000001");
    reg.handle_response(
        clock.at(20),
        answer(&second, 200, &[("Contact", "<sip:1001@192.0.2.10:5060>;expires=120")]),
    );
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 120 }]);
    assert!(reg.is_registered());
}

#[test]
fn proxy_challenge_uses_proxy_authorization() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(clock.at(10), answer(&first, 407, &[("Proxy-Authenticate", CHALLENGE)]));
    let second = one(&mut reg);
    assert_eq!(second.headers.get("Authorization"), None);
    verify(&second, "Proxy-Authorization", "secret1001");
}

#[test]
fn refresh_goes_out_before_expiry_reusing_the_nonce_with_next_nc() {
    let clock = Clock::new();
    let (mut reg, last) = registered(&clock, 3600);
    assert_eq!(
        reg.poll_timeout(),
        Some(clock.at(20 + 3_540_000)),
        "60 s before a long grant"
    );
    reg.handle_timeout(clock.at(20 + 3_540_000));
    let refresh = one(&mut reg);
    assert_eq!(
        refresh.headers.cseq().unwrap().seq,
        last.headers.cseq().unwrap().seq + 1
    );
    assert_eq!(refresh.headers.call_id().unwrap(), last.headers.call_id().unwrap());
    assert_eq!(
        verify(&refresh, "Authorization", "secret1001"),
        ("00000002".into(), "n-1".into())
    );
}

#[test]
fn short_grants_refresh_at_80_percent() {
    let clock = Clock::new();
    let (reg, _) = registered(&clock, 60);
    assert_eq!(reg.poll_timeout(), Some(clock.at(20 + 48_000)));
}

#[test]
fn contact_expires_wins_over_the_expires_header() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    let ok = answer(
        &first,
        200,
        &[
            (
                "Contact",
                "<sip:other@192.0.2.99>;expires=999, <sip:1001@192.0.2.10:5060>;expires=300",
            ),
            ("Expires", "1800"),
        ],
    );
    reg.handle_response(clock.at(5), ok);
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 300 }]);
}

#[test]
fn expires_header_is_used_when_the_contact_has_no_parameter() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(
        clock.at(5),
        answer(
            &first,
            200,
            &[("Contact", "<sip:1001@192.0.2.10:5060>"), ("Expires", "900")],
        ),
    );
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 900 }]);
}

#[test]
fn interval_too_brief_retries_with_min_expires() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(clock.at(5), answer(&first, 423, &[("Min-Expires", "7200")]));
    let second = one(&mut reg);
    assert_eq!(second.headers.get("Expires"), Some("7200"));
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert!(events(&mut reg).is_empty());
}

#[test]
fn interval_too_brief_without_min_expires_is_a_failure() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(clock.at(5), answer(&first, 423, &[]));
    assert!(matches!(
        &events(&mut reg)[..],
        [RegisterEvent::Failed {
            reason: RegisterFailure::Protocol(_),
            ..
        }]
    ));
}

fn retry_in(events: &[RegisterEvent]) -> Duration {
    match events {
        [RegisterEvent::Failed { retry_in, .. }] => *retry_in,
        other => panic!("expected one failure, got {other:?}"),
    }
}

#[test]
fn rejection_retries_with_jittered_doubling_backoff() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(clock.at(5), answer(&first, 403, &[]));
    let evs = events(&mut reg);
    assert!(matches!(
        &evs[0],
        RegisterEvent::Failed {
            reason: RegisterFailure::Rejected { status: 403, .. },
            ..
        }
    ));
    let wait1 = retry_in(&evs);
    assert!(
        (Duration::from_secs(15)..=Duration::from_secs(30)).contains(&wait1),
        "{wait1:?}"
    );
    let at = clock.at(5) + wait1;
    assert_eq!(reg.poll_timeout(), Some(at));
    reg.handle_timeout(at - Duration::from_millis(1));
    assert!(sent(&mut reg).is_empty(), "not before the deadline");
    reg.handle_timeout(at);
    let second = one(&mut reg);
    reg.handle_response(at, answer(&second, 500, &[]));
    let wait2 = retry_in(&events(&mut reg));
    assert!(
        (Duration::from_secs(30)..=Duration::from_secs(60)).contains(&wait2),
        "{wait2:?}"
    );
}

#[test]
fn retry_after_is_honoured() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(
        clock.at(5),
        answer(&first, 503, &[("Retry-After", "300 (maintenance)")]),
    );
    assert_eq!(retry_in(&events(&mut reg)), Duration::from_secs(300));
}

#[test]
fn silence_times_out_after_timer_f_and_retries() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    one(&mut reg);
    let mut retransmissions = 0;
    while let Some(at) = reg.poll_timeout() {
        if at > clock.at(32_000) {
            break;
        }
        reg.handle_timeout(at);
        retransmissions += sent(&mut reg).len();
    }
    assert_eq!(retransmissions, 10, "Timer E schedule over UDP");
    let evs = events(&mut reg);
    assert!(
        matches!(
            &evs[..],
            [RegisterEvent::Failed {
                reason: RegisterFailure::Timeout,
                ..
            }]
        ),
        "{evs:?}"
    );
    let retry = reg.poll_timeout().unwrap();
    reg.handle_timeout(retry);
    assert_eq!(one(&mut reg).headers.cseq().unwrap().seq, 2);
}

#[test]
fn transport_error_is_a_failure_with_retry() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    one(&mut reg);
    reg.handle_transport_error(clock.at(1));
    assert!(matches!(
        &events(&mut reg)[..],
        [RegisterEvent::Failed {
            reason: RegisterFailure::TransportError,
            ..
        }]
    ));
    assert!(reg.poll_timeout().is_some());
}

#[test]
fn wrong_password_fails_instead_of_looping() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(clock.at(5), answer(&first, 401, &[("WWW-Authenticate", CHALLENGE)]));
    let second = one(&mut reg);
    let again = CHALLENGE.replace("n-1", "n-2");
    reg.handle_response(clock.at(10), answer(&second, 401, &[("WWW-Authenticate", &again)]));
    assert!(sent(&mut reg).is_empty());
    assert!(matches!(
        &events(&mut reg)[..],
        [RegisterEvent::Failed {
            reason: RegisterFailure::Auth(_),
            ..
        }]
    ));
}

#[test]
fn stale_nonce_is_retried_silently() {
    let clock = Clock::new();
    let (mut reg, _) = registered(&clock, 3600);
    let refresh_at = reg.poll_timeout().unwrap();
    reg.handle_timeout(refresh_at);
    let refresh = one(&mut reg);
    let stale = r#"Digest realm="pbx", nonce="n-2", opaque="op", algorithm=SHA-256, qop="auth", stale=true"#;
    reg.handle_response(refresh_at, answer(&refresh, 401, &[("WWW-Authenticate", stale)]));
    let retried = one(&mut reg);
    assert_eq!(
        verify(&retried, "Authorization", "secret1001"),
        ("00000001".into(), "n-2".into())
    );
    assert!(events(&mut reg).is_empty());
}

#[test]
fn unregister_sends_expires_zero_and_reports_unregistered() {
    let clock = Clock::new();
    let (mut reg, last) = registered(&clock, 3600);
    reg.unregister(clock.at(1_000));
    let bye = one(&mut reg);
    assert_eq!(bye.headers.get("Expires"), Some("0"));
    assert_eq!(bye.headers.cseq().unwrap().seq, last.headers.cseq().unwrap().seq + 1);
    assert!(
        bye.headers.get("Authorization").is_some(),
        "pre-authorised with the cached nonce"
    );
    reg.handle_response(clock.at(1_010), answer(&bye, 200, &[]));
    assert_eq!(events(&mut reg), vec![RegisterEvent::Unregistered]);
    assert!(!reg.is_registered());
    assert_eq!(reg.poll_timeout(), None, "no refresh after unregistering");
}

#[test]
fn unregister_waits_for_the_register_in_flight() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.unregister(clock.at(1));
    assert!(sent(&mut reg).is_empty(), "one REGISTER at a time (RFC 3261 §10.2)");
    reg.handle_response(
        clock.at(5),
        answer(&first, 200, &[("Contact", "<sip:1001@192.0.2.10:5060>;expires=60")]),
    );
    let bye = one(&mut reg);
    assert_eq!(bye.headers.get("Expires"), Some("0"));
    reg.handle_response(clock.at(6), answer(&bye, 200, &[]));
    assert_eq!(
        events(&mut reg),
        vec![RegisterEvent::Registered { expires: 60 }, RegisterEvent::Unregistered]
    );
}

#[test]
fn unregister_before_any_registration_is_immediate() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.unregister(clock.at(0));
    assert!(sent(&mut reg).is_empty());
    assert_eq!(events(&mut reg), vec![RegisterEvent::Unregistered]);
}

#[test]
fn responses_of_other_transactions_are_not_consumed() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    let mut foreign = answer(&first, 200, &[]);
    foreign
        .headers
        .set("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKother");
    assert!(!reg.handle_response(clock.at(1), foreign));
    assert!(events(&mut reg).is_empty());
}

#[test]
fn ids_are_deterministic_for_a_seed() {
    let clock = Clock::new();
    let (mut a, mut b) = (registration(), registration());
    a.register(clock.at(0));
    b.register(clock.at(0));
    assert_eq!(one(&mut a).to_bytes(), one(&mut b).to_bytes());
}

#[test]
fn a_forgotten_nonce_on_refresh_is_answered_not_treated_as_refusal() {
    let clock = Clock::new();
    let (mut reg, _) = registered(&clock, 3600);
    let refresh_at = reg.poll_timeout().unwrap();
    reg.handle_timeout(refresh_at);
    let refresh = one(&mut reg);
    assert!(
        refresh.headers.get("Authorization").is_some(),
        "pre-authorised with n-1"
    );
    let fresh = CHALLENGE.replace("n-1", "n-7");
    reg.handle_response(refresh_at, answer(&refresh, 401, &[("WWW-Authenticate", &fresh)]));
    let retried = one(&mut reg);
    assert_eq!(
        verify(&retried, "Authorization", "secret1001"),
        ("00000001".into(), "n-7".into())
    );
    assert!(events(&mut reg).is_empty());
}

fn natted(request: &Request, status: u16, via_params: &str, extra: &[(&str, &str)]) -> Response {
    let mut r = answer(request, status, extra);
    let via = request.headers.get("Via").unwrap().replace(";rport", via_params);
    r.headers.set("Via", via);
    r
}

#[test]
fn behind_nat_the_public_address_is_registered_and_the_old_binding_removed() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    let nat = ";received=203.0.113.7;rport=40123";
    reg.handle_response(
        clock.at(10),
        natted(
            &first,
            200,
            nat,
            &[("Contact", "<sip:1001@192.0.2.10:5060>;expires=600")],
        ),
    );
    assert!(
        events(&mut reg).is_empty(),
        "not registered until the reachable address is"
    );
    let second = one(&mut reg);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(second.headers.contacts().unwrap().len(), 2);
    assert_eq!(
        second.headers.get_all("Contact").collect::<Vec<_>>(),
        vec!["<sip:1001@203.0.113.7:40123>", "<sip:1001@192.0.2.10:5060>;expires=0"]
    );
    reg.handle_response(
        clock.at(20),
        natted(
            &second,
            200,
            nat,
            &[("Contact", "<sip:1001@203.0.113.7:40123>;expires=600")],
        ),
    );
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 600 }]);
    assert_eq!(reg.contact().uri.as_str(), "sip:1001@203.0.113.7:40123");
    let refresh_at = reg.poll_timeout().unwrap();
    reg.handle_timeout(refresh_at);
    let refresh = one(&mut reg);
    assert_eq!(
        refresh.headers.get_all("Contact").collect::<Vec<_>>(),
        vec!["<sip:1001@203.0.113.7:40123>"]
    );
}

#[test]
fn an_unstable_nat_mapping_does_not_make_registration_loop() {
    let clock = Clock::new();
    let mut reg = registration();
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(
        clock.at(10),
        natted(&first, 200, ";received=203.0.113.7;rport=40123", &[]),
    );
    let second = one(&mut reg);
    reg.handle_response(
        clock.at(20),
        natted(&second, 200, ";received=203.0.113.7;rport=40999", &[]),
    );
    assert!(sent(&mut reg).is_empty(), "learnt once, then the grant is accepted");
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 3600 }]);
}

#[test]
fn address_learning_can_be_switched_off() {
    let clock = Clock::new();
    let mut config = RegisterConfig::new(
        Uri::parse("sip:pbx.example.com").unwrap(),
        Uri::parse("sip:1001@pbx.example.com").unwrap(),
        Uri::parse("sip:1001@192.0.2.10:5060").unwrap(),
        SentBy {
            host: "192.0.2.10".into(),
            port: Some(5060),
        },
    );
    config.learn_public_address = false;
    let mut reg = Registration::new(
        config,
        Credentials {
            username: "1001".into(),
            password: "x".into(),
        },
        3,
    );
    reg.register(clock.at(0));
    let first = one(&mut reg);
    reg.handle_response(
        clock.at(10),
        natted(&first, 200, ";received=203.0.113.7;rport=40123", &[]),
    );
    assert_eq!(events(&mut reg), vec![RegisterEvent::Registered { expires: 3600 }]);
}
