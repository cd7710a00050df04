//! Call quality against baresip: speech quality (PESQ wide-band, ITU-T P.862.2) through a
//! real Opus call under three network conditions, with our phone and then baresip at the
//! receiving end; the added one-way latency of our pipeline; CPU per active Opus call of our
//! phone's process and of baresip's. One table at the end. `cargo bench -p runtime --bench
//! call_quality` (release).
//!
//! ```text
//!  speech.wav ─► our phone (sender, child process) ──RTP──► impairment relay ──► receiver
//!                     │                                          ▲   (seeded)    (our phone, or
//!                     └──────SIP──► relay: rewrites the answer's ┘                baresip) ─► WAV
//!                                   m= port to its own RTP port                        │
//!                                                          PESQ-WB(speech, recording) ◄┘
//! ```
//!
//! The sender is always our phone, so both receivers decode the same packets and the figures
//! compare receive paths: jitter buffer, FEC, concealment. The relay forwards SIP between
//! the two phones (top Via rewritten so the answer comes back through it) and relays RTP
//! both ways, impairing only sender to receiver: (a) nothing, (b) 3 % random loss plus a
//! delay uniform in 0-40 ms (which reorders), (c) 10 % loss in bursts (Gilbert-Elliott, mean
//! burst three packets). Every random choice comes from a fixed seed.
//!
//! Latency is measured in our pipeline itself, sans-IO with a virtual clock: a click is sent
//! through one `MediaStream` into another at no jitter, and the instant the click's first
//! sample is captured is compared with the instant it is played.
//!
//! CPU: utime + stime from `/proc/<pid>/stat` over the same stretch of call (a), for our
//! sending phone (a child process on a current-thread runtime: SIP, one Opus encoder and
//! decoder, jitter buffer, the tick) and for baresip receiving (one Opus decoder and
//! encoder of its `ausine` microphone, jitter buffer, `sndfile` writing). Our phone has no
//! echo canceller in this path yet; baresip's config loads none either.
//!
//! Needs: `espeak-ng`, `baresip` (with `opus.so`), `python3-venv`; the first run creates a
//! venv with `pesq` and `numpy` from PyPI under the target dir.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench: any failure aborts the run with its reason"
)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use media::{
    codec::{
        Codec as _,
        opus::{Opus, OpusConfig},
    },
    resample::Resampler,
    stream::{CodecChoice, MediaStream, StreamConfig},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use runtime::phone::{PhoneArgs, parse_codecs};
use tokio::net::UdpSocket;

/// Set in a child process started by the bench: run as a phone with these settings.
const ROLE_ENV: &str = "CALL_QUALITY_PHONE";
const PESQ_RATE: u32 = 16000;
const CALL_RATE: u32 = 48000;
const SEED: u64 = 0x0c7e_11a5;
const SPEECH: &str = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. \
                      It is easy to tell the depth of a well. These days a chicken leg is a rare dish.";

fn main() -> ExitCode {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        return phone_child(&role);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let work = tempfile::tempdir().unwrap();
    let python = pesq_python();
    let speech = make_speech(work.path());
    let reference = read_mono(&speech).0;
    let seconds = reference.len() as f64 / f64::from(PESQ_RATE);
    eprintln!("speech sample: {seconds:.1} s from espeak-ng");

    let direct = pesq(&python, work.path(), &reference, &opus_round_trip(&reference));
    let mut rows = Vec::new();
    let mut cpu = None;
    for impairment in [Impairment::None, Impairment::LossJitter, Impairment::BurstLoss] {
        let mut scores = Vec::new();
        for receiver in [Receiver::Ours, Receiver::Baresip] {
            eprintln!("call: {} -> {}", impairment.label(), receiver.label());
            let run = runtime.block_on(call(work.path(), &speech, seconds, receiver, impairment));
            let degraded = aligned(&reference, &run.recording);
            scores.push(pesq(&python, work.path(), &reference, &degraded));
            if let Some(measured) = run.cpu {
                cpu = Some(measured);
            }
        }
        rows.push((impairment, scores));
    }
    let latency = pipeline_latency();
    print_table(direct, &rows, latency, cpu);
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// The call

#[derive(Debug, Clone, Copy, PartialEq)]
enum Receiver {
    Ours,
    Baresip,
}

impl Receiver {
    fn label(self) -> &'static str {
        match self {
            Self::Ours => "our phone",
            Self::Baresip => "baresip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Impairment {
    None,
    LossJitter,
    BurstLoss,
}

impl Impairment {
    fn label(self) -> &'static str {
        match self {
            Self::None => "(a) no impairment",
            Self::LossJitter => "(b) 3 % loss + 40 ms jitter",
            Self::BurstLoss => "(c) 10 % burst loss",
        }
    }
}

/// What one call left behind.
struct CallRun {
    /// The receiver's recording, mono at [`PESQ_RATE`].
    recording: Vec<i16>,
    /// CPU seconds per second of call: (our sending phone, baresip), when baresip received.
    cpu: Option<(f64, f64)>,
}

/// One call of the speech through the relay; returns the receiver's recording.
async fn call(work: &Path, speech: &Path, seconds: f64, receiver: Receiver, impairment: Impairment) -> CallRun {
    let dir = tempfile::tempdir_in(work).unwrap();
    let record = dir.path().join("received.wav");
    let callee_port = free_port_pair();
    let callee = SocketAddr::from(([127, 0, 0, 1], callee_port));
    let call_seconds = seconds + 2.0;
    let mut callee_process = match receiver {
        Receiver::Ours => Process::phone(&[
            ("role", "callee"),
            ("bind", &callee.to_string()),
            ("peer", "127.0.0.1:9"),
            ("record", &record.to_string_lossy()),
            ("duration", &(call_seconds + 3.0).to_string()),
        ]),
        Receiver::Baresip => Process::baresip(dir.path(), callee_port),
    };
    let relay = Relay::start(callee, impairment).await;
    let mut caller = Process::phone(&[
        ("role", "caller"),
        ("bind", "127.0.0.1:0"),
        ("peer", &relay.sip.to_string()),
        ("dial", &format!("sip:bench@{}", relay.sip)),
        ("play", &speech.to_string_lossy()),
        ("duration", &call_seconds.to_string()),
    ]);
    caller.wait_for_line("\"established\"", Duration::from_secs(10));
    // Measure well inside the call: after the start, before the hang-up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let window = Duration::from_secs_f64(seconds - 1.0);
    let ours_before = cpu_seconds(caller.pid());
    let theirs_before = cpu_seconds(callee_process.pid());
    tokio::time::sleep(window).await;
    let cpu = (receiver == Receiver::Baresip && impairment == Impairment::None).then(|| {
        (
            (cpu_seconds(caller.pid()) - ours_before) / window.as_secs_f64(),
            (cpu_seconds(callee_process.pid()) - theirs_before) / window.as_secs_f64(),
        )
    });
    caller.wait_exit(Duration::from_secs_f64(call_seconds + 5.0));
    let recording = match receiver {
        Receiver::Ours => {
            callee_process.wait_exit(Duration::from_secs(10));
            record
        }
        Receiver::Baresip => baresip_recording(dir.path()),
    };
    drop(callee_process);
    relay.stop();
    let (samples, rate) = read_mono(&recording);
    CallRun {
        recording: resample(&samples, rate, PESQ_RATE),
        cpu,
    }
}

/// baresip's `sndfile` dump of what it decoded, once the call has closed it.
fn baresip_recording(dir: &Path) -> PathBuf {
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(dir.join("snd"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"));
        if let Some(path) = found
            && hound::WavReader::open(&path).is_ok_and(|r| r.duration() > 0)
        {
            return path;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "baresip recorded nothing; log:\n{}",
            std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The child side: one phone, Opus only, settings from the environment.
fn phone_child(role: &str) -> ExitCode {
    let setting = |name: &str| std::env::var(format!("{ROLE_ENV}_{}", name.to_uppercase())).ok();
    let peer: SocketAddr = setting("peer").unwrap().parse().unwrap();
    let mut args = PhoneArgs::new("bench", "127.0.0.1", peer);
    args.bind = setting("bind").unwrap().parse().unwrap();
    args.rtp_bind = SocketAddr::from(([127, 0, 0, 1], 0));
    args.register = false;
    args.codecs = parse_codecs("opus").unwrap();
    args.auto_answer = role == "callee";
    args.dial = setting("dial");
    args.play = setting("play").map(PathBuf::from);
    args.record = setting("record").map(PathBuf::from);
    args.duration = setting("duration").map(|s| Duration::from_secs_f64(s.parse().unwrap()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(runtime::phone::run(args))
}

/// A child process (our phone or baresip), killed when dropped; its stdout read by a thread.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    name: &'static str,
}

impl Process {
    fn phone(settings: &[(&str, &str)]) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        for (name, value) in settings {
            if *name == "role" {
                command.env(ROLE_ENV, value);
            } else {
                command.env(format!("{ROLE_ENV}_{}", name.to_uppercase()), value);
            }
        }
        command.env("RUST_LOG", "warn");
        command.stderr(Stdio::inherit());
        Self::spawn(command, "our phone")
    }

    fn baresip(dir: &Path, port: u16) -> Self {
        let snd = dir.join("snd");
        std::fs::create_dir_all(&snd).unwrap();
        // baresip's defaults for the jitter buffer and Opus; its microphone a 1 kHz sine
        // (`ausine` is stereo only, so baresip encodes two channels to our one).
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,play\n\
             audio_source ausine,1000\n\
             audio_alert aubridge,alert\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             rtp_ports 30000-39999\n\
             module_path /usr/lib/baresip/modules\n\
             module opus.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module sndfile.so\n\
             module_tmp uuid.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             snd_path {}\n",
            snd.display()
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:bench@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=opus/48000/2\n"),
        )
        .unwrap();
        let mut command = Command::new("baresip");
        // Its stderr carries a status line redrawn many times a second.
        command
            .arg("-f")
            .arg(dir)
            .args(["-n", "127.0.0.1"])
            .stderr(Stdio::null());
        let mut process = Self::spawn(command, "baresip");
        process.wait_for_line("baresip is ready", Duration::from_secs(10));
        process
    }

    fn spawn(mut command: Command, name: &'static str) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, name }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_for_line(&mut self, needle: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(line) => seen.push(line),
                Err(_) => panic!(
                    "{}: no line with {needle} within {patience:?}; saw {seen:#?}",
                    self.name
                ),
            }
        }
    }

    fn wait_exit(&mut self, patience: Duration) {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not exit within {patience:?}", self.name);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); the first after the name is field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / clock_ticks()
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Two consecutive ports free on loopback (baresip also binds TCP on its SIP port).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let free = port < u16::MAX
            && [port, port + 1].iter().all(|&p| {
                std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
                    && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            });
        if free {
            return port;
        }
    }
    panic!("no free port pair");
}

// ---------------------------------------------------------------------------------------
// The relay

struct Relay {
    sip: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(callee: SocketAddr, impairment: Impairment) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sip = socket.local_addr().unwrap();
        let task = tokio::spawn(relay_sip(socket, callee, impairment));
        Self { sip, task }
    }

    fn stop(self) {
        self.task.abort();
    }
}

/// Forwards SIP between the caller (whoever is not the callee) and the callee. The top Via
/// of requests names the relay so that responses come back through it. The audio port of
/// the offer and of the answer is replaced by the RTP relay's, so both sides send their media
/// to the relay: a side that latches onto the source of the media it receives (symmetric
/// RTP, as our phone does) would otherwise bypass it.
async fn relay_sip(socket: UdpSocket, callee: SocketAddr, impairment: Impairment) {
    let me = socket.local_addr().unwrap();
    let mut caller: Option<SocketAddr> = None;
    let rtp_socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let relay_port = rtp_socket.local_addr().unwrap().port();
    let mut caller_rtp: Option<SocketAddr> = None;
    // Dropped with this task when the relay stops, which aborts the RTP relay too.
    let mut rtp_task = tokio::task::JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        if from != callee {
            caller = Some(from);
            let mut out = replace_top_via(&text, &from.to_string(), &me.to_string());
            if !out.starts_with("SIP/2.0") && out.contains("\r\nm=audio ") {
                let (port, rtp) = sdp_audio(&out, from);
                caller_rtp = Some(rtp);
                out = with_audio_port(&out, port, relay_port);
            }
            let _ = socket.send_to(out.as_bytes(), callee).await;
            continue;
        }
        let Some(caller) = caller else { continue };
        let mut out = replace_top_via(&text, &me.to_string(), &caller.to_string());
        if out.starts_with("SIP/2.0") && out.contains("\r\nm=audio ") {
            let (port, callee_rtp) = sdp_audio(&out, callee);
            if rtp_task.is_empty()
                && let Some(caller_rtp) = caller_rtp
            {
                rtp_task.spawn(relay_rtp(Arc::clone(&rtp_socket), caller_rtp, callee_rtp, impairment));
            }
            out = with_audio_port(&out, port, relay_port);
        }
        let _ = socket.send_to(out.as_bytes(), caller).await;
    }
}

fn replace_top_via(message: &str, from: &str, to: &str) -> String {
    let mut done = false;
    message
        .split("\r\n")
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            if !done && (lower.starts_with("via:") || lower.starts_with("v:")) {
                done = true;
                line.replacen(from, to, 1)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The answer's audio port and where its RTP goes (`c=` address).
fn sdp_audio(message: &str, callee: SocketAddr) -> (u16, SocketAddr) {
    let port: u16 = message
        .split("\r\n")
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let ip = message
        .split("\r\n")
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(callee.ip());
    (port, SocketAddr::new(ip, port))
}

/// The message with the audio port replaced and Content-Length recomputed.
fn with_audio_port(message: &str, old: u16, new: u16) -> String {
    let (head, body) = message.split_once("\r\n\r\n").unwrap();
    let body = body.replacen(&format!("m=audio {old} "), &format!("m=audio {new} "), 1);
    let head: Vec<String> = head
        .split("\r\n")
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-length:") || lower.starts_with("l:") {
                format!("Content-Length: {}", body.len())
            } else {
                line.to_owned()
            }
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n"))
}

/// Relays RTP (and muxed RTCP) both ways; the caller's packets to the callee are impaired.
async fn relay_rtp(socket: Arc<UdpSocket>, caller: SocketAddr, callee: SocketAddr, impairment: Impairment) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut burst = false;
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let bytes = buf[..len].to_vec();
        if from == callee {
            let _ = socket.send_to(&bytes, caller).await;
            continue;
        }
        let delay = match impairment {
            Impairment::None => Some(Duration::ZERO),
            Impairment::LossJitter => {
                (!rng.random_bool(0.03)).then(|| Duration::from_micros(rng.random_range(0..40_000)))
            }
            Impairment::BurstLoss => {
                // Gilbert-Elliott: mean burst 3 packets, stationary loss p / (p + r) = 10 %.
                let (p, r) = (1.0 / 27.0, 1.0 / 3.0);
                burst = if burst { !rng.random_bool(r) } else { rng.random_bool(p) };
                (!burst).then_some(Duration::ZERO)
            }
        };
        match delay {
            Some(Duration::ZERO) => {
                let _ = socket.send_to(&bytes, callee).await;
            }
            Some(delay) => {
                let socket = Arc::clone(&socket);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = socket.send_to(&bytes, callee).await;
                });
            }
            None => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Audio: the sample, resampling, alignment, PESQ

/// Speech from espeak-ng, resampled to 16 kHz with half a second of silence around it.
fn make_speech(work: &Path) -> PathBuf {
    let raw = work.join("espeak.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(SPEECH)
        .status()
        .unwrap_or_else(|e| panic!("espeak-ng: {e} (apt-get install espeak-ng)"));
    assert!(status.success(), "espeak-ng failed");
    let (samples, rate) = read_mono(&raw);
    let mut speech = vec![0i16; PESQ_RATE as usize / 2];
    speech.extend(resample(&samples, rate, PESQ_RATE));
    speech.extend(vec![0i16; PESQ_RATE as usize / 2]);
    let path = work.join("speech.wav");
    write_mono(&path, &speech, PESQ_RATE);
    path
}

fn read_mono(path: &Path) -> (Vec<i16>, u32) {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let mono = samples.into_iter().step_by(usize::from(spec.channels)).collect();
    (mono, spec.sample_rate)
}

fn write_mono(path: &Path, samples: &[i16], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
}

/// Whole-signal resampling with the media crate's resampler; its filter delay is trimmed so
/// the output lines up with the input.
fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to {
        return samples.to_vec();
    }
    let mut r = Resampler::new(from, to).unwrap();
    r.push(samples).unwrap();
    r.push(&vec![0; from as usize / 10]).unwrap();
    let mut out = vec![0; r.available()];
    r.pull(&mut out);
    out
}

/// The direct reference: the speech through our Opus encoder and decoder with no network,
/// at the call's rate, as the call would carry it.
fn opus_round_trip(reference: &[i16]) -> Vec<i16> {
    let wide = resample(reference, PESQ_RATE, CALL_RATE);
    let mut codec = Opus::new(OpusConfig {
        sample_rate: CALL_RATE,
        ..OpusConfig::default()
    })
    .unwrap();
    let frame = codec.frame_samples();
    let mut payload = Vec::new();
    let mut decoded = Vec::new();
    for chunk in wide.chunks_exact(frame) {
        codec.encode(chunk, &mut payload).unwrap();
        codec.decode(&payload, &mut decoded).unwrap();
    }
    resample(&decoded, CALL_RATE, PESQ_RATE)
}

/// The stretch of `recording` that carries the first whole copy of `reference` (found by the
/// correlation of 10 ms energy envelopes), with a little margin either side.
fn aligned(reference: &[i16], recording: &[i16]) -> Vec<i16> {
    const BLOCK: usize = (PESQ_RATE / 100) as usize;
    let envelope = |x: &[i16]| -> Vec<f64> {
        x.chunks(BLOCK)
            .map(|c| (c.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
            .collect()
    };
    let (er, ed) = (envelope(reference), envelope(recording));
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len().max(1) as f64;
    let mr = mean(&er);
    let mut best = (f64::MIN, 0);
    for lag in 0..ed.len().saturating_sub(er.len()).max(1) {
        let window = &ed[lag.min(ed.len())..(lag + er.len()).min(ed.len())];
        let mw = mean(window);
        let score: f64 = er.iter().zip(window).map(|(a, b)| (a - mr) * (b - mw)).sum::<f64>()
            / (window.iter().map(|b| (b - mw).powi(2)).sum::<f64>().sqrt() + 1e-9);
        if score > best.0 {
            best = (score, lag);
        }
    }
    let margin = BLOCK * 10;
    let start = (best.1 * BLOCK).saturating_sub(margin);
    let end = (best.1 * BLOCK + reference.len() + margin).min(recording.len());
    recording[start.min(end)..end].to_vec()
}

/// The venv's python with `pesq`, created on first use under the target dir.
fn pesq_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pesq-venv");
    let python = venv.join("bin").join("python");
    let works = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pesq, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&python) {
        let run = |command: &mut Command| assert!(command.status().unwrap().success(), "{command:?} failed");
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", "pesq", "numpy"]));
    }
    python
}

/// PESQ wide-band MOS-LQO of `degraded` against `reference`, both at 16 kHz.
fn pesq(python: &Path, work: &Path, reference: &[i16], degraded: &[i16]) -> f64 {
    let (r, d) = (work.join("pesq-ref.wav"), work.join("pesq-deg.wav"));
    write_mono(&r, reference, PESQ_RATE);
    write_mono(&d, degraded, PESQ_RATE);
    let script = "import sys, wave, numpy\n\
                  from pesq import pesq\n\
                  def load(p):\n    w = wave.open(p)\n    return numpy.frombuffer(w.readframes(w.getnframes()), dtype=numpy.int16).astype(numpy.float32)\n\
                  print(pesq(16000, load(sys.argv[1]), load(sys.argv[2]), 'wb'))\n";
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&r)
        .arg(&d)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("pesq failed: {text} {}", String::from_utf8_lossy(&out.stderr)))
}

