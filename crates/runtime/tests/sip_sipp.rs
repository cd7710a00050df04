//! Our user agent (the [`SipLink`] driver) against SIPp scripted edge cases on 127.0.0.1.
//!
//! Each test starts the link and one SIPp run of a scenario from `tests/peers/sipp/` (its
//! README has the table: what the peer does, what we must show), then asserts both sides: the
//! link's events, SIPp's exit code (0 only when every step of the scenario matched) and, where
//! the scenario cannot say it, the messages SIPp logged (`-trace_msg`). SIPp runs with `-nr`:
//! every retransmission in its log is ours.
//!
//! Timers are shortened (T1 = 50 ms) so that Timer H and the 2xx retransmission schedule
//! play out in about three seconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{
    net::{SocketAddr, UdpSocket},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use runtime::sip_link::{LinkCommand, LinkConfig, LinkEvent, SipLink};
use sip::{
    invite::{CallHandle, EndReason},
    msg::Limits,
    sdp::{Codec, Direction, MediaConfig},
    transaction::TimerConfig,
    ua::{UaConfig, UaEvent},
};
use sip_support::{PATIENCE, free_udp_port, loopback};

/// The account SIPp's `verifyauth` checks (uas_challenges_401_then_407.xml).
const USER: &str = "alice";
const PASSWORD: &str = "wonderland";

fn fast_timers() -> TimerConfig {
    TimerConfig {
        t1: Duration::from_millis(50),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
        timer_d: Duration::from_millis(500),
        trying_delay: Duration::from_millis(200),
    }
}

// ---- SIPp ----

/// One SIPp run in its own process group, killed with the group when dropped (also when the
/// test panics).
struct Sipp {
    child: Child,
    /// SIPp's signalling address.
    addr: SocketAddr,
    dir: tempfile::TempDir,
    scenario: &'static str,
}

impl Sipp {
    /// SIPp as the caller on `port`: it sends the scenario's requests to `target`.
    fn calls(scenario: &'static str, port: u16, target: SocketAddr, keys: &[(&str, &str)]) -> Self {
        Self::spawn(scenario, port, Some(target), keys)
    }

    /// SIPp as the callee: it waits for our requests on [`Sipp::addr`].
    fn answers(scenario: &'static str) -> Self {
        let sipp = Self::spawn(scenario, free_udp_port(), None, &[]);
        sipp.wait_listening();
        sipp
    }

    fn spawn(scenario: &'static str, port: u16, target: Option<SocketAddr>, keys: &[(&str, &str)]) -> Self {
        use std::os::unix::process::CommandExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers/sipp")
            .join(format!("{scenario}.xml"));
        let mut command = Command::new("sipp");
        if let Some(target) = target {
            command.arg(target.to_string());
        }
        command
            .arg("-sf")
            .arg(&path)
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            // Media and control sockets on free ports: tests run in parallel.
            .args(["-mp", &free_udp_port().to_string(), "-cp", &free_udp_port().to_string()])
            .args(["-m", "1", "-nr", "-nostdin", "-timeout", "20s", "-timeout_error"])
            .args(["-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .args(["-trace_err", "-error_file"])
            .arg(dir.path().join("errors.log"));
        for (key, value) in keys {
            command.args(["-key", key, value]);
        }
        let screen = std::fs::File::create(dir.path().join("screen.log")).unwrap();
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(screen.try_clone().unwrap())
            .stderr(screen)
            .process_group(0);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                panic!("sipp is not installed: apt-get install sip-tester")
            }
            Err(error) => panic!("cannot start sipp: {error}"),
        };
        Self {
            child,
            addr: loopback(port),
            dir,
            scenario,
        }
    }

