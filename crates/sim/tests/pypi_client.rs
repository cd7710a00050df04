//! An independent, published Creatio client (`creatio-api-py` from PyPI, pinned in
//! `tests/pypi/requirements.txt`) logs in, queries, creates, updates and deletes against the
//! stand-in without modification (CREATIO.md §9 point 8).
//!
//! The test makes its own virtual environment under Cargo's test scratch directory and installs
//! the requirements into it with pip (once; later runs reuse it), so it needs `python3` with the
//! `venv` module and access to PyPI.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sim::{SimOptions, World};

fn run(command: &mut Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The venv's python, with the pinned client installed.
fn python_with_client() -> PathBuf {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = scratch.join("creatio-api-py-venv");
    let python = venv.join("bin").join("python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import creatio_api_py.api"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !installed {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pypi/requirements.txt");
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements));
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creatio_api_py_logs_in_queries_creates_updates_and_deletes() {
    let python = tokio::task::spawn_blocking(python_with_client).await.unwrap();
    let sim = sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world: World::default_world(),
        seed: 11,
    })
    .await
    .unwrap();
    let base = sim.endpoints().creatio.clone();
    let workdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("creatio-api-py-run-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pypi/creatio_api_py_check.py");
    let output = tokio::task::spawn_blocking(move || {
        run(Command::new(python)
            .arg(script)
            .arg(base)
            .current_dir(&workdir)
            .env_remove("CREATIO_USERNAME")
            .env_remove("CREATIO_PASSWORD"))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("all checks passed"), "{stdout}");
    sim.shutdown().await;
}
