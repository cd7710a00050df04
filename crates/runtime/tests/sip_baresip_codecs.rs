//! The phone against a real baresip restricted to one codec, for each of PCMU, PCMA and Opus,
//! in both directions (we call baresip, baresip calls us): each side sends its own tone and
//! each side's recording must carry the other's, at the frequency sent and near the level
//! sent; DTMF digits sent each way must arrive as the same digits.
//!
//! baresip here loads `opus.so` besides `g711.so`, which the shared support's baresip does
//! not, so this file starts its own (same recipe: `ausine` microphone, `sndfile` dump,
//! `ctrl_tcp` control) and restricts the account with `audio_codecs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use runtime::phone::{PhoneArgs, parse_codecs};
use serde_json::{Value, json};
use sip::sdp::Codec;
use sip_support::{
    PATIENCE, PeerProcess, TestPhone,
    audio::{read_wav, tone_share, write_tone},
    free_port_pair, loopback, phone_args, saw, spawn_peer,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Our tone, and its amplitude in the file we play (`write_tone` writes 8000 peak).
const OUR_TONE_HZ: f64 = 440.0;
const OUR_TONE_PEAK: f64 = 8000.0;
/// baresip's `ausine` tone. Its amplitude is not ours to choose: the level check on our side
/// is against the level baresip itself records of its own microphone (`-enc.wav`).
const BARESIP_TONE_HZ: f64 = 1000.0;
/// How far a received tone's level may sit from the level sent. G.711 keeps it within a
/// fraction of a dB and Opus within one or two; 3 dB catches a halved or doubled signal.
const LEVEL_TOLERANCE_DB: f64 = 3.0;

/// The codec as baresip's `audio_codecs` (name/rate/channels: a bare `opus` matches
/// nothing, which baresip takes as "no filter"), as our `--codec` and as our `established`
/// event name it.
fn names(codec: Codec) -> (&'static str, &'static str, &'static str) {
    match codec {
        Codec::Pcmu => ("PCMU/8000/1", "pcmu", "PCMU"),
        Codec::Pcma => ("PCMA/8000/1", "pcma", "PCMA"),
        Codec::Opus => ("opus/48000/2", "opus", "OPUS"),
    }
}

/// A baresip limited to one codec, auto-answering.
struct CodecBaresip {
    addr: SocketAddr,
    control: TcpStream,
    token: u64,
    _process: PeerProcess,
    dir: tempfile::TempDir,
}

impl CodecBaresip {
    async fn start(codec: Codec) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port_pair();
        let control_port = free_port_pair();
        let snd = dir.path().join("snd");
        std::fs::create_dir_all(&snd).unwrap();
        let opus = Path::new("/usr/lib/baresip/modules/opus.so");
        assert!(
            opus.exists(),
            "{} is missing: apt-get install baresip-core",
            opus.display()
        );
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,play\n\
             audio_source ausine,{tone}\n\
             audio_alert aubridge,alert\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             audio_buffer 20-160\n\
             jitter_buffer_delay 5-10\n\
             rtp_ports 30000-39999\n\
             module_path /usr/lib/baresip/modules\n\
             module ctrl_tcp.so\n\
             module g711.so\n\
             module opus.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module sndfile.so\n\
             module_tmp uuid.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             snd_path {snd}\n\
             ctrl_tcp_listen 127.0.0.1:{control_port}\n",
            tone = BARESIP_TONE_HZ as u32,
            snd = snd.display(),
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        let account = format!(
            "<sip:b@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs={}\n",
            names(codec).0
        );
        std::fs::write(dir.path().join("accounts"), account).unwrap();
        let mut command = Command::new("baresip");
        command.arg("-f").arg(dir.path()).args(["-n", "127.0.0.1"]);
        let process = spawn_peer(command, "baresip", &dir.path().join("baresip.log"));
        let started = Instant::now();
        let control = loop {
            match TcpStream::connect(loopback(control_port)).await {
                Ok(stream) => break stream,
                Err(_) if started.elapsed() < PATIENCE => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(error) => panic!(
                    "baresip control port did not open: {error}; log:\n{}",
                    std::fs::read_to_string(dir.path().join("baresip.log")).unwrap_or_default()
                ),
            }
        };
        let baresip = Self {
            addr: loopback(port),
            control,
            token: 0,
            _process: process,
            dir,
        };
        while !baresip.log().contains("baresip is ready") {
            assert!(
                started.elapsed() < PATIENCE,
                "baresip not ready; log:\n{}",
                baresip.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // An unknown codec spec leaves the account unfiltered: every loaded codec offered.
        assert!(
            !baresip.log().contains("audio codec not found"),
            "baresip is not limited to {codec:?}; log:\n{}",
            baresip.log()
        );
        baresip
    }

    /// Runs a menu command; fails the test unless baresip says ok.
    async fn command(&mut self, line: &str) {
        let (command, params) = line.split_once(' ').unwrap_or((line, ""));
        self.token += 1;
        let token = self.token.to_string();
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        self.control
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .await
            .unwrap();
        let response = tokio::time::timeout(PATIENCE, async {
            loop {
                let message = self.read_netstring().await;
                if message["response"] == true && message["token"] == token.as_str() {
                    return message;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("baresip did not answer `{line}`; log:\n{}", self.log()));
        assert!(response["ok"] == true, "baresip refused `{line}`: {response}");
    }

    async fn expect_event(&mut self, kind: &str) -> Value {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let message = self.read_netstring().await;
                if message["event"] == true && message["type"] == kind {
                    return message;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("baresip reported no {kind}; log:\n{}", self.log()))
    }

    async fn read_netstring(&mut self) -> Value {
        let mut length = Vec::new();
        loop {
            let byte = self.control.read_u8().await.unwrap();
            if byte == b':' {
                break;
            }
            length.push(byte);
        }
        let length: usize = String::from_utf8(length).unwrap().trim().parse().unwrap();
        let mut body = vec![0u8; length + 1];
        self.control.read_exact(&mut body).await.unwrap();
        assert_eq!(body.pop(), Some(b','), "netstring without its comma");
        serde_json::from_slice(&body).unwrap()
    }

    /// The WAV `sndfile` wrote with `suffix` (`-dec.wav`: what baresip received, decoded;
    /// `-enc.wav`: its own microphone), once the call is over and the file is complete.
    async fn recording(&self, suffix: &str) -> PathBuf {
        let snd = self.dir.path().join("snd");
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(&snd)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(path) = found
                && hound::WavReader::open(&path).is_ok_and(|r| r.duration() > 0)
            {
                return path;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "baresip wrote no {suffix} in {}; log:\n{}",
                snd.display(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }
}

/// RMS level in dBFS of the loudest half of the 20 ms blocks (the call's audio, not the
/// silence around it).
fn level_dbfs(samples: &[i16], rate: u32) -> f64 {
    let block = (rate / 50) as usize;
    let mut energies: Vec<f64> = samples
        .chunks_exact(block)
        .map(|chunk| chunk.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / block as f64)
        .collect();
    energies.sort_by(|a, b| b.total_cmp(a));
    energies.truncate(energies.len().div_ceil(2));
    let mean = energies.iter().sum::<f64>() / energies.len().max(1) as f64;
    10.0 * (mean.max(1e-9) / (32768.0 * 32768.0)).log10()
}

/// Asserts that the recording carries `frequency` (not `absent`) at `expected_dbfs`.
fn assert_tone_at_level(path: &Path, frequency: f64, absent: f64, expected_dbfs: f64) {
    let (samples, rate) = read_wav(path);
    let present = tone_share(&samples, rate, frequency);
    let other = tone_share(&samples, rate, absent);
    let level = level_dbfs(&samples, rate);
    assert!(
        present > 0.5 && other < 0.1 && (level - expected_dbfs).abs() < LEVEL_TOLERANCE_DB,
        "{}: {frequency} Hz share {present:.3} (want > 0.5), {absent} Hz share {other:.3} (want < 0.1), \
         level {level:.1} dBFS (want {expected_dbfs:.1} ± {LEVEL_TOLERANCE_DB}), {} samples at {rate} Hz",
        path.display(),
        samples.len()
    );
}

/// Our phone restricted to `codec`, playing our tone and recording.
fn our_phone(codec: Codec, peer: SocketAddr, files: &Path) -> PhoneArgs {
    write_tone(&files.join("ours.wav"), OUR_TONE_HZ, 16000, 1, 1.0);
    let mut args = phone_args("alice", "127.0.0.1", peer);
    args.register = false;
    args.codecs = parse_codecs(names(codec).1).unwrap();
    args.play = Some(files.join("ours.wav"));
    args.record = Some(files.join("heard.wav"));
    args
}

#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Us,
    Baresip,
}

/// One call in `codec`: established with that codec, two seconds of tones both ways, digits
/// both ways, then the caller hangs up; both recordings are checked.
async fn call_with_tones_and_digits(codec: Codec, caller: Caller) {
    let mut baresip = CodecBaresip::start(codec).await;
    let files = tempfile::tempdir().unwrap();
    let mut args = our_phone(codec, baresip.addr, files.path());
    match caller {
        Caller::Us => args.dial = Some(format!("sip:b@{}", baresip.addr)),
        Caller::Baresip => args.auto_answer = true,
    }
    let mut phone = TestPhone::spawn("alice", args);
    if caller == Caller::Baresip {
        let started = phone.expect("started").await;
        let local = started["local"].as_str().unwrap().to_owned();
        baresip.command(&format!("dial sip:alice@{local}")).await;
        phone.expect("incoming").await;
    }
    let established = phone.expect("established").await;
    assert_eq!(established["codec"], names(codec).2, "{established}");
    phone.expect("audio").await;
    baresip.expect_event("CALL_ESTABLISHED").await;
    phone.stays_up_for(Duration::from_millis(1500)).await;

    for digit in ["3", "#"] {
        baresip.command(&format!("sndcode {digit}")).await;
        let received = phone.expect("dtmf").await;
        assert_eq!(received["digit"], digit, "{received}");
    }
    phone.send("dtmf 7*").await;
    for digit in ["7", "*"] {
        let pressed = baresip.expect_event("CALL_DTMF_START").await;
        assert_eq!(pressed["param"], digit, "{pressed}");
    }
    phone.stays_up_for(Duration::from_millis(500)).await;

    match caller {
        Caller::Us => {
            phone.send("hangup").await;
            baresip.expect_event("CALL_CLOSED").await;
            let (code, events) = phone.finish().await;
            assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
            assert!(saw(&events, "closed", "cause", &json!("local_hangup")), "{events:#?}");
        }
        Caller::Baresip => {
            baresip.command("hangup").await;
            let closed = phone.expect("closed").await;
            assert_eq!(closed["cause"], "remote_hangup", "{closed}");
            let (code, _) = phone.quit().await;
            assert_eq!(code, ExitCode::SUCCESS);
        }
    }

    let heard = files.path().join("heard.wav");
    let (_, rate) = read_wav(&heard);
    let expected_rate = if codec == Codec::Opus { 48000 } else { 8000 };
    assert_eq!(rate, expected_rate, "our recording runs at the codec's rate");
    let (baresip_own, baresip_rate) = read_wav(&baresip.recording("-enc.wav").await);
    let baresip_sent = level_dbfs(&baresip_own, baresip_rate);
    assert_tone_at_level(&heard, BARESIP_TONE_HZ, OUR_TONE_HZ, baresip_sent);
    let ours_sent = 20.0 * (OUR_TONE_PEAK / 32768.0 / std::f64::consts::SQRT_2).log10();
    assert_tone_at_level(
        &baresip.recording("-dec.wav").await,
        OUR_TONE_HZ,
        BARESIP_TONE_HZ,
        ours_sent,
    );
}

#[tokio::test]
async fn pcmu_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcmu, Caller::Us).await;
}

#[tokio::test]
async fn pcmu_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcmu, Caller::Baresip).await;
}

#[tokio::test]
async fn pcma_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcma, Caller::Us).await;
}

#[tokio::test]
async fn pcma_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcma, Caller::Baresip).await;
}

#[tokio::test]
async fn opus_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Opus, Caller::Us).await;
}

#[tokio::test]
async fn opus_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Opus, Caller::Baresip).await;
}

#[test]
fn codec_lists_keep_their_order_and_refuse_unknown_names() {
    assert_eq!(parse_codecs("Opus, pcmu,opus").unwrap(), vec![Codec::Opus, Codec::Pcmu]);
    assert_eq!(parse_codecs("pcma").unwrap(), vec![Codec::Pcma]);
    assert!(parse_codecs("g729").unwrap_err().contains("g729"));
    assert!(parse_codecs(" , ").is_err());
}
