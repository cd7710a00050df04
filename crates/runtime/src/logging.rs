//! Logging: a rotating file a support engineer can ask for, plus stderr for whoever started the process.
//!
//! Files rotate daily and the last [`KEPT_FILES`] are kept, so a workstation that runs for months does not fill its
//! disk. The level comes from `RUST_LOG` when set (e.g. `RUST_LOG=oktell=debug,sip=trace`), else `info`. Nothing
//! that could hold a secret is ever formatted by this code's callers; the cores redact phone numbers at `info`.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How many daily log files are kept.
pub const KEPT_FILES: usize = 7;

/// The prefix of every log file name (`oktell-panel.2026-11-23.log`).
pub const FILE_PREFIX: &str = "oktell-panel";

/// Keeps the background log writer alive; logs written after it is dropped may be lost, so hold it in `main`.
#[derive(Debug)]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
    /// The folder the log files are in, when file logging started.
    pub dir: Option<PathBuf>,
}

/// Why logging could not start as asked.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` does not parse.
    #[error("RUST_LOG is not a valid filter: {0}")]
    Filter(String),
    /// A global subscriber was already installed (a second call in one process).
    #[error("logging was already started")]
    AlreadyStarted,
}

/// Starts logging to stderr and, when `log_dir` is given and usable, to rotating files in it. A log folder that
/// cannot be created is reported on stderr and the panel carries on: losing the log must not stop the phone.
pub fn init(log_dir: Option<&Path>) -> Result<LogGuard, LoggingError> {
    let filter = || match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(spec).map_err(|err| LoggingError::Filter(err.to_string()))
        }
        _ => Ok(EnvFilter::new("info")),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter()?);

    let file = log_dir.and_then(|dir| match open_file_appender(dir) {
        Ok(appender) => Some((dir.to_path_buf(), tracing_appender::non_blocking(appender))),
        Err(err) => {
            eprintln!(
                "oktell-panel: cannot write logs to {}: {err}; logging to stderr only",
                dir.display()
            );
            None
        }
    });

    match file {
        Some((dir, (writer, guard))) => {
            let file_layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter()?);
            tracing_subscriber::registry()
                .with(stderr)
                .with(file_layer)
                .try_init()
                .map_err(|_| LoggingError::AlreadyStarted)?;
            Ok(LogGuard {
                _file: Some(guard),
                dir: Some(dir),
            })
        }
        None => {
            tracing_subscriber::registry()
                .with(stderr)
                .try_init()
                .map_err(|_| LoggingError::AlreadyStarted)?;
            Ok(LogGuard { _file: None, dir: None })
        }
    }
}

fn open_file_appender(dir: &Path) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(dir).map_err(|err| err.to_string())?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(dir)
        .map_err(|err| err.to_string())
}
