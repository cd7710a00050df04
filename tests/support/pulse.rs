//! A private PulseAudio daemon with null sinks for tests that need real audio streams without a sound card (the
//! recipe in shared/reference/build-and-test.md section 5). Shared by the workspace's tests: the app's end-to-end
//! suites pass its environment to the app; crates/runtime's tests include this file by path.
//!
//! Needs the Debian packages `pulseaudio pulseaudio-utils libasound2-plugins`; without them the test fails and says
//! so rather than passing silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PACKAGES: &str = "pulseaudio pulseaudio-utils libasound2-plugins";
/// An upper bound only: every wait ends as soon as its condition holds.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A private PulseAudio server; stopped and removed on drop.
pub struct PulseDaemon {
    dir: tempfile::TempDir,
}

impl PulseDaemon {
    /// Starts a daemon with two null sinks, `ci_headset` (the default sink, its monitor the default source) and
    /// `ci_speakers`.
    pub fn start() -> PulseDaemon {
        for (tool, package) in [("pulseaudio", "pulseaudio"), ("pactl", "pulseaudio-utils")] {
            if let Err(e) = Command::new(tool).arg("--version").output() {
                panic!(
                    "`{tool}` cannot run ({e}); install the Debian packages: apt-get install {PACKAGES} (missing: {package})"
                );
            }
        }
        let plugin = Command::new("sh")
            .args(["-c", "ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so"])
            .output()
            .unwrap();
        assert!(
            plugin.status.success(),
            "ALSA's pulse plugin is missing; install the Debian packages: apt-get install {PACKAGES} (missing: libasound2-plugins)"
        );
        let daemon = PulseDaemon {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(daemon.runtime()).unwrap();
        std::fs::create_dir_all(daemon.dir.path().join("state")).unwrap();
        let socket = format!(
            "module-native-protocol-unix socket={} auth-anonymous=1",
            daemon.socket().display()
        );
        let sink = |name: &str, description: &str| {
            format!("module-null-sink sink_name={name} rate=48000 sink_properties=device.description={description}")
        };
        let status = daemon
            .command("pulseaudio")
            .args(["--daemonize=yes", "--exit-idle-time=-1", "--system=false", "-n"])
            .arg(format!(
                "--log-target=file:{}",
                daemon.dir.path().join("pa.log").display()
            ))
            .args(["-L", &socket])
            .args(["-L", &sink("ci_headset", "CI-headset")])
            .args(["-L", &sink("ci_speakers", "CI-speakers")])
            .args(["-L", "module-always-sink"])
            .status()
            .unwrap();
        assert!(status.success(), "pulseaudio did not start: {status}\n{}", daemon.log());
        let deadline = Instant::now() + TIMEOUT;
        while !daemon.pactl(&["info"]).status.success() {
            assert!(Instant::now() < deadline, "pulseaudio did not answer\n{}", daemon.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon.pactl_ok(&["set-default-sink", "ci_headset"]);
        daemon.pactl_ok(&["set-default-source", "ci_headset.monitor"]);
        daemon
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime().join("native")
    }

    pub fn server(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// A command that talks to this daemon only, whatever else runs on the machine.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("PULSE_SERVER", self.server())
            .env("PULSE_RUNTIME_PATH", self.runtime())
            .env("PULSE_STATE_PATH", self.dir.path().join("state"))
            .env("HOME", self.dir.path());
        command
    }

    pub fn pactl(&self, args: &[&str]) -> Output {
        self.command("pactl").args(args).output().unwrap()
    }

    pub fn pactl_ok(&self, args: &[&str]) {
        let out = self.pactl(args);
        assert!(
            out.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pa.log")).unwrap_or_default()
    }

    /// Runs one `#[ignore]`d test of this binary against the daemon.
    pub fn run_child(&self, test: &str) {
        let out = self
            .command(std::env::current_exe().unwrap())
            .args(["--exact", test, "--include-ignored", "--nocapture", "--test-threads=1"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child test {test} failed\n--- stdout\n{stdout}\n--- stderr\n{}\n--- pulseaudio log\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for PulseDaemon {
    fn drop(&mut self) {
        let exited = self.pactl(&["exit"]).status.success();
        let pid_file = self.runtime().join("pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let deadline = Instant::now() + Duration::from_secs(5);
            let alive = |pid: &str| Path::new("/proc").join(pid.trim()).exists();
            while alive(&pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !exited || alive(&pid) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
}

impl PulseDaemon {
    /// What a process needs in its environment to use this daemon only (cpal through ALSA's pulse plugin reads it).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PULSE_SERVER", self.server()),
            ("PULSE_RUNTIME_PATH", self.runtime().display().to_string()),
            ("PULSE_STATE_PATH", self.dir.path().join("state").display().to_string()),
        ]
    }
}
