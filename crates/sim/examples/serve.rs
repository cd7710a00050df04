//! Runs the simulator on loopback until Ctrl-C, for trying clients by hand:
//! `cargo run -p sim --example serve -- [default|demo|world.toml] [oktell_port] [control_port] [creatio_port]`.
//! Prints the endpoints as one JSON line.

use std::path::Path;

use sim::{SimOptions, World};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let world = match args.next().as_deref() {
        None | Some("default") => World::default_world(),
        Some("demo") => World::demo(),
        Some(path) => World::from_file(Path::new(path))?,
    };
    let oktell_port = args.next().map(|p| p.parse()).transpose()?.unwrap_or(0);
    let control_port = args.next().map(|p| p.parse()).transpose()?.unwrap_or(0);
    let creatio_port = args.next().map(|p| p.parse()).transpose()?.unwrap_or(0);
    let sim = sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port,
        control_port,
        creatio_port,
        world,
        seed: 1,
    })
    .await?;
    println!("{}", serde_json::to_string(sim.endpoints())?);
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
