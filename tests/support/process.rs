//! Child processes owned by a test: terminated (SIGTERM, then SIGKILL) when the guard drops, also when an
//! assertion fails, so a red test never leaves a display, driver or app behind.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A child process that is stopped when dropped.
#[derive(Debug)]
pub struct Owned {
    name: String,
    child: Child,
}

impl Owned {
    /// Starts `command`; `name` is used in failure messages.
    pub fn spawn(name: &str, command: &mut Command) -> Owned {
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        Owned {
            name: name.to_owned(),
            child,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Takes the child's piped stdout.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Takes the child's piped stderr.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit, then SIGKILL. Polite first: tauri-driver only stops its
    /// WebKitWebDriver child on SIGTERM.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.id().to_string()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} ignored SIGTERM for {grace:?}; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// A free TCP port on loopback (bound and released; good enough for a test that binds it right away).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}
