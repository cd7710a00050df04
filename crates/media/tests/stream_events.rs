//! The evidence a stream gives the call layer: first RTP, symmetric-RTP latching, SSRC
//! changes, inbound silence, DTMF, RTCP round-trip time and BYE; and hostile input.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use media::demux::DatagramKind;
use media::dtmf::DtmfEvent;
use media::rtp::RtpPacket;
use media::stream::{CodecChoice, MediaStream, StreamConfig, StreamEvent};
use support::harness::Pair;
use support::netem::NetemConfig;

fn pcma(seed: u64) -> StreamConfig {
    StreamConfig::new(CodecChoice::Pcma, 8, seed)
}

fn audio(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    RtpPacket::new(8, seq, ts, ssrc, vec![0xd5; 160]).to_bytes()
}

fn events(stream: &mut MediaStream) -> Vec<StreamEvent> {
    std::iter::from_fn(|| stream.poll_event()).collect()
}

#[test]
fn first_rtp_is_reported_and_the_remote_address_is_latched() {
    let t0 = Instant::now();
    let sdp_address = SocketAddr::from(([127, 0, 0, 9], 5000));
    let mut s = MediaStream::new(
        t0,
        StreamConfig {
            remote: Some(sdp_address),
            ..pcma(1)
        },
    )
    .unwrap();
    assert_eq!(s.destination(), Some(sdp_address));
    let nat = SocketAddr::from(([127, 0, 0, 1], 31000));
    s.handle_datagram(t0, nat, &audio(1, 160, 77));
    assert_eq!(
        events(&mut s),
        vec![StreamEvent::FirstRtpReceived { from: nat, ssrc: 77 }]
    );
    assert_eq!(s.destination(), Some(nat));
    s.send_frame(t0, &[0; 160]).unwrap();
    let t = s.poll_transmit().unwrap();
    assert_eq!((t.destination, t.kind), (Some(nat), DatagramKind::Rtp));
    let moved = SocketAddr::from(([127, 0, 0, 1], 31002));
    s.handle_datagram(t0, moved, &audio(2, 320, 77));
    assert_eq!(events(&mut s), vec![StreamEvent::RemoteAddressChanged { from: moved }]);
    assert_eq!(s.destination(), Some(moved));
    assert_eq!(s.stats().first_rtp_at, Some(t0));
}

#[test]
fn without_latching_media_goes_to_the_sdp_address() {
    let t0 = Instant::now();
    let sdp_address = SocketAddr::from(([127, 0, 0, 9], 5000));
    let mut s = MediaStream::new(
        t0,
        StreamConfig {
            remote: Some(sdp_address),
            latch_remote: false,
            ..pcma(1)
        },
    )
    .unwrap();
    s.handle_datagram(t0, SocketAddr::from(([127, 0, 0, 1], 31000)), &audio(1, 160, 77));
    assert_eq!(s.destination(), Some(sdp_address));
}

#[test]
fn a_competing_stream_is_ignored_until_the_current_one_stops() {
    let t0 = Instant::now();
    let mut s = MediaStream::new(t0, pcma(1)).unwrap();
    let first = SocketAddr::from(([127, 0, 0, 1], 31000));
    let intruder = SocketAddr::from(([127, 0, 0, 1], 32000));
    let frame = Duration::from_millis(20);
    for k in 0..50u16 {
        let now = t0 + frame * u32::from(k);
        s.handle_datagram(now, first, &audio(k, u32::from(k) * 160, 77));
        s.handle_datagram(now, intruder, &audio(9000 + k, 500_000 + u32::from(k) * 160, 99));
    }
    assert_eq!(s.stats().remote_ssrc, Some(77));
    assert_eq!(s.destination(), Some(first));
    assert_eq!(s.stats().ignored, 50);
    let _ = events(&mut s);
    // The first source goes quiet; after the hold time the other one takes over.
    let later = t0 + frame * 50 + Duration::from_millis(1100);
    s.handle_datagram(later, intruder, &audio(9100, 600_000, 99));
    assert_eq!(s.destination(), Some(intruder));
    let ev = events(&mut s);
    assert!(
        ev.contains(&StreamEvent::RemoteAddressChanged { from: intruder }),
        "{ev:?}"
    );
    assert!(ev.contains(&StreamEvent::SourceChanged { old: 77, new: 99 }), "{ev:?}");
}

#[test]
fn the_stream_can_move_to_its_own_task() {
    fn is_send<T: Send>(_: &T) {}
    let s = MediaStream::new(Instant::now(), pcma(1)).unwrap();
    is_send(&s);
}

