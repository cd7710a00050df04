//! RFC 4475 torture messages: what our parser makes of each one, per the expectations in
//! shared/sip/rfc4475/README.md. A panic anywhere here is our bug, never the message's.

#![cfg(test)]

use std::path::PathBuf;

use sip::msg::{Limits, Message, parse};

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/sip/rfc4475"))
}

fn load(path: &str) -> Vec<u8> {
    let file = dir().join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// What a UA must do with the message.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Parses as a request.
    Request,
    /// Parses as a response.
    Response,
    /// Rejected; a request is answered with this status.
    Answer(u16),
    /// Rejected and dropped: a response, or too broken to address an answer.
    Drop,
}
use Expect::*;

const VALID: &[(&str, Expect)] = &[
    ("wsinv", Request),
    ("intmeth", Request),
    ("esc01", Request),
    ("escnull", Request),
    ("esc02", Request),
    ("lwsdisp", Request),
    ("longreq", Request),
    ("dblreq", Request),
    ("semiuri", Request),
    ("transports", Request),
    ("mpart01", Request),
    ("unreason", Response),
    ("noreason", Response),
    ("badbranch", Request),
    ("unkscm", Request),
    ("novelsc", Request),
    ("unksm2", Request),
    ("bext01", Request),
    ("invut", Request),
    ("regaut01", Request),
    ("bcast", Response),
    ("zeromf", Request),
    ("cparam01", Request),
    ("cparam02", Request),
    ("regescrt", Request),
    ("sdp01", Request),
    ("inv2543", Request),
];

const INVALID: &[(&str, Expect)] = &[
    ("badinv01", Answer(400)),
    ("clerr", Answer(400)),
    ("ncl", Answer(400)),
    ("scalar02", Answer(400)),
    ("scalarlg", Drop),
    ("quotbal", Answer(400)),
    ("ltgtruri", Answer(400)),
    ("lwsruri", Answer(400)),
    ("lwsstart", Answer(400)),
    ("trws", Answer(400)),
    ("escruri", Answer(400)),
    ("baddate", Answer(400)),
    ("regbadct", Answer(400)),
    ("badaspec", Answer(400)),
    ("baddn", Answer(400)),
    ("badvers", Answer(505)),
    ("mismatch01", Answer(400)),
    ("mismatch02", Answer(400)),
    ("bigcode", Drop),
    // No Call-ID, From or To: nothing to address a response with.
    ("insuf", Drop),
    // Two Call-IDs, Froms, Tos and CSeqs: any answer would copy a guess.
    ("multi01", Drop),
    ("mcl01", Answer(400)),
];

fn outcome(bytes: &[u8]) -> Expect {
    match parse(bytes, &Limits::default()) {
        Ok(Message::Request(_)) => Request,
        Ok(Message::Response(_)) => Response,
        Err(e) => match e.response("rej1") {
            Some(r) => Answer(r.status.code()),
            None => Drop,
        },
    }
}

#[test]
fn every_torture_message_gets_its_expected_outcome() {
    let mut wrong = Vec::new();
    for (group, table) in [("valid", VALID), ("invalid", INVALID)] {
        for (name, expected) in table {
            let got = outcome(&load(&format!("{group}/{name}.dat")));
            if got != *expected {
                wrong.push(format!("{group}/{name}: expected {expected:?}, got {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_every_file_in_the_suite() {
    for (group, table) in [("valid", VALID), ("invalid", INVALID)] {
        let mut on_disk: Vec<String> = std::fs::read_dir(dir().join(group))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".dat")
                    .to_owned()
            })
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = table.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "{group}");
    }
}

fn request(name: &str) -> sip::msg::Request {
    match parse(&load(&format!("valid/{name}.dat")), &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn tortuous_invite_yields_its_values() {
    let r = request("wsinv");
    let h = &r.headers;
    assert_eq!(h.to().unwrap().tag().as_deref(), Some("1918181833n"));
    assert_eq!(h.from().unwrap().display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(h.max_forwards().unwrap(), Some(68));
    assert_eq!(h.cseq().unwrap().seq, 9);
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[2].branch().as_deref(), Some("z9hG4bK30239"));
    assert_eq!(h.get("Subject"), Some(""));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn unknown_methods_are_kept_verbatim() {
    assert_eq!(
        request("intmeth").method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert_eq!(request("esc02").method.as_str(), "RE%47IST%45R");
}

#[test]
fn escapes_are_never_decoded() {
    let r = request("esc01");
    assert_eq!(r.uri.as_str(), "sip:sips%3Auser%40example.com@example.net");
    let r = request("escnull");
    assert_eq!(r.headers.contacts().unwrap().len(), 2);
}

#[test]
fn trailing_octets_after_content_length_are_ignored() {
    let r = request("dblreq");
    assert_eq!(r.method, sip::msg::Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn binary_multipart_body_is_framed_by_content_length() {
    let r = request("mpart01");
    let declared: usize = r.headers.get("Content-Length").unwrap().parse().unwrap();
    assert_eq!(r.body.len(), declared);
    assert!(r.body.contains(&0));
}

#[test]
fn contact_parameter_versus_uri_parameter() {
    let c = request("cparam01").headers.contacts().unwrap();
    let sip::msg::Contact::Address(a) = &c[0] else { panic!() };
    assert!(a.params.contains("unknownparam"));
    assert_eq!(a.uri.param("unknownparam"), None);
    let c = request("cparam02").headers.contacts().unwrap();
    let sip::msg::Contact::Address(a) = &c[0] else { panic!() };
    assert!(!a.params.contains("unknownparam"));
    assert_eq!(a.uri.param("unknownparam"), Some(None));
}

#[test]
fn semicolons_in_the_user_part_are_not_uri_parameters() {
    let r = request("semiuri");
    assert_eq!(r.uri.user(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri.host_port(), "example.com");
}

#[test]
fn bad_request_copies_the_transaction_headers() {
    let err = parse(&load("invalid/mismatch01.dat"), &Limits::default()).unwrap_err();
    let resp = err.response("t9").unwrap();
    let text = String::from_utf8(resp.to_bytes()).unwrap();
    assert!(text.starts_with("SIP/2.0 400 Bad Request"), "{text}");
    assert!(text.contains("Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"));
    assert!(text.contains("To: <sip:j.user@example.com>;tag=t9\r\n"));
    assert!(text.contains("Call-ID: mismatch01.dj0234sxdfl3\r\n"));
    assert!(text.contains("CSeq: 8 INVITE\r\n"));
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
}
