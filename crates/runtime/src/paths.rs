//! Where the panel keeps its files on this platform.
//!
//! One place decides the locations so that the README, the log line printed at start-up and the code cannot
//! disagree. The XDG variables are honoured on Linux (the `directories` crate reads them), which is also how tests
//! isolate themselves from the real home directory.

use std::path::PathBuf;

use directories::ProjectDirs;

/// The platform directories of the application.
#[derive(Debug, Clone)]
pub struct AppPaths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds logs, the outbox database and the explicit secrets file.
    pub data_dir: PathBuf,
}

/// The file name of the configuration inside [`AppPaths::config_dir`].
pub const CONFIG_FILE: &str = "config.toml";

impl AppPaths {
    /// The directories for the current user, or `None` when the platform gives no home directory (a service
    /// account without `$HOME`): the caller then needs an explicit `--config`.
    pub fn for_current_user() -> Option<AppPaths> {
        let dirs = ProjectDirs::from("", "", "oktell-panel")?;
        Some(AppPaths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    /// The default configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join(CONFIG_FILE)
    }

    /// The folder of the rotating log files.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// The explicit plaintext secrets file, used only when the configuration asks for it.
    pub fn secrets_file(&self) -> PathBuf {
        self.data_dir.join("secrets.toml")
    }
}