    /// Polls until SIPp holds its port (a bind to it fails), so our first request is not lost.
    fn wait_listening(&self) {
        let deadline = Instant::now() + PATIENCE;
        while UdpSocket::bind(self.addr).is_ok() {
            assert!(
                Instant::now() < deadline,
                "sipp never bound {}:\n{}",
                self.addr,
                self.report()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for SIPp to end the scenario and returns its exit code (0: every step matched).
    async fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(25);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "{}: sipp did not finish:\n{}",
                self.scenario,
                self.report()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that the scenario ran to its end.
    async fn succeeded(&mut self) {
        let code = self.exit_code().await;
        assert_eq!(code, 0, "{}: sipp failed:\n{}", self.scenario, self.report());
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The messages SIPp received, each as text.
    fn received(&self) -> Vec<String> {
        let log = self.file("messages.log");
        log.split("----------------------------------------------- ")
            .filter_map(|entry| {
                let (head, message) = entry.split_once(" bytes :")?;
                head.contains("message received").then(|| message.trim().to_owned())
            })
            .collect()
    }

    /// How many received messages start with `start` (e.g. `SIP/2.0 200`, `ACK `) and have
    /// a CSeq line ending in `method`.
    fn count_received(&self, start: &str, method: &str) -> usize {
        self.received()
            .iter()
            .filter(|m| m.starts_with(start) && cseq_method(m) == Some(method))
            .count()
    }

    /// Polls SIPp's message log until it received `n` messages [`Sipp::count_received`]
    /// counts; the way a test waits for a point in the scenario.
    async fn wait_received(&self, start: &str, method: &str, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.count_received(start, method) < n {
            assert!(
                Instant::now() < deadline,
                "{}: sipp did not receive {n} `{start}` for {method}:\n{}",
                self.scenario,
                self.report()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn report(&self) -> String {
        format!(
            "--- screen\n{}\n--- errors\n{}\n--- messages\n{}",
            self.file("screen.log"),
            self.file("errors.log"),
            self.file("messages.log")
        )
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}: what sipp saw:\n{}", self.scenario, self.report());
        }
        let group = format!("-{}", self.child.id());
        // The group is gone when SIPp already exited: nothing to report then.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn cseq_method(message: &str) -> Option<&str> {
    message
        .lines()
        .find_map(|line| line.strip_prefix("CSeq:"))
        .and_then(|value| value.split_whitespace().nth(1))
}

// ---- our user agent ----

/// The link with every event it reported so far.
struct Ua {
    link: SipLink,
    seen: Vec<LinkEvent>,
}

impl Ua {
    /// Our user agent on a free loopback port; every request it originates goes to `peer`.
    async fn start(peer: SocketAddr) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let ua = UaConfig {
            local: loopback(0),
            proxy: peer,
            domain: String::from("127.0.0.1"),
            user: String::from(USER),
            display_name: None,
            password: String::from(PASSWORD),
            register_expires: 300,
            media: MediaConfig {
                address: String::from("127.0.0.1"),
                port: 0,
                codecs: vec![Codec::Pcmu, Codec::Pcma],
                telephone_event: true,
                ptime: 20,
            },
            timers: fast_timers(),
            limits: Limits::default(),
            user_agent: String::from("oktell-panel-sipp-test"),
            seed: 4475,
            refer_policy: Default::default(),
            session_timer: Default::default(),
        };
        let config = LinkConfig {
            ua,
            signalling_bind: loopback(0),
            rtp_bind: loopback(0),
            register: false,
            play: None,
            record: None,
            signalling: Default::default(),
        };
        Self {
            link: SipLink::start(config).await.unwrap(),
            seen: Vec::new(),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.link.local_addr()
    }

    async fn send(&self, command: LinkCommand) {
        self.link.commands().send(command).await.unwrap();
    }

    /// The next event `pick` accepts, keeping the others; fails after [`PATIENCE`].
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(&LinkEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.link.next_event()).await {
                Ok(Some(event)) => {
                    let picked = pick(&event);
                    self.seen.push(event);
                    if let Some(value) = picked {
                        return value;
                    }
                }
                Ok(None) => panic!("link stopped before {what}; saw {:#?}", self.seen),
                Err(_) => panic!("no {what} within {PATIENCE:?}; saw {:#?}", self.seen),
            }
        }
    }

    async fn incoming_call(&mut self) -> CallHandle {
        self.expect("an incoming call", |e| match e {
            LinkEvent::Sip(UaEvent::IncomingCall { call, .. }) => Some(*call),
            _ => None,
        })
        .await
    }

    async fn established(&mut self) -> CallHandle {
        self.expect("an established call", |e| match e {
            LinkEvent::Sip(UaEvent::Established { call, .. }) => Some(*call),
            _ => None,
        })
        .await
    }

    async fn dialing(&mut self) -> CallHandle {
        self.expect("our call's handle", |e| match e {
            LinkEvent::Dialing { call, .. } => Some(*call),
            _ => None,
        })
        .await
    }

    async fn ended(&mut self, call: CallHandle) -> EndReason {
        self.expect("the end of the call", |e| match e {
            LinkEvent::Sip(UaEvent::Ended { call: c, reason }) if *c == call => Some(reason.clone()),
            _ => None,
        })
        .await
    }

    /// Places a call to SIPp.
    async fn dial(&mut self, sipp: &Sipp) -> CallHandle {
        self.send(LinkCommand::Call {
            target: format!("sip:service@{}", sipp.addr),
        })
        .await;
        self.dialing().await
    }

    /// Shuts the link down and returns every event it reported.
    async fn finish(mut self) -> Vec<LinkEvent> {
        let shutdown = async {
            self.link.commands().send(LinkCommand::Shutdown).await.unwrap();
            while let Some(event) = self.link.next_event().await {
                self.seen.push(event);
            }
        };
        tokio::time::timeout(PATIENCE, shutdown)
            .await
            .unwrap_or_else(|_| panic!("the link did not stop"));
        self.seen
    }
}

fn count(events: &[LinkEvent], pick: impl Fn(&LinkEvent) -> bool) -> usize {
    events.iter().filter(|e| pick(e)).count()
}

fn is_incoming(event: &LinkEvent) -> bool {
    matches!(event, LinkEvent::Sip(UaEvent::IncomingCall { .. }))
}

fn is_established(event: &LinkEvent) -> bool {
    matches!(event, LinkEvent::Sip(UaEvent::Established { .. }))
}

fn is_sip(event: &LinkEvent) -> bool {
    matches!(event, LinkEvent::Sip(_))
}

// ---- SIPp calls us ----

/// Our user agent and a SIPp that calls it: SIPp's port is chosen first, so that requests we
/// originate (a BYE) go to it.
async fn called_by(scenario: &'static str, keys: &[(&str, &str)]) -> (Ua, Sipp) {
    let port = free_udp_port();
    let ua = Ua::start(loopback(port)).await;
    let sipp = Sipp::calls(scenario, port, ua.addr(), keys);
    (ua, sipp)
}

/// Answers the next incoming call and waits until it is established.
async fn answer_next_call(ua: &mut Ua) -> CallHandle {
    let call = ua.incoming_call().await;
    ua.send(LinkCommand::Answer(call)).await;
    let established = ua.established().await;
    assert_eq!(established, call);
    call
}

/// RFC 3261 §13.3.1.4: our 2xx is retransmitted (T1 doubling to T2) until the ACK; with no
/// ACK by 64·T1 the call is ended with BYE and reported as a timeout.
#[tokio::test]
async fn an_unacknowledged_answer_is_retransmitted_then_ended_with_bye() {
    let (mut ua, mut sipp) = called_by("uac_never_acks", &[]).await;
    let call = ua.incoming_call().await;
    let answered = Instant::now();
    ua.send(LinkCommand::Answer(call)).await;
    let reason = ua.ended(call).await;
    let after = answered.elapsed();
    assert_eq!(reason, EndReason::Timeout, "{}", sipp.report());
    let timeout = fast_timers().timeout();
    assert!(
        after >= timeout - Duration::from_millis(100),
        "gave up after {after:?}, before 64·T1 = {timeout:?}"
    );
    // SIPp received our BYE (the scenario's last step) and answered it.
    sipp.succeeded().await;
    // 50, 100, 200, 400, 400... ms: at least the first four retransmissions are in the log.
    let oks = sipp.count_received("SIP/2.0 200", "INVITE");
    assert!(oks >= 5, "{oks} copies of our 200 reached sipp:\n{}", sipp.report());
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 0, "{events:#?}");
}

/// The caller's INVITE arrives twice before our answer and once more after it: the server
/// transaction absorbs the copies, so there is one call, answered once.
#[tokio::test]
async fn a_retransmitted_invite_is_absorbed_into_one_call() {
    let (mut ua, mut sipp) = called_by("uac_invite_retransmitted", &[]).await;
    let call = ua.incoming_call().await;
    // The copy sent while we ring got our 180 again (§17.2.1): only then do we answer.
    sipp.wait_received("SIP/2.0 180", "INVITE", 2).await;
    ua.send(LinkCommand::Answer(call)).await;
    assert_eq!(ua.established().await, call);
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    let events = ua.finish().await;
    assert_eq!(count(&events, is_incoming), 1, "{events:#?}");
    assert_eq!(count(&events, is_established), 1, "{events:#?}");
}

/// CANCEL before our answer (RFC 3261 §9.2): 200 for the CANCEL, 487 for the INVITE, the
/// call ends as cancelled, and an answer that comes too late is refused.
#[tokio::test]
async fn a_cancel_before_our_answer_ends_the_call_with_487() {
    let (mut ua, mut sipp) = called_by("uac_cancels_before_answer", &[]).await;
    let call = ua.incoming_call().await;
    assert_eq!(ua.ended(call).await, EndReason::CancelledByRemote);
    ua.send(LinkCommand::Answer(call)).await;
    ua.expect("the late answer refused", |e| match e {
        LinkEvent::CommandFailed { command: "answer", .. } => Some(()),
        _ => None,
    })
    .await;
    sipp.succeeded().await;
    // Our 487 was ACKed: no copy of it may follow (Timer G stops at the ACK).
    assert_eq!(sipp.count_received("SIP/2.0 487", "INVITE"), 1, "{}", sipp.report());
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 0, "{events:#?}");
}

/// CANCEL after our 200 crossed it: the CANCEL gets its 200 and changes nothing; the call is
/// established by the ACK and ended by the caller's BYE.
#[tokio::test]
async fn a_cancel_after_our_answer_leaves_the_call_up() {
    let (mut ua, mut sipp) = called_by("uac_cancels_after_answer", &[]).await;
    let call = answer_next_call(&mut ua).await;
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 1, "{events:#?}");
}

/// A BYE whose To tag is not ours matches no dialog: 481, and the call stays up until the
/// real BYE.
#[tokio::test]
async fn a_bye_with_a_wrong_tag_gets_481_and_leaves_the_call_up() {
    let (mut ua, mut sipp) = called_by("uac_bye_wrong_tag", &[]).await;
    let call = answer_next_call(&mut ua).await;
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    let events = ua.finish().await;
    assert_eq!(
        count(&events, |e| matches!(e, LinkEvent::Sip(UaEvent::Ended { .. }))),
        1,
        "{events:#?}"
    );
}

/// The peer's re-INVITE with `a=sendonly` puts us on hold: we answer `a=recvonly` (checked by
/// the scenario) and report the hold as the peer's.
#[tokio::test]
async fn a_remote_hold_is_answered_recvonly() {
    let (mut ua, mut sipp) = called_by("uac_puts_us_on_hold", &[]).await;
    let call = answer_next_call(&mut ua).await;
    let held = ua
        .expect("the remote hold", |e| match e {
            LinkEvent::Sip(UaEvent::MediaUpdated { call: c, media }) if *c == call => Some(media.clone()),
            _ => None,
        })
        .await;
    assert!(held.held_by_remote, "{held:?}");
    assert_eq!(held.direction, Direction::RecvOnly);
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    ua.finish().await;
}

/// Malformed requests never reach the call layer: one without Call-ID cannot be answered and
/// is dropped, a CSeq that is no number and an INVITE whose CSeq names another method get
/// 400, a 10 kB header is dropped or answered 400; the OPTIONS after them is still served.
#[tokio::test]
async fn malformed_requests_are_answered_400_or_dropped() {
    let huge = "x".repeat(10_000);
    let (ua, mut sipp) = called_by("uac_malformed_requests", &[("huge", &huge)]).await;
    sipp.succeeded().await;
    for message in sipp.received() {
        assert!(
            message.starts_with("SIP/2.0 400") || message.starts_with("SIP/2.0 200"),
            "unexpected answer:\n{message}"
        );
    }
    // The INVITE whose CSeq says BYE got its 400 (copying that CSeq) and started no call.
    assert_eq!(sipp.count_received("SIP/2.0 400", "BYE"), 1, "{}", sipp.report());
    // The message without Call-ID got nothing: a response SIPp could not route is in the log too.
    assert!(
        sipp.received()
            .iter()
            .all(|m| m.contains("Call-ID:") || m.contains("\ni:")),
        "{}",
        sipp.report()
    );
    let events = ua.finish().await;
    assert_eq!(count(&events, is_sip), 0, "{events:#?}");
}

/// An OPTIONS ping outside any dialog gets a final response (200 with Allow, or 405).
#[tokio::test]
async fn an_options_ping_gets_a_final_response() {
    let (ua, mut sipp) = called_by("uac_options_ping", &[]).await;
    sipp.succeeded().await;
    let answers = sipp.received();
    assert_eq!(answers.len(), 1, "{}", sipp.report());
    let answer = &answers[0];
    assert!(
        answer.starts_with("SIP/2.0 200") || answer.starts_with("SIP/2.0 405"),
        "{answer}"
    );
    assert!(answer.contains("Allow:"), "{answer}");
    let events = ua.finish().await;
    assert_eq!(count(&events, is_sip), 0, "{events:#?}");
}

/// An INVITE without SDP (RFC 3261 §13.2.1): our 200 carries the offer (checked by the
/// scenario), the caller's ACK the answer, and the call is established with its codec.
#[tokio::test]
async fn an_offerless_invite_gets_our_offer_and_the_answer_in_the_ack() {
    let (mut ua, mut sipp) = called_by("uac_offerless_invite", &[]).await;
    let call = ua.incoming_call().await;
    ua.send(LinkCommand::Answer(call)).await;
    let media = ua
        .expect("the call established by the ACK's answer", |e| match e {
            LinkEvent::Sip(UaEvent::Established { call: c, media }) if *c == call => Some(media.clone()),
            _ => None,
        })
        .await;
    assert_eq!(media.codec, Codec::Pcmu);
    assert_eq!(media.remote_address, "127.0.0.1");
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    ua.finish().await;
}

// ---- we call SIPp ----

/// We hang up while it rings; the callee answers the CANCEL and 487s the INVITE, which we
/// ACK (the scenario waits for it).
#[tokio::test]
async fn our_cancel_before_the_answer_ends_with_487() {
    let mut sipp = Sipp::answers("uas_cancel_then_487");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    ua.expect("ringing", |e| match e {
        LinkEvent::Sip(UaEvent::Progress {
            call: c, status: 180, ..
        }) if *c == call => Some(()),
        _ => None,
    })
    .await;
    ua.send(LinkCommand::Hangup(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::Local);
    sipp.succeeded().await;
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 0, "{events:#?}");
}

/// Our CANCEL loses the race: the callee 200s the CANCEL and then the INVITE. The call
/// exists at the callee now, so we ACK the 200 and hang up with BYE (RFC 3261 §9.1); the
/// scenario waits for both.
#[tokio::test]
async fn a_200_after_our_cancel_is_acked_then_hung_up() {
    let mut sipp = Sipp::answers("uas_answers_despite_cancel");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    ua.expect("ringing", |e| match e {
        LinkEvent::Sip(UaEvent::Progress { call: c, .. }) if *c == call => Some(()),
        _ => None,
    })
    .await;
    ua.send(LinkCommand::Hangup(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::Local);
    sipp.succeeded().await;
    assert_eq!(sipp.count_received("ACK ", "ACK"), 1, "{}", sipp.report());
    assert_eq!(sipp.count_received("BYE ", "BYE"), 1, "{}", sipp.report());
    ua.finish().await;
}

/// Glare (RFC 3261 §14.1, §14.2): our hold re-INVITE and the peer's cross. We answer the
/// peer's 491 while ours is pending, the peer answers ours 491, and we offer again after
/// 2.1–4 s (we own the Call-ID); the second offer is accepted with `a=recvonly`.
#[tokio::test]
async fn reinvite_glare_gets_491_both_ways_and_our_retry_succeeds() {
    let mut sipp = Sipp::answers("uas_glare_491");
    let mut ua = Ua::start(sipp.addr).await;
    ua.dial(&sipp).await;
    let call = ua.established().await;
    let hold = Instant::now();
    ua.send(LinkCommand::Hold(call)).await;
    let media = ua
        .expect("the hold after the retry", |e| match e {
            LinkEvent::Sip(UaEvent::MediaUpdated { call: c, media }) if *c == call => Some(media.clone()),
            LinkEvent::Sip(UaEvent::ModifyFailed { .. }) => panic!("hold refused: {e:?}"),
            _ => None,
        })
        .await;
    let waited = hold.elapsed();
    assert_eq!(media.direction, Direction::SendOnly, "{media:?}");
    assert!(
        waited >= Duration::from_millis(2100),
        "offered again after {waited:?}, sooner than 2.1 s"
    );
    // The peer's glaring re-INVITE did not change the session.
    assert!(!media.held_by_remote, "{media:?}");
    ua.send(LinkCommand::Hangup(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::Local);
    sipp.succeeded().await;
    assert_eq!(sipp.count_received("SIP/2.0 491", "INVITE"), 1, "{}", sipp.report());
    let events = ua.finish().await;
    assert_eq!(
        count(&events, |e| matches!(e, LinkEvent::Sip(UaEvent::MediaUpdated { .. }))),
        1,
        "{events:#?}"
    );
}

/// 401 then 407 then 200: each challenge is answered on a new INVITE, the first credential
/// (checked by SIPp's `verifyauth`) kept when the second realm is added.
#[tokio::test]
async fn a_401_then_407_challenge_is_answered_with_both_credentials() {
    let mut sipp = Sipp::answers("uas_challenges_401_then_407");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    assert_eq!(ua.established().await, call);
    ua.send(LinkCommand::Hangup(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::Local);
    sipp.succeeded().await;
    assert_eq!(sipp.count_received("INVITE ", "INVITE"), 3, "{}", sipp.report());
    assert_eq!(sipp.count_received("ACK ", "ACK"), 3, "{}", sipp.report());
}

/// 183 with the SDP answer is early media; the 200 that follows establishes the call.
#[tokio::test]
async fn early_media_from_183_then_the_call_on_200() {
    let mut sipp = Sipp::answers("uas_early_media_183");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    let early = ua
        .expect("early media", |e| match e {
            LinkEvent::Sip(UaEvent::Progress {
                call: c,
                status,
                early_media,
            }) if *c == call => Some((*status, early_media.clone())),
            _ => None,
        })
        .await;
    assert_eq!(early.0, 183);
    let early = early.1.expect("the 183 carried SDP");
    assert_eq!(early.codec, Codec::Pcmu);
    assert_eq!(ua.established().await, call);
    ua.send(LinkCommand::Hangup(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::Local);
    sipp.succeeded().await;
    ua.finish().await;
}

/// 486 Busy Here: ACKed inside the transaction (the scenario waits for it), reported as a
/// rejection with the status.
#[tokio::test]
async fn a_busy_callee_is_reported_as_rejected_486() {
    let mut sipp = Sipp::answers("uas_busy_486");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    match ua.ended(call).await {
        EndReason::Rejected { status, .. } => assert_eq!(status, 486),
        other => panic!("ended by {other:?}"),
    }
    sipp.succeeded().await;
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 0, "{events:#?}");
}

/// The callee sends its 200 twice: each copy is ACKed (RFC 3261 §13.2.2.4), there is one
/// call, and the callee's BYE ends it.
#[tokio::test]
async fn a_retransmitted_200_is_acked_each_time_for_one_call() {
    let mut sipp = Sipp::answers("uas_retransmits_200");
    let mut ua = Ua::start(sipp.addr).await;
    let call = ua.dial(&sipp).await;
    assert_eq!(ua.established().await, call);
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    assert_eq!(sipp.count_received("ACK ", "ACK"), 2, "{}", sipp.report());
    let events = ua.finish().await;
    assert_eq!(count(&events, is_established), 1, "{events:#?}");
}

/// The callee hangs up while our hold re-INVITE is pending: its BYE gets 200 and ends the
/// call, the 487 that then ends our re-INVITE is ACKed (the scenario waits for it), and
/// nothing about the dead call's hold is reported afterwards.
#[tokio::test]
async fn a_bye_during_our_reinvite_ends_the_call() {
    let mut sipp = Sipp::answers("uas_bye_during_reinvite");
    let mut ua = Ua::start(sipp.addr).await;
    ua.dial(&sipp).await;
    let call = ua.established().await;
    ua.send(LinkCommand::Hold(call)).await;
    assert_eq!(ua.ended(call).await, EndReason::RemoteHangup);
    sipp.succeeded().await;
    let events = ua.finish().await;
    let end = events
        .iter()
        .position(|e| matches!(e, LinkEvent::Sip(UaEvent::Ended { .. })))
        .unwrap();
    let after: Vec<&LinkEvent> = events[end + 1..].iter().filter(|e| is_sip(e)).collect();
    assert!(after.is_empty(), "events after the end: {after:#?}");
}
