//! `oktell-panel sim`: the simulated world on its own, for trying the panel, for oktell.js, and for tests.

use std::process::ExitCode;

use sim::{SimOptions, World};

use super::{fail, tokio_runtime};
use crate::cli::SimArgs;

/// Serves the world until SIGINT or SIGTERM; the endpoints go to stdout as one JSON line, so a script can read
/// them before it sends anything.
pub fn run(args: &SimArgs) -> ExitCode {
    let world = match &args.world {
        Some(file) => match World::from_file(file) {
            Ok(world) => world,
            Err(err) => return fail(err),
        },
        None if args.quiet => World::default_world(),
        None => World::demo(),
    };
    let runtime = match tokio_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let options = SimOptions {
            bind: args.bind,
            oktell_port: args.oktell_port,
            control_port: args.control_port,
            creatio_port: args.creatio_port,
            world,
            seed: args.seed,
        };
        let running = match sim::serve(options).await {
            Ok(running) => running,
            Err(err) => return fail(err),
        };
        match serde_json::to_string(running.endpoints()) {
            Ok(line) => println!("{line}"),
            Err(err) => return fail(err),
        }
        tracing::info!("the simulated world is running; stop it with Ctrl+C");
        if let Err(err) = interrupted().await {
            tracing::warn!(%err, "cannot wait for signals; stopping");
        }
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Waits for Ctrl+C, or for SIGTERM where there is one (how tests and service managers stop it).
async fn interrupted() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
