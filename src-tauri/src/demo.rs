//! The demo world (`--demo`, or no server configured): the simulated Oktell server, PBX and Creatio run inside the
//! app on loopback, and the panel logs in to both as `op1`, so a new user sees the whole product with nothing to
//! set up. Its softphone registers with the simulated PBX as op1's number, so a demo call rings the phone and
//! carries the caller's audio.
//!
//! The simulator's addresses go to the log and to `demo-endpoints.json` in the data folder: a tester (or the
//! end-to-end tests) plays the callers through its control API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use runtime::panel::configured::{self, SipAccount, SoftphoneOptions, StartupProblem};
use runtime::panel::{CallConfig, CardOpen, Drivers, DriversError, Panel, SharedLogin, ShellEffect, Softphone};
use runtime::secrets::Secret;
use sim::{RunningSim, SimOptions, World};
use tokio::sync::mpsc;

/// A world file (TOML, `crates/sim/world.example.toml`) to serve instead of the built-in demo world.
pub const WORLD_ENV: &str = "OKTELL_PANEL_DEMO_WORLD";
/// Where the simulator's endpoints are written, in the data folder.
pub const ENDPOINTS_FILE: &str = "demo-endpoints.json";
/// The demo operator, on the simulated Oktell and Creatio alike.
const USER: &str = "op1";
const PASSWORD: &str = "demo";
const OWN_NUMBER: &str = "101";

/// The running demo: the simulator lives as long as this value.
#[derive(Debug)]
pub struct Demo {
    /// The simulated world.
    pub sim: RunningSim,
    /// The panel logged in to it.
    pub panel: Panel,
    /// The effects only the shell can carry out.
    pub effects: mpsc::Receiver<ShellEffect>,
}

/// Why the demo world did not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The world file named by [`WORLD_ENV`].
    #[error("the demo world file: {0}")]
    World(sim::SimError),
    /// The simulator could not listen.
    #[error("the simulated world could not start: {0}")]
    Serve(sim::SimError),
    /// The endpoints file.
    #[error("cannot write {path}: {source}")]
    Endpoints {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The Oktell or Creatio driver.
    #[error(transparent)]
    Drivers(#[from] DriversError),
}

/// Starts the simulator on free loopback ports, then the drivers and the panel against it.
pub async fn start(data_dir: &Path) -> Result<Demo, DemoError> {
    let world = match std::env::var_os(WORLD_ENV) {
        Some(file) => World::from_file(Path::new(&file)).map_err(DemoError::World)?,
        None => World::demo(),
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() ^ u64::from(since.subsec_nanos()));
    let options = SimOptions {
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world,
        seed,
    };
    let sim = sim::serve(options).await.map_err(DemoError::Serve)?;
    let endpoints = sim.endpoints().clone();
    write_endpoints(data_dir, &endpoints)?;
    tracing::info!(
        oktell = %endpoints.oktell,
        control = %endpoints.control,
        creatio = %endpoints.creatio,
        "the demo world is running"
    );
    let phone = start_phone(&endpoints.sip).await;
    let mut drivers = Drivers::start(&SharedLogin {
        oktell_url: endpoints.oktell,
        creatio_url: endpoints.creatio,
        user: USER.into(),
        password: PASSWORD.into(),
        outbox: data_dir.join("demo-outbox.sqlite3"),
    })?;
    match phone {
        Ok(phone) => drivers.sip = Some(phone),
        Err(sentence) => drivers.problems.push(StartupProblem::Sip(sentence)),
    }
    let config = CallConfig {
        oktell_configured: true,
        sip_configured: true,
        own_number: OWN_NUMBER.into(),
        // A browser tab per demo call would bury the panel; the card opens when asked.
        card_open: CardOpen::Never,
        seed,
        ..CallConfig::default()
    };
    let (panel, effects, _task) = Panel::spawn(config, drivers);
    Ok(Demo { sim, panel, effects })
}

/// op1's softphone on the simulated PBX: its number is the SIP user, its Oktell password the SIP secret.
async fn start_phone(registrar: &str) -> Result<Softphone, String> {
    let proxy: SocketAddr = registrar
        .parse()
        .map_err(|_| format!("the simulated PBX gave no SIP address ({registrar})"))?;
    let account = SipAccount {
        user: OWN_NUMBER.into(),
        domain: proxy.ip().to_string(),
        proxy,
        password: Secret::new(PASSWORD),
        signalling: Default::default(),
    };
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let options = SoftphoneOptions {
        signalling_bind: loopback,
        rtp_bind: loopback,
        devices: Some(crate::app::operator_devices()),
        ..SoftphoneOptions::default()
    };
    configured::start_softphone(&account, &options)
        .await
        .map_err(|err| format!("The demo softphone cannot start: {err}."))
}

fn write_endpoints(data_dir: &Path, endpoints: &sim::Endpoints) -> Result<(), DemoError> {
    let path = data_dir.join(ENDPOINTS_FILE);
    let failed = |source| DemoError::Endpoints {
        path: path.clone(),
        source,
    };
    let json = serde_json::to_vec_pretty(endpoints).map_err(|err| failed(std::io::Error::other(err)))?;
    std::fs::create_dir_all(data_dir).map_err(failed)?;
    std::fs::write(&path, json).map_err(failed)
}
