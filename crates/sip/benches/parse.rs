//! Parser throughput: messages and bytes parsed per second for the messages a softphone sees
//! most (an INVITE with SDP, a 200 OK with SDP, a REGISTER with Authorization) and for the
//! RFC 4475 valid torture set as a whole.
//!
//! Each case is timed over a batch sized to take about 100 ms; the figure is the median of
//! several batches, so one preempted batch on a shared machine does not move it. Prints a
//! markdown table, and appends `| metric | value | goal |` rows to the file named by
//! `OKTELL_PANEL_BENCH_ROWS` (the convention of the root `benches/startup.rs`).
//!
//! Run: `cargo bench -p sip --bench parse`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a bench binary")]

use std::{
    hint::black_box,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use sip::msg::{Limits, Message, parse};

/// Batches per case; the median is reported.
const RUNS: usize = 9;
/// What one batch should last.
const BATCH: Duration = Duration::from_millis(100);

const INVITE: &str = "INVITE sip:1002@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:1002@pbx.example.com>\r\n\
From: \"Operator 1001\" <sip:1001@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:1001@192.0.2.10:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, UPDATE\r\n\
Supported: replaces, timer\r\n\
Session-Expires: 1800\r\n\
User-Agent: oktell-panel/0.1\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 292\r\n\
\r\n\
v=0\r\n\
o=- 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 111 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const OK: &str = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n\
Record-Route: <sip:192.0.2.1;lr>\r\n\
To: <sip:1002@pbx.example.com>;tag=a6c85cf\r\n\
From: \"Operator 1001\" <sip:1001@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:1002@192.0.2.20:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 192\r\n\
\r\n\
v=0\r\n\
o=- 1 1 IN IP4 192.0.2.20\r\n\
s=-\r\n\
c=IN IP4 192.0.2.20\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const REGISTER: &str = "REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:1001@pbx.example.com>\r\n\
From: <sip:1001@pbx.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@192.0.2.10\r\n\
CSeq: 1827 REGISTER\r\n\
Contact: <sip:1001@192.0.2.10:5060>;expires=300\r\n\
Authorization: Digest username=\"1001\", realm=\"pbx.example.com\", \
nonce=\"ZXhhbXBsZS1ub25jZS0xNzAwMDAwMDAw\", uri=\"sip:pbx.example.com\", \
response=\"7a2b0c6e1f3d4a5b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d\", \
algorithm=SHA-256, cnonce=\"0a4f113b\", qop=auth, nc=00000001, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n\
Expires: 300\r\n\
User-Agent: oktell-panel/0.1\r\n\
Content-Length: 0\r\n\
\r\n";

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("parse: bench");
        return;
    }
    let torture = torture_set();
    let cases: Vec<(String, Vec<&[u8]>)> = vec![
        ("INVITE with SDP".to_owned(), vec![INVITE.as_bytes()]),
        ("200 OK with SDP".to_owned(), vec![OK.as_bytes()]),
        ("REGISTER with Authorization".to_owned(), vec![REGISTER.as_bytes()]),
        (
            format!("RFC 4475 valid set ({} messages)", torture.len()),
            torture.iter().map(Vec::as_slice).collect(),
        ),
    ];
    let limits = Limits::default();
    println!("| message | bytes | messages/s (median of {RUNS}) | MB/s |");
    println!("|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for (name, messages) in &cases {
        for message in messages {
            parse(message, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let bytes: usize = messages.iter().map(|m| m.len()).sum();
        let per_second = median_rate(messages, &limits);
        let mb_per_second = per_second * bytes as f64 / messages.len() as f64 / 1e6;
        println!(
            "| {name} | {} | {per_second:.0} | {mb_per_second:.1} |",
            bytes / messages.len()
        );
        rows.push(format!(
            "| SIP parse: {name}, messages/s | {per_second:.0} | > 100000 |"
        ));
        rows.push(format!("| SIP parse: {name}, MB/s | {mb_per_second:.1} | - |"));
    }
    append_rows(&rows);
}

/// Messages parsed per second over one batch of the set, median of [`RUNS`] batches.
fn median_rate(messages: &[&[u8]], limits: &Limits) -> f64 {
    let rounds = calibrate(messages, limits);
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            parse_rounds(messages, limits, rounds);
            (rounds * messages.len()) as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[RUNS / 2]
}

/// How many passes over the set make a batch of about [`BATCH`].
fn calibrate(messages: &[&[u8]], limits: &Limits) -> usize {
    let mut rounds = 1;
    loop {
        let start = Instant::now();
        parse_rounds(messages, limits, rounds);
        let took = start.elapsed();
        if took >= BATCH / 10 {
            let scale = BATCH.as_secs_f64() / took.as_secs_f64();
            return ((rounds as f64 * scale) as usize).max(1);
        }
        rounds *= 2;
    }
}

fn parse_rounds(messages: &[&[u8]], limits: &Limits, rounds: usize) {
    for _ in 0..rounds {
        for message in messages {
            let parsed: Result<Message, _> = parse(black_box(message), limits);
            black_box(parsed.is_ok());
        }
    }
}

/// The valid RFC 4475 messages that parse (the suite's README says which; a parse failure
/// here would be caught by the torture test, not measured).
fn torture_set() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sip/rfc4475/valid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "dat"))
        .collect();
    files.sort();
    let limits = Limits::default();
    let messages: Vec<Vec<u8>> = files
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .filter(|bytes| parse(bytes, &limits).is_ok())
        .collect();
    assert!(!messages.is_empty(), "no RFC 4475 messages in {}", dir.display());
    messages
}

fn append_rows(rows: &[String]) {
    let Some(path) = std::env::var_os("OKTELL_PANEL_BENCH_ROWS") else {
        return;
    };
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(Path::new(&path))
        .expect("open the bench table");
    for row in rows {
        writeln!(file, "{row}").expect("write the bench table");
    }
}
