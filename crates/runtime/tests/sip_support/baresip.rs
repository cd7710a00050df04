//! baresip (Debian packages `baresip-core`, `baresip`) headless: a 1 kHz sine as its
//! microphone (`ausine`), what it receives dumped to WAV (`sndfile`), remote control over
//! `ctrl_tcp` (netstring-framed JSON). Bound to 127.0.0.1 only, SDP included (`-n`).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{PATIENCE, PeerProcess, free_port_pair, loopback, spawn_peer};

/// The tone baresip sends.
pub const BARESIP_TONE_HZ: f64 = 1000.0;

pub struct Baresip {
    /// Its SIP address.
    pub addr: SocketAddr,
    control: TcpStream,
    token: u64,
    _process: PeerProcess,
    dir: tempfile::TempDir,
}

impl Baresip {
    /// `account` is the accounts-file line, e.g. `<sip:b@127.0.0.1:PORT>;regint=0`; `{port}`
    /// in it is replaced with baresip's SIP port.
    pub async fn start(account: &str) -> Self {
        Self::start_with(account, &[]).await
    }

    /// [`Baresip::start`] loading `modules` (e.g. `opus.so`) besides G.711; each must be
    /// installed. Returns once baresip says it is ready.
    pub async fn start_with(account: &str, modules: &[&str]) -> Self {
        let module_dir = Path::new("/usr/lib/baresip/modules");
        for module in modules {
            let path = module_dir.join(module);
            assert!(
                path.exists(),
                "{} is missing: apt-get install baresip-core",
                path.display()
            );
        }
        let extra: String = modules.iter().map(|m| format!("module {m}\n")).collect();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port_pair();
        let control_port = free_port_pair();
        let snd = dir.path().join("snd");
        std::fs::create_dir_all(&snd).unwrap();
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
             {extra}\
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
        let account = account.replace("{port}", &port.to_string());
        std::fs::write(dir.path().join("accounts"), format!("{account}\n")).unwrap();
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
        baresip
    }

    /// Runs a menu command (`dial sip:…`, `hold`, `resume`, `hangup`, `reginfo`) and returns
    /// its response's `data`; fails the test if baresip says not ok.
    pub async fn command(&mut self, line: &str) -> String {
        let (command, params) = line.split_once(' ').unwrap_or((line, ""));
        self.token += 1;
        let token = self.token.to_string();
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{body},", body.len());
        self.control.write_all(frame.as_bytes()).await.unwrap();
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
        response["data"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the account is registered (asked with `reginfo`: the registration may
    /// finish before the control connection opens, so its event can be missed).
    pub async fn wait_registered(&mut self) {
        let started = Instant::now();
        loop {
            let info = self.command("reginfo").await;
            if info.contains("OK") {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "baresip did not register: {info}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until baresip reports an event of `kind` (e.g. `CALL_ESTABLISHED`, `REGISTER_OK`).
    pub async fn expect_event(&mut self, kind: &str) -> Value {
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

    /// The WAV baresip wrote of what it received (decoded), once the call is over.
    pub async fn received_audio(&self) -> PathBuf {
        self.recording("-dec.wav").await
    }

    /// The WAV `sndfile` wrote with `suffix` (`-dec.wav`: what baresip received, decoded;
    /// `-enc.wav`: its own microphone), once the call is over and the file is complete.
    pub async fn recording(&self, suffix: &str) -> PathBuf {
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
                "baresip wrote no {suffix} in {} (holds {:?}); log:\n{}",
                snd.display(),
                std::fs::read_dir(&snd)
                    .unwrap()
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
