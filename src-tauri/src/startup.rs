//! What the panel decides before any window opens: which configuration, which mode, where files go.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use runtime::config::Config;
use runtime::paths::AppPaths;

use crate::cli::Cli;

/// The decisions made at start-up, handed to the desktop shell.
#[derive(Debug)]
pub struct Startup {
    /// The validated configuration.
    pub config: Config,
    /// Where it was read from (or would be, when it does not exist).
    pub config_file: PathBuf,
    /// Run against the embedded demo world.
    pub demo: bool,
    /// Where the log files go, when the platform has a data folder.
    pub log_dir: Option<PathBuf>,
    /// The data folder (the demo world's files, the call-record outbox), when the platform has one.
    pub data_dir: Option<PathBuf>,
    /// Where the `file` secret store keeps passwords (and what a keyring error suggests instead).
    pub secrets_file: Option<PathBuf>,
    /// A tel:/sip:/callto: link given on the command line.
    pub link: Option<String>,
}

impl Startup {
    /// Reads the configuration the command line names (or the default one) and decides the mode. The error is a
    /// sentence for the terminal.
    pub fn prepare(cli: &Cli) -> Result<Startup, String> {
        let paths = AppPaths::for_current_user();
        let (config_file, config) = load(cli.config.as_deref(), paths.as_ref())?;
        let demo = cli.demo || config.is_demo();
        Ok(Startup {
            config,
            config_file,
            demo,
            log_dir: paths.as_ref().map(AppPaths::log_dir),
            data_dir: paths.as_ref().map(|paths| paths.data_dir.clone()),
            secrets_file: paths.as_ref().map(AppPaths::secrets_file),
            link: cli.link.clone(),
        })
    }
}

/// An explicit `--config` must exist; the default file may be absent (that is the demo world).
pub fn load(explicit: Option<&Path>, paths: Option<&AppPaths>) -> Result<(PathBuf, Config), String> {
    match (explicit, paths) {
        (Some(file), _) => Config::load(file)
            .map(|config| (file.to_path_buf(), config))
            .map_err(|err| err.to_string()),
        (None, Some(paths)) => {
            let file = paths.config_file();
            Config::load_or_default(&file)
                .map(|config| (file, config))
                .map_err(|err| err.to_string())
        }
        (None, None) => Err("this account has no home folder; give the configuration with --config FILE".into()),
    }
}

/// `oktell-panel check`: validates the configuration and prints where the panel keeps its files.
pub fn check(explicit: Option<&Path>) -> ExitCode {
    let paths = AppPaths::for_current_user();
    match load(explicit, paths.as_ref()) {
        Ok((file, config)) => {
            let mode = if config.is_demo() {
                "demo world (no server configured)"
            } else {
                "configured servers"
            };
            println!("configuration: {} (valid)", file.display());
            println!("mode: {mode}");
            if let Some(paths) = paths {
                println!("logs: {}", paths.log_dir().display());
                println!("data: {}", paths.data_dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("oktell-panel: {message}");
            ExitCode::from(2)
        }
    }
}