#[test]
fn rtp_that_carries_only_digital_silence_is_reported() {
    let t0 = Instant::now();
    let mut s = MediaStream::new(t0, pcma(1)).unwrap();
    let from = SocketAddr::from(([127, 0, 0, 1], 31000));
    let frame = Duration::from_millis(20);
    let tone: Vec<u8> = (0..160)
        .map(|i| media::codec::g711::linear_to_alaw((3000.0 * (i as f32 * 0.7).sin()) as i16))
        .collect();
    let mut seen = Vec::new();
    for k in 0..400u32 {
        let now = t0 + frame * k;
        // 5 s of the A-law idle code (0xD5, which decodes to +8), then audible content.
        let payload = if k < 250 { vec![0xd5; 160] } else { tone.clone() };
        let packet = RtpPacket::new(8, k as u16, k * 160, 77, payload).to_bytes();
        s.handle_datagram(now, from, &packet);
        let _ = s.play_frame(now);
        seen.extend(events(&mut s));
        if k == 240 {
            assert!(s.stats().inbound_silent_content >= Duration::from_secs(3));
        }
    }
    let silent = seen.iter().position(|e| *e == StreamEvent::InboundContentSilent);
    let resumed = seen.iter().position(|e| *e == StreamEvent::InboundContentResumed);
    assert!(silent.is_some() && resumed.is_some() && silent < resumed, "{seen:?}");
    assert_eq!(s.stats().inbound_silent_content, Duration::ZERO);
}

#[test]
fn a_new_ssrc_is_reported() {
    let t0 = Instant::now();
    let mut s = MediaStream::new(t0, pcma(1)).unwrap();
    let from = SocketAddr::from(([127, 0, 0, 1], 31000));
    s.handle_datagram(t0, from, &audio(1, 160, 77));
    s.handle_datagram(t0, from, &audio(900, 99_999, 78));
    // A late packet of the old source must not switch back.
    s.handle_datagram(t0, from, &audio(2, 320, 77));
    s.handle_datagram(t0, from, &audio(901, 100_159, 78));
    let ev = events(&mut s);
    assert_eq!(ev.last(), Some(&StreamEvent::SourceChanged { old: 77, new: 78 }));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, StreamEvent::SourceChanged { .. }))
            .count(),
        1
    );
    assert_eq!(s.stats().remote_ssrc, Some(78));
    assert_eq!(s.stats().packets_received, 2);
}

#[test]
fn inbound_silence_is_raised_when_rtp_never_comes_and_when_it_stops() {
    let t0 = Instant::now();
    let mut s = MediaStream::new(t0, pcma(1)).unwrap();
    let mut now = t0;
    let step = |s: &mut MediaStream, until: Instant, now: &mut Instant| {
        while s.poll_timeout() <= until {
            *now = s.poll_timeout();
            s.handle_timeout(*now);
        }
    };
    step(&mut s, t0 + Duration::from_secs(4), &mut now);
    assert!(events(&mut s).contains(&StreamEvent::InboundSilence { ever_received: false }));
    let from = SocketAddr::from(([127, 0, 0, 1], 31000));
    let back = t0 + Duration::from_secs(4);
    s.handle_datagram(back, from, &audio(1, 160, 77));
    let ev = events(&mut s);
    assert!(
        ev.contains(&StreamEvent::InboundResumed) && ev.contains(&StreamEvent::FirstRtpReceived { from, ssrc: 77 })
    );
    step(&mut s, back + Duration::from_millis(2900), &mut now);
    assert!(
        !events(&mut s)
            .iter()
            .any(|e| matches!(e, StreamEvent::InboundSilence { .. }))
    );
    step(&mut s, back + Duration::from_millis(3100), &mut now);
    assert!(events(&mut s).contains(&StreamEvent::InboundSilence { ever_received: true }));
}

fn link(ms: u64) -> NetemConfig {
    NetemConfig {
        delay: Duration::from_millis(ms),
        ..NetemConfig::default()
    }
}

#[test]
fn dtmf_crosses_the_call_while_playout_continues() {
    let mut pair = Pair::new(pcma(1), pcma(2), link(30), link(30), 3);
    pair.run(Duration::from_secs(1));
    pair.a.send_dtmf('5', Duration::from_millis(100)).unwrap();
    pair.a.send_dtmf('#', Duration::from_millis(60)).unwrap();
    assert!(pair.a.send_dtmf('z', Duration::from_millis(60)).is_err());
    pair.run(Duration::from_secs(1));
    let digits: Vec<DtmfEvent> = pair
        .b_events
        .iter()
        .filter_map(|e| if let StreamEvent::Dtmf(d) = e { Some(*d) } else { None })
        .collect();
    assert_eq!(
        digits,
        vec![
            DtmfEvent {
                digit: '5',
                duration: Duration::from_millis(100),
                ended: true
            },
            DtmfEvent {
                digit: '#',
                duration: Duration::from_millis(60),
                ended: true
            },
        ]
    );
    assert_eq!(pair.b_output.len() as u64, pair.ticks());
}

