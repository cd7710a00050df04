//! A softphone for the tests: the `sip` crate's user agent driven over a UDP socket exactly as
//! its doc comment says (one input, drain transmits and events, sleep until the deadline), and
//! an RTP socket.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use media::codec::g711::{linear_to_ulaw, ulaw_to_linear};
use media::rtp::RtpPacket;
use sim::RunningSim;
use sip::invite::{CallHandle, ReferPolicy, SessionTimerConfig};
use sip::msg::{Limits, Uri};
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent, UserAgent};
use tokio::net::UdpSocket;

use crate::PATIENCE;

pub struct Phone {
    pub ua: UserAgent,
    sip: UdpSocket,
    pub rtp: UdpSocket,
    events: VecDeque<UaEvent>,
}

impl Phone {
    /// A phone for account `user`/`password` on the simulator's registrar (not yet registered).
    pub async fn new(sim: &RunningSim, user: &str, password: &str) -> Phone {
        let sip = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let ua = UserAgent::new(UaConfig {
            local: sip.local_addr().unwrap(),
            proxy: sim.sip_addr(),
            domain: "127.0.0.1".to_owned(),
            user: user.to_owned(),
            display_name: None,
            password: password.to_owned(),
            register_expires: 300,
            media: MediaConfig {
                address: "127.0.0.1".to_owned(),
                port: rtp.local_addr().unwrap().port(),
                codecs: vec![Codec::Pcmu, Codec::Pcma],
                telephone_event: true,
                ptime: 20,
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            user_agent: "test-phone".to_owned(),
            seed: 7,
            refer_policy: ReferPolicy::Reject,
            session_timer: SessionTimerConfig::default(),
        })
        .unwrap();
        Phone {
            ua,
            sip,
            rtp,
            events: VecDeque::new(),
        }
    }

    /// A phone registered as `user` with password `demo`.
    pub async fn registered(sim: &RunningSim, user: &str) -> Phone {
        let mut phone = Phone::new(sim, user, "demo").await;
        phone.act(|ua, now| ua.register(now)).await;
        let event = phone
            .wait_for("registration", |e| matches!(e, UaEvent::Registration(_)))
            .await;
        assert!(
            matches!(
                event,
                UaEvent::Registration(sip::register::RegisterEvent::Registered { .. })
            ),
            "{event:?}"
        );
        phone
    }

    /// Runs a command on the user agent and sends what it produced.
    pub async fn act<T>(&mut self, command: impl FnOnce(&mut UserAgent, Instant) -> T) -> T {
        let result = command(&mut self.ua, Instant::now());
        self.flush().await;
        result
    }

    /// The next event that matches, dropping the others; panics after [`PATIENCE`].
    pub async fn wait_for(&mut self, what: &str, wanted: impl Fn(&UaEvent) -> bool) -> UaEvent {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            while let Some(event) = self.events.pop_front() {
                if wanted(&event) {
                    return event;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no {what} within {PATIENCE:?}");
            self.step(deadline).await;
        }
    }

    /// Whether the phone sees no event matching `unwanted` for `quiet`.
    pub async fn stays_quiet(&mut self, quiet: std::time::Duration, unwanted: impl Fn(&UaEvent) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + quiet;
        while tokio::time::Instant::now() < deadline {
            self.step(deadline).await;
            if self.events.iter().any(&unwanted) {
                return false;
            }
        }
        true
    }

    /// Waits for the phone to ring, then answers and waits for the call to be established.
    pub async fn answer_next_call(&mut self) -> (CallHandle, sip::sdp::Negotiated) {
        let UaEvent::IncomingCall { call, .. } = self
            .wait_for("incoming call", |e| matches!(e, UaEvent::IncomingCall { .. }))
            .await
        else {
            unreachable!()
        };
        self.act(|ua, now| ua.answer(now, call)).await.unwrap();
        let UaEvent::Established { media, .. } = self
            .wait_for("established", |e| matches!(e, UaEvent::Established { .. }))
            .await
        else {
            unreachable!()
        };
        (call, media)
    }

    /// A call to `number` through the PBX.
    pub async fn dial(&mut self, number: &str) -> CallHandle {
        let target = Uri::parse(&format!("sip:{number}@127.0.0.1")).unwrap();
        self.act(|ua, now| ua.call(now, &target)).await.unwrap()
    }

    /// One wake-up: a datagram or the user agent's deadline (or `limit`).
    async fn step(&mut self, limit: tokio::time::Instant) {
        let mut buf = vec![0u8; 65_535];
        let deadline = self
            .ua
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .map_or(limit, |at| at.min(limit));
        tokio::select! {
            received = self.sip.recv_from(&mut buf) => {
                let (len, from) = received.unwrap();
                self.ua.handle_datagram(Instant::now(), from, &buf[..len]);
            }
            () = tokio::time::sleep_until(deadline) => self.ua.handle_timeout(Instant::now()),
        }
        self.flush().await;
    }

    async fn flush(&mut self) {
        while let Some(transmit) = self.ua.poll_transmit() {
            self.sip.send_to(&transmit.bytes, transmit.destination).await.unwrap();
        }
        while let Some(event) = self.ua.poll_event() {
            self.events.push_back(event);
        }
    }

    /// RTP that arrives within `duration`, decoded (G.711 μ-law or A-law by payload type).
    pub async fn receive_audio(&self, duration: std::time::Duration) -> (Vec<RtpPacket>, Vec<i16>) {
        let deadline = tokio::time::Instant::now() + duration;
        let mut packets = Vec::new();
        let mut pcm = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Ok(received) = tokio::time::timeout_at(deadline, self.rtp.recv_from(&mut buf)).await {
            let (len, _) = received.unwrap();
            let Ok(packet) = RtpPacket::parse(&buf[..len]) else {
                continue; // RTCP
            };
            match packet.payload_type {
                0 => pcm.extend(packet.payload.iter().map(|&b| ulaw_to_linear(b))),
                8 => pcm.extend(packet.payload.iter().map(|&b| media::codec::g711::alaw_to_linear(b))),
                _ => {}
            }
            packets.push(packet);
        }
        (packets, pcm)
    }

    /// Sends `frames` 20 ms frames of a 1 kHz tone in μ-law to `to`.
    pub async fn send_tone(&self, to: SocketAddr, frames: u16) {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(20));
        for frame in 0..frames {
            interval.tick().await;
            let payload: Vec<u8> = (0..160u32)
                .map(|i| {
                    let t = f64::from(u32::from(frame) * 160 + i) / 8000.0;
                    linear_to_ulaw((8000.0 * (std::f64::consts::TAU * 1000.0 * t).sin()) as i16)
                })
                .collect();
            let packet = RtpPacket::new(0, 1000 + frame, u32::from(frame) * 160, 0x5151_5151, payload);
            self.rtp.send_to(&packet.to_bytes(), to).await.unwrap();
        }
    }
}

/// Where the simulator's audio for this call comes from, per the negotiated SDP.
pub fn media_address(media: &sip::sdp::Negotiated) -> SocketAddr {
    format!("{}:{}", media.remote_address, media.remote_port)
        .parse()
        .unwrap()
}

/// Root mean square of a signal.
pub fn rms(pcm: &[i16]) -> f64 {
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len().max(1) as f64).sqrt()
}

/// Relative power of `hz` in an 8 kHz signal (Goertzel), normalised by the signal's energy.
pub fn tone_share(pcm: &[i16], hz: f32) -> f64 {
    let k = 2.0 * (std::f64::consts::TAU * f64::from(hz) / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    let energy: f64 = pcm.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    power / (energy * pcm.len() as f64 / 2.0).max(1.0)
}
