//! Two `SipLink`s calling each other over loopback with "devices" for audio: each has the
//! WAV-file sound system (a microphone file with its own tone, a headset file recording what
//! it plays) driven in real time by the test. What one says must come out of the other's
//! headset through the link's device pump, microphone processing on, G.711 and RTP; a link
//! whose devices cannot be opened keeps the call up, silent, and says why; mute silences the
//! microphone without ending anything; each call reports its quality once a second.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use media::stream::StreamEvent;
use runtime::audio::FRAME;
use runtime::audio::backend::wav::{WavBackend, read_mono, write_mono};
use runtime::audio::devices::DevicePreferences;
use runtime::audio::meter::tone_dbfs;
use runtime::sip_link::{DeviceAudio, LinkCommand, LinkConfig, LinkEvent, SipLink};
use sip::invite::{CallHandle, ReferPolicy, SessionTimerConfig};
use sip::msg::Limits;
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);
const RATE: u32 = 48_000;

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn tone_file(path: &Path, frequency: f64, seconds: u32) {
    let samples: Vec<i16> = (0..RATE * seconds)
        .map(|i| (0.5 * 32767.0 * (2.0 * PI * frequency * f64::from(i) / f64::from(RATE)).sin()) as i16)
        .collect();
    write_mono(path, RATE, &samples).unwrap();
}

/// A sound system with a microphone playing `frequency` and a headset recording to
/// `<name>-headset.wav`.
fn sound_card(dir: &Path, name: &str, frequency: f64) -> WavBackend {
    let wav = WavBackend::new();
    let mic = dir.join(format!("{name}-mic.wav"));
    tone_file(&mic, frequency, 10);
    wav.add_input("Microphone", &mic).unwrap();
    wav.add_output("Headset", RATE, &dir.join(format!("{name}-headset.wav")))
        .unwrap();
    wav
}

async fn start_link(user: &str, proxy: SocketAddr, devices: WavBackend) -> SipLink {
    let ua = UaConfig {
        local: loopback(0),
        proxy,
        domain: "127.0.0.1".into(),
        user: user.into(),
        display_name: None,
        password: String::new(),
        register_expires: 300,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 0,
            codecs: vec![Codec::Pcmu],
            telephone_event: true,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Limits::default(),
        user_agent: format!("device-audio-test-{user}"),
        seed: u64::from(user.len() as u32) * 7919,
        refer_policy: ReferPolicy::Reject,
        session_timer: SessionTimerConfig::default(),
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
    let devices = DeviceAudio::new(Arc::new(devices), DevicePreferences::default());
    SipLink::start_with_devices(config, Some(devices)).await.unwrap()
}

/// Waits for the first event `pick` accepts, keeping the others in `seen`.
async fn expect<T>(
    link: &mut SipLink,
    seen: &mut Vec<LinkEvent>,
    what: &str,
    mut pick: impl FnMut(&LinkEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = link.next_event().await {
            if let Some(found) = pick(&event) {
                return Some(found);
            }
            seen.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        _ => panic!("never saw {what}; saw {seen:?}"),
    }
}

/// The devices' clock: every sound card runs 20 ms per 20 ms of real time.
fn run_devices(cards: Vec<WavBackend>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FRAME);
        loop {
            tick.tick().await;
            for card in &cards {
                card.advance(FRAME).unwrap();
            }
        }
    })
}

/// Two links in a call: `a` dials `b`, `b` answers; both calls' handles once audio flows.
struct Call {
    a: SipLink,
    b: SipLink,
    a_call: CallHandle,
    b_call: CallHandle,
    a_seen: Vec<LinkEvent>,
    b_seen: Vec<LinkEvent>,
}

async fn call(a_card: WavBackend, b_card: WavBackend) -> Call {
    // `b` sends no request of its own (no REGISTER): its proxy is never used.
    let mut b = start_link("b", loopback(9), b_card).await;
    let mut a = start_link("a", b.local_addr(), a_card).await;
    let (mut a_seen, mut b_seen) = (Vec::new(), Vec::new());
    let target = format!("sip:b@{}", b.local_addr());
    a.commands().send(LinkCommand::Call { target }).await.unwrap();
    let b_call = expect(&mut b, &mut b_seen, "the INVITE", |event| match event {
        LinkEvent::Sip(UaEvent::IncomingCall { call, .. }) => Some(*call),
        _ => None,
    })
    .await;
    b.commands().send(LinkCommand::Answer(b_call)).await.unwrap();
    let a_call = expect(&mut a, &mut a_seen, "a's audio", |event| match event {
        LinkEvent::AudioStarted { call, .. } => Some(*call),
        _ => None,
    })
    .await;
    expect(&mut b, &mut b_seen, "b's audio", |event| {
        matches!(event, LinkEvent::AudioStarted { .. }).then_some(())
    })
    .await;
    Call {
        a,
        b,
        a_call,
        b_call,
        a_seen,
        b_seen,
    }
}

