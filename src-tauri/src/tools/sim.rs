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
        // Listening for SIGTERM before the endpoints are announced: a script may stop the world the moment it
        // has read them, and a signal that came before the handler would kill the process instead.
        let stop = match StopSignal::listen() {
            Ok(stop) => stop,
            Err(err) => return fail(err),
        };
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
        stop.wait().await;
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Ctrl+C, or SIGTERM where there is one (how tests and service managers stop it).
struct StopSignal {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Starts listening (inside the runtime).
    fn listen() -> std::io::Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignal {})
        }
    }

    /// Until either arrives.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignal {
                mut terminate,
                mut interrupt,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot wait for Ctrl+C; stopping");
        }
    }
}