// ---------------------------------------------------------------------------------------
// Latency in our pipeline

/// Mean (capture to wire, wire to playout) at no jitter over several phases between the
/// receiver's playout tick and the packets' arrival, and the mean encode + decode time.
fn pipeline_latency() -> (Duration, Duration, Duration) {
    let phases = [1u64, 5, 10, 15, 19];
    let mut to_wire = Duration::ZERO;
    let mut to_playout = Duration::ZERO;
    let mut work = Duration::ZERO;
    for (i, &phase) in phases.iter().enumerate() {
        let (wire, playout, cpu) = click_through(Duration::from_millis(phase), SEED + i as u64);
        to_wire += wire;
        to_playout += playout;
        work += cpu;
    }
    let n = phases.len() as u32;
    (to_wire / n, to_playout / n, work / n)
}

/// Sends silence and then a click through one Opus stream into another on a virtual clock.
/// The click's first sample is captured 20 ms before the tick that sends its frame (a frame
/// is sent once full), reaches the wire at that tick plus the encode time, and is played at
/// the receiver's tick that returns it plus its offset in that frame.
fn click_through(phase: Duration, seed: u64) -> (Duration, Duration, Duration) {
    let frame_time = Duration::from_millis(20);
    let t0 = Instant::now();
    let choice = CodecChoice::Opus(OpusConfig {
        sample_rate: CALL_RATE,
        ..OpusConfig::default()
    });
    let a: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:40002".parse().unwrap();
    let mut sender_config = StreamConfig::new(choice, 111, seed);
    sender_config.remote = Some(b);
    let mut sender = MediaStream::new(t0, sender_config).unwrap();
    let mut receiver_config = StreamConfig::new(choice, 111, seed ^ 1);
    receiver_config.remote = Some(a);
    let mut receiver = MediaStream::new(t0, receiver_config).unwrap();
    let samples = sender.frame_samples();
    let click_frame = 100u32;
    let click: Vec<i16> = (0..samples)
        .map(|n| (16000.0 * (std::f64::consts::TAU * 1000.0 * n as f64 / f64::from(CALL_RATE)).sin()) as i16)
        .collect();
    let silence = vec![0i16; samples];
    let mut encode_time = Duration::ZERO;
    let mut decode_time = Duration::ZERO;
    for n in 0..click_frame + 20 {
        let tick = t0 + frame_time * n;
        let pcm = if n >= click_frame { &click } else { &silence };
        let started = Instant::now();
        sender.send_frame(tick, pcm).unwrap();
        encode_time += started.elapsed();
        while let Some(transmit) = sender.poll_transmit() {
            receiver.handle_datagram(tick, a, &transmit.bytes);
        }
        let play_at = tick + phase;
        let started = Instant::now();
        let played = receiver.play_frame(play_at);
        decode_time += started.elapsed();
        if let Some(offset) = played.samples.iter().position(|s| s.unsigned_abs() > 2000) {
            assert!(n >= click_frame, "a click before it was sent");
            let click_tick = t0 + frame_time * click_frame;
            let heard = play_at + Duration::from_secs_f64(offset as f64 / f64::from(CALL_RATE));
            let per_frame = (encode_time + decode_time) / (n + 1);
            return (frame_time + per_frame / 2, heard - click_tick, per_frame);
        }
    }
    panic!("the click never came out");
}