#[test]
fn rtcp_reports_give_both_sides_the_round_trip_time_and_loss() {
    let lossy = NetemConfig { loss: 0.1, ..link(25) };
    let mut pair = Pair::new(pcma(1), pcma(2), lossy, link(35), 5);
    pair.run(Duration::from_secs(16));
    for stats in [pair.a.stats(), pair.b.stats()] {
        let rtt = stats.rtt.expect("RTT after a few reports");
        assert!((rtt.as_secs_f64() * 1000.0 - 60.0).abs() < 2.0, "{rtt:?}");
    }
    let seen_by_b = pair.a.stats().remote_loss_ratio.unwrap();
    assert!(seen_by_b > 0.03 && seen_by_b < 0.2, "{seen_by_b}");
    assert_eq!(pair.b.stats().remote_loss_ratio, Some(0.0));
    assert!(
        pair.b.stats().quality.mos < pair.a.stats().quality.mos,
        "B hears the lossy direction"
    );
}

#[test]
fn sender_reports_tie_media_time_to_wall_time() {
    let t0 = Instant::now();
    let wallclock = Duration::from_secs(1_800_000_000);
    let mut s = MediaStream::new(
        t0,
        StreamConfig {
            wallclock,
            rtcp_interval: Duration::from_secs(1),
            ..pcma(1)
        },
    )
    .unwrap();
    let mut first_ts = None;
    for k in 0..300u32 {
        s.send_frame(t0 + Duration::from_millis(20) * k, &[0; 160]).unwrap();
        let t = s.poll_transmit().unwrap();
        first_ts.get_or_insert(RtpPacket::parse(&t.bytes).unwrap().timestamp);
    }
    let at = t0 + Duration::from_millis(5990);
    s.handle_timeout(at);
    let report = std::iter::from_fn(|| s.poll_transmit())
        .find(|t| t.kind == DatagramKind::Rtcp)
        .unwrap();
    let packets = media::rtcp::parse_compound(&report.bytes).unwrap();
    let media::rtcp::RtcpPacket::SenderReport { ssrc, info, .. } = &packets[0] else {
        panic!("expected an SR first: {packets:?}");
    };
    assert_eq!(*ssrc, s.ssrc());
    assert_eq!(info.packet_count, 300);
    assert_eq!(info.octet_count, 300 * 160);
    // 5.99 s after the first frame at 8 kHz.
    assert_eq!(info.rtp_timestamp.wrapping_sub(first_ts.unwrap()), 47_920);
    let expected = media::rtcp::NtpClock::new(t0, wallclock).ntp(at);
    assert_eq!(info.ntp, expected);
    assert!(matches!(packets[1], media::rtcp::RtcpPacket::SourceDescription(_)));
}

#[test]
fn rtcp_bye_is_reported() {
    let mut pair = Pair::new(pcma(1), pcma(2), link(20), link(20), 5);
    pair.run(Duration::from_millis(200));
    pair.a.close(pair.now);
    pair.run(Duration::from_millis(100));
    let ssrc = pair.a.ssrc();
    assert!(pair.b_events.contains(&StreamEvent::Bye { ssrc }));
}

#[test]
fn the_seed_decides_ssrc_sequence_and_timestamp() {
    let t0 = Instant::now();
    let first = |seed| {
        let mut s = MediaStream::new(t0, pcma(seed)).unwrap();
        s.send_frame(t0, &[0; 160]).unwrap();
        let p = RtpPacket::parse(&s.poll_transmit().unwrap().bytes).unwrap();
        (p.ssrc, p.sequence, p.timestamp, p.marker)
    };
    assert_eq!(first(42), first(42));
    assert_ne!(first(42), first(43));
    assert!(first(42).3, "marker on the first packet");
}

#[test]
fn hostile_datagrams_never_panic_and_are_counted() {
    use rand::{Rng, SeedableRng};
    let t0 = Instant::now();
    let mut s = MediaStream::new(t0, pcma(1)).unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(99);
    let from = SocketAddr::from(([127, 0, 0, 1], 31000));
    let good = audio(1, 160, 77);
    let mut now = t0;
    for i in 0..20_000u32 {
        let mut bytes = if i % 2 == 0 {
            good.clone()
        } else {
            (0..rng.random_range(0..80)).map(|_| rng.random()).collect()
        };
        if i % 2 == 0 {
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            bytes.truncate(rng.random_range(0..=bytes.len()));
        }
        // Half the junk looks like RTP/RTCP on the first byte so it reaches the parsers.
        if i % 4 == 1 && !bytes.is_empty() {
            bytes[0] = 0x80 | (bytes[0] & 0x3f);
        }
        s.handle_datagram(now, from, &bytes);
        if i % 10 == 0 {
            now += Duration::from_millis(20);
            let frame = s.play_frame(now);
            assert_eq!(frame.samples.len(), 160);
        }
    }
    let stats = s.stats();
    assert!(stats.malformed > 100 && stats.ignored > 100, "{stats:?}");
}
