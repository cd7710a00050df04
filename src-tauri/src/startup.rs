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

/// WebKit's switches the panel's windows run with, each as (variable, value). WebKitGTK reads them only from the
/// environment, and the UI process hands its environment to the web processes it spawns.
///
/// `WEBKIT_SKIA_ENABLE_CPU_RENDERING`: the web process paints its layers with Skia on the CPU instead of through
/// OpenGL. A panel of a few hundred widgets does not need the GPU, and GPU painting cost the web process 23 MB of
/// its 160 MB at idle (issue #7, `benches/startup.rs`). Switching compositing off altogether
/// (`WEBKIT_DISABLE_COMPOSITING_MODE`) would save 60 MB, but WebKit then never answers a WebDriver screenshot of a
/// page that does not change, which the end-to-end suite relies on.
const WEBKIT_ENVIRONMENT: [(&str, &str); 1] = [("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1")];

/// Replaces this process with the same program and arguments, with [`WEBKIT_ENVIRONMENT`] added where the
/// environment does not already name a value (an administrator's or a tester's choice wins). Returns at once when
/// nothing is missing, which is always the case in the replaced process; otherwise it returns only when the program
/// could not be started again, and the panel then runs with WebKit's defaults.
///
/// The process keeps its id, so whoever started the panel (the session, a test's WebDriver) still owns it. Setting
/// the variables in this process instead would race the threads that read the environment, which is why Rust
/// calls `set_var` unsafe.
#[cfg(target_os = "linux")]
pub fn with_webkit_environment() -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;

    let missing: Vec<(&str, &str)> = WEBKIT_ENVIRONMENT
        .into_iter()
        .filter(|(name, _)| std::env::var_os(name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(std::env::current_exe()?);
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    Err(command.args(args).envs(missing).exec())
}

/// Elsewhere the webview is not WebKitGTK and takes no such switches.
#[cfg(not(target_os = "linux"))]
pub fn with_webkit_environment() -> std::io::Result<()> {
    Ok(())
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
