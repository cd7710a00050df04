//! Shared pieces of the SIP peer tests: the phone driven in-process over pipes, free loopback
//! ports, real peers (kamailio, baresip) started per test in temp dirs and killed on drop,
//! and the audio oracle (tone files and a Goertzel detector).

#![allow(dead_code, reason = "each test file uses part of the support")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failure here is a failed test"
)]

pub mod audio;
pub mod baresip;
pub mod kamailio;

use std::{
    net::{SocketAddr, UdpSocket},
    process::{Child, Command, ExitCode, Stdio},
    time::Duration,
};

use runtime::phone::{self, PhoneArgs};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines},
    task::JoinHandle,
};

/// How long any single step may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A UDP port free on 127.0.0.1 right now (the OS picks; a tiny race with other tests).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// Two consecutive ports free for UDP and TCP (baresip also listens on TCP, and TLS on +1).
pub fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let port = free_udp_port();
        if port >= u16::MAX - 1 {
            continue;
        }
        let free = [port, port + 1].iter().all(|&p| {
            UdpSocket::bind(("127.0.0.1", p)).is_ok() && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        });
        if free {
            return port;
        }
    }
    panic!("no two consecutive free ports on 127.0.0.1");
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The phone's defaults, bound to loopback only (the CLI default is every interface).
pub fn phone_args(user: &str, domain: &str, proxy: SocketAddr) -> PhoneArgs {
    let mut args = PhoneArgs::new(user, domain, proxy);
    args.bind = loopback(0);
    args.rtp_bind = loopback(0);
    args
}

/// Starts a peer in its own process group so that dropping the guard ends it and its children.
/// A missing binary fails the test and names the Debian package.
pub fn spawn_peer(mut command: Command, package: &str, log: &std::path::Path) -> PeerProcess {
    use std::os::unix::process::CommandExt as _;
    let log_file = std::fs::File::create(log).unwrap();
    command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .process_group(0);
    match command.spawn() {
        Ok(child) => PeerProcess { child },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "{:?} is not installed: apt-get install {package}",
                command.get_program()
            )
        }
        Err(error) => panic!("cannot start {:?}: {error}", command.get_program()),
    }
}

/// A running peer; dropped (also when the test panics), its whole process group is stopped.
#[derive(Debug)]
pub struct PeerProcess {
    child: Child,
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let kill = |signal: &str| {
            // The group may be gone already: nothing to report then.
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        kill("-TERM");
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill("-KILL");
        let _ = self.child.wait();
    }
}

/// The `phone` command run in-process: commands written to its stdin, JSON events read from
/// its stdout.
pub struct TestPhone {
    pub name: &'static str,
    stdin: DuplexStream,
    stdout: Lines<BufReader<DuplexStream>>,
    task: JoinHandle<ExitCode>,
    /// Every event read so far, for failure messages and later checks.
    pub history: Vec<Value>,
}

impl TestPhone {
    pub fn spawn(name: &'static str, args: PhoneArgs) -> Self {
        // RUST_LOG=runtime::sip_link=trace shows the SIP messages of a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (stdin, phone_stdin) = tokio::io::duplex(4096);
        let (phone_stdout, stdout) = tokio::io::duplex(1 << 20);
        let task = tokio::spawn(phone::run_with(args, BufReader::new(phone_stdin), phone_stdout));
        Self {
            name,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            task,
            history: Vec::new(),
        }
    }

    pub async fn send(&mut self, command: &str) {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
    }

    /// The next event named `name`, skipping (and keeping) others; fails after [`PATIENCE`].
    pub async fn expect(&mut self, name: &str) -> Value {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                let line = self.stdout.next_line().await.unwrap()?;
                let event: Value = serde_json::from_str(&line).unwrap();
                self.history.push(event.clone());
                if event["event"] == name {
                    return Some(event);
                }
            }
        })
        .await;
        match found {
            Ok(Some(event)) => event,
            Ok(None) => panic!("{}: phone exited before `{name}`; saw {:#?}", self.name, self.history),
            Err(_) => panic!(
                "{}: no `{name}` within {PATIENCE:?}; saw {:#?}",
                self.name, self.history
            ),
        }
    }

    /// Reads events for `duration`, failing on any `error` or `closed` event meanwhile.
    pub async fn stays_up_for(&mut self, duration: Duration) {
        let _ = tokio::time::timeout(duration, async {
            while let Some(line) = self.stdout.next_line().await.unwrap() {
                let event: Value = serde_json::from_str(&line).unwrap();
                self.history.push(event.clone());
                assert!(
                    event["event"] != "closed" && event["event"] != "error",
                    "{}: unexpected {event}; saw {:#?}",
                    self.name,
                    self.history
                );
            }
        })
        .await;
    }

    /// Quits (hang up, unregister) and returns the exit code and the remaining events.
    pub async fn quit(mut self) -> (ExitCode, Vec<Value>) {
        self.send("quit").await;
        self.finish().await
    }

    /// Waits for the phone to exit by itself (`--dial` call over, `--duration` elapsed).
    pub async fn finish(mut self) -> (ExitCode, Vec<Value>) {
        let code = tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .unwrap_or_else(|_| panic!("{}: phone did not exit; saw {:#?}", self.name, self.history))
            .unwrap();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            self.history.push(serde_json::from_str(&line).unwrap());
        }
        (code, self.history)
    }
}

/// Whether `events` holds an event named `name` with `field` equal to `value`.
pub fn saw(events: &[Value], name: &str, field: &str, value: &Value) -> bool {
    events.iter().any(|e| e["event"] == name && &e[field] == value)
}
