//! SIP setup latency against a real kamailio (registrar and proxy with digest auth) on
//! loopback, with our [`SipLink`] driver on both ends:
//!
//! * registration: from starting a link (its first REGISTER goes out at once) until it
//!   reports `Registered`; the exchange is REGISTER, 401, REGISTER with Authorization, 200;
//! * call setup: from the caller's `Call` command until the callee's call is established
//!   by the ACK; through kamailio the exchange is INVITE with Proxy-Authorization, 100, 180
//!   and 200 back, ACK. Only the first call meets kamailio's 407 (INVITE, 407, ACK, INVITE
//!   again); later ones are pre-authorised with the cached nonce, as an operator's calls are.
//!   The callee answers as soon as the INVITE arrives, so the figure is the signalling path,
//!   not a human.
//!
//! Both with MD5 and with SHA-256 challenges. Prints markdown rows `| metric | value | goal |`
//! and appends them to the file named by `OKTELL_PANEL_BENCH_ROWS` (the convention of the
//! root `benches/startup.rs`). Needs kamailio (Debian package `kamailio`).
//!
//! Run: `cargo bench -p runtime --bench sip_setup`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a bench binary")]

#[path = "../tests/sip_support/mod.rs"]
mod sip_support;

use std::time::{Duration, Instant};

use runtime::sip_link::{LinkCommand, LinkConfig, LinkEvent, SipLink};
use sip::{
    invite::CallHandle,
    msg::Limits,
    register::RegisterEvent,
    sdp::{Codec, MediaConfig},
    transaction::TimerConfig,
    ua::{UaConfig, UaEvent},
};
use sip_support::{
    kamailio::{Algorithm, DOMAIN, Kamailio, USERS},
    loopback,
};

const REGISTRATIONS: usize = 200;
const CALLS: usize = 200;
/// How long one registration or call may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("sip_setup: bench");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for (algorithm, name) in [(Algorithm::Md5, "MD5"), (Algorithm::Sha256, "SHA-256")] {
        let kamailio = Kamailio::start(algorithm);
        let registrations = runtime.block_on(registration_round_trips(&kamailio));
        let calls = runtime.block_on(call_setups(&kamailio));
        for (what, samples, goal) in [
            ("REGISTER to 200 incl. 401 challenge", &registrations, "< 20"),
            (
                "INVITE to ACK at the callee, two UAs through kamailio, pre-authorised",
                &calls,
                "< 50",
            ),
        ] {
            let n = samples.len();
            rows.push((
                format!("SIP {what} ({name}), p50 of {n} (ms)"),
                format!("{:.2}", bench_table::percentile(samples, 50)),
                "-".to_owned(),
            ));
            rows.push((
                format!("SIP {what} ({name}), p99 of {n} (ms)"),
                format!("{:.2}", bench_table::percentile(samples, 99)),
                goal.to_owned(),
            ));
        }
    }
    bench_table::report(&rows).expect("write the bench table");
}

fn config(kamailio: &Kamailio, account: usize, seed: u64) -> LinkConfig {
    let (user, password) = USERS[account];
    let ua = UaConfig {
        local: loopback(0),
        proxy: kamailio.addr,
        domain: DOMAIN.to_owned(),
        user: user.to_owned(),
        display_name: None,
        password: password.to_owned(),
        register_expires: 300,
        media: MediaConfig {
            address: String::from("127.0.0.1"),
            port: 0,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Limits::default(),
        user_agent: String::from("oktell-panel-bench"),
        seed,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    };
    LinkConfig {
        ua,
        signalling_bind: loopback(0),
        rtp_bind: loopback(0),
        register: true,
        play: None,
        record: None,
        signalling: Default::default(),
    }
}

/// The next event `pick` accepts; panics after [`PATIENCE`] or on a registration failure.
async fn until<T>(link: &mut SipLink, what: &str, mut pick: impl FnMut(&LinkEvent) -> Option<T>) -> T {
    let wait = async {
        loop {
            let event = link
                .next_event()
                .await
                .unwrap_or_else(|| panic!("link stopped before {what}"));
            if let LinkEvent::Sip(UaEvent::Registration(RegisterEvent::Failed { reason, .. })) = &event {
                panic!("registration failed before {what}: {reason}");
            }
            if let Some(value) = pick(&event) {
                return value;
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
}

fn registered(event: &LinkEvent) -> Option<()> {
    matches!(
        event,
        LinkEvent::Sip(UaEvent::Registration(RegisterEvent::Registered { .. }))
    )
    .then_some(())
}

/// Milliseconds from link start to `Registered`, `REGISTRATIONS` times (each run unregisters
/// before the next starts, so kamailio keeps one binding).
async fn registration_round_trips(kamailio: &Kamailio) -> Vec<f64> {
    let mut samples = Vec::with_capacity(REGISTRATIONS);
    for run in 0..REGISTRATIONS {
        let start = Instant::now();
        let mut link = SipLink::start(config(kamailio, 2, run as u64)).await.unwrap();
        until(&mut link, "registration", registered).await;
        samples.push(bench_table::millis(start.elapsed()));
        link.shutdown().await.unwrap();
    }
    samples
}

/// Milliseconds from the caller's `Call` to the callee's `Established`, `CALLS` times.
async fn call_setups(kamailio: &Kamailio) -> Vec<f64> {
    let mut caller = SipLink::start(config(kamailio, 0, 1)).await.unwrap();
    let mut callee = SipLink::start(config(kamailio, 1, 2)).await.unwrap();
    until(&mut caller, "the caller's registration", registered).await;
    until(&mut callee, "the callee's registration", registered).await;
    let (caller_commands, callee_commands) = (caller.commands(), callee.commands());
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        caller_commands
            .send(LinkCommand::Call {
                target: format!("sip:{}@{DOMAIN}", USERS[1].0),
            })
            .await
            .unwrap();
        let incoming = until(&mut callee, "the incoming call", |e| match e {
            LinkEvent::Sip(UaEvent::IncomingCall { call, .. }) => Some(*call),
            _ => None,
        })
        .await;
        callee_commands.send(LinkCommand::Answer(incoming)).await.unwrap();
        until(&mut callee, "the callee's ACK", |e| established(e, incoming)).await;
        samples.push(bench_table::millis(start.elapsed()));
        let call = until(&mut caller, "the caller's 200", |e| match e {
            LinkEvent::Sip(UaEvent::Established { call, .. }) => Some(*call),
            _ => None,
        })
        .await;
        caller_commands.send(LinkCommand::Hangup(call)).await.unwrap();
        until(&mut callee, "the callee's end of call", |e| ended(e, incoming)).await;
        until(&mut caller, "the caller's end of call", |e| ended(e, call)).await;
    }
    caller.shutdown().await.unwrap();
    callee.shutdown().await.unwrap();
    samples
}

fn established(event: &LinkEvent, call: CallHandle) -> Option<()> {
    matches!(event, LinkEvent::Sip(UaEvent::Established { call: c, .. }) if *c == call).then_some(())
}

fn ended(event: &LinkEvent, call: CallHandle) -> Option<()> {
    matches!(event, LinkEvent::Sip(UaEvent::Ended { call: c, .. }) if *c == call).then_some(())
}