// ---------------------------------------------------------------------------------------
// The table

fn print_table(
    direct: f64,
    rows: &[(Impairment, Vec<f64>)],
    latency: (Duration, Duration, Duration),
    cpu: Option<(f64, f64)>,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!("Call quality, Opus 48 kHz mono 20 ms, sender: our phone (seed {SEED:#x})");
    println!("{:-<78}", "");
    println!(
        "{:<32} {:>14} {:>14} {:>14}",
        "PESQ-WB (MOS-LQO)", "our phone", "baresip", "ours-baresip"
    );
    for (impairment, scores) in rows {
        let (ours, theirs) = (scores[0], scores[1]);
        println!(
            "{:<32} {ours:>14.2} {theirs:>14.2} {:>+14.2}",
            impairment.label(),
            ours - theirs
        );
    }
    println!(
        "{:<32} {direct:>14.2} {:>14} {:>14}",
        "direct encode/decode (ref a)", "", ""
    );
    println!("{:-<78}", "");
    let (wire, playout, work) = latency;
    println!("{:<32} {:>11.1} ms", "added latency capture -> wire", ms(wire));
    println!("{:<32} {:>11.1} ms", "added latency wire -> playout", ms(playout));
    println!("{:<32} {:>11.1} ms", "added one-way latency, total", ms(wire + playout));
    println!(
        "{:<32} {:>11.1} us",
        "encode + decode per frame",
        work.as_secs_f64() * 1e6
    );
    println!("{:-<78}", "");
    match cpu {
        Some((ours, theirs)) => {
            println!(
                "{:<32} {:>14} {:>14} {:>14}",
                "CPU per active Opus call", "our phone", "baresip", "ratio"
            );
            println!(
                "{:<32} {:>13.2}% {:>13.2}% {:>14.2}",
                "(one core = 100 %)",
                ours * 100.0,
                theirs * 100.0,
                ours / theirs.max(1e-9)
            );
        }
        None => println!("CPU: not measured"),
    }
}