fn last_second(path: &Path) -> Vec<i16> {
    let (rate, pcm) = read_mono(path).unwrap();
    assert_eq!(rate, RATE);
    assert!(pcm.len() > RATE as usize, "{} samples recorded", pcm.len());
    pcm[pcm.len() - RATE as usize..].to_vec()
}

/// The tone heard in the last second of a headset, and whether the other tone is absent.
fn assert_hears(path: &Path, wanted_hz: f64, own_hz: f64) {
    let heard = last_second(path);
    let wanted = tone_dbfs(&heard, RATE, wanted_hz);
    assert!(
        wanted > -20.0,
        "{path:?}: the peer's {wanted_hz} Hz at {wanted:.1} dBFS"
    );
    let own = tone_dbfs(&heard, RATE, own_hz);
    assert!(own < wanted - 30.0, "{path:?}: own {own_hz} Hz at {own:.1} dBFS");
}

#[tokio::test]
async fn each_side_hears_the_other_sides_microphone_through_the_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (a_card, b_card) = (sound_card(dir.path(), "a", 1000.0), sound_card(dir.path(), "b", 600.0));
    let clock = run_devices(vec![a_card.clone(), b_card.clone()]);
    let mut call = call(a_card.clone(), b_card.clone()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    clock.abort();
    a_card.finish().unwrap();
    b_card.finish().unwrap();
    assert_hears(&dir.path().join("a-headset.wav"), 600.0, 1000.0);
    assert_hears(&dir.path().join("b-headset.wav"), 1000.0, 600.0);

    let a_call = call.a_call;
    let estimate = expect(&mut call.a, &mut call.a_seen, "a quality report", |event| match event {
        LinkEvent::Quality { call, estimate } if *call == a_call => Some(*estimate),
        _ => None,
    })
    .await;
    assert!(estimate.mos > 4.0, "a clean loopback call: {estimate:?}");
    for seen in [&call.a_seen, &call.b_seen] {
        assert!(
            !seen.iter().any(|e| matches!(e, LinkEvent::DevicesFailed { .. })),
            "{seen:?}"
        );
    }
    call.a.shutdown().await.unwrap();
    call.b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_muted_side_is_not_heard_and_the_call_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (a_card, b_card) = (sound_card(dir.path(), "a", 1000.0), sound_card(dir.path(), "b", 600.0));
    let clock = run_devices(vec![a_card.clone(), b_card.clone()]);
    let call = call(a_card.clone(), b_card.clone()).await;
    call.a
        .commands()
        .send(LinkCommand::Mute {
            call: call.a_call,
            muted: true,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    clock.abort();
    a_card.finish().unwrap();
    b_card.finish().unwrap();
    // `a` still hears `b`; `b` hears no 1 kHz from `a`.
    assert_hears(&dir.path().join("a-headset.wav"), 600.0, 1000.0);
    let heard_by_b = last_second(&dir.path().join("b-headset.wav"));
    let leaked = tone_dbfs(&heard_by_b, RATE, 1000.0);
    assert!(leaked < -50.0, "a muted microphone leaks at {leaked:.1} dBFS");
    call.a.shutdown().await.unwrap();
    call.b.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_sound_card_the_call_goes_on_silent_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // `a` has no devices at all, as on a CI machine.
    let b_card = sound_card(dir.path(), "b", 600.0);
    let clock = run_devices(vec![b_card.clone()]);
    let mut call = call(WavBackend::new(), b_card).await;
    let a_call = call.a_call;
    expect(&mut call.a, &mut call.a_seen, "the device failure", |event| {
        matches!(event, LinkEvent::DevicesFailed { call, .. } if *call == a_call).then_some(())
    })
    .await;
    // `a` still sends RTP (silence), so `b` gets its stream.
    expect(&mut call.b, &mut call.b_seen, "RTP from a", |event| {
        matches!(
            event,
            LinkEvent::Media {
                event: StreamEvent::FirstRtpReceived { .. },
                ..
            }
        )
        .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !call
            .b_seen
            .iter()
            .any(|e| matches!(e, LinkEvent::Sip(UaEvent::Ended { .. }))),
        "the call must last until the hangup: {:?}",
        call.b_seen
    );
    call.a.commands().send(LinkCommand::Hangup(a_call)).await.unwrap();
    let b_call = call.b_call;
    expect(&mut call.b, &mut call.b_seen, "a's hangup", |event| {
        matches!(event, LinkEvent::Sip(UaEvent::Ended { call, .. }) if *call == b_call).then_some(())
    })
    .await;
    clock.abort();
    call.a.shutdown().await.unwrap();
    call.b.shutdown().await.unwrap();
}
