//! The Debian package: installed into a scratch root with `dpkg -x`, it must run and integrate with the desktop.
//! `scripts/dev test` builds the package with cargo-deb and runs this with OKTELL_PANEL_DEB set; a plain
//! `cargo test` skips it (ignored) because there is no package to check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn package() -> PathBuf {
    let deb = std::env::var_os("OKTELL_PANEL_DEB")
        .expect("OKTELL_PANEL_DEB names the .deb to check (scripts/dev test sets it)");
    PathBuf::from(deb)
}

fn control_field(deb: &Path, field: &str) -> String {
    let output = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(field)
        .output()
        .expect("run dpkg-deb");
    assert!(output.status.success(), "dpkg-deb -f failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
#[ignore = "needs a built .deb in OKTELL_PANEL_DEB (scripts/dev test)"]
fn the_package_installs_runs_and_handles_phone_links() {
    let deb = package();
    let root = tempfile::tempdir().unwrap();
    let status = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(root.path())
        .status()
        .expect("run dpkg -x");
    assert!(status.success(), "dpkg -x {} failed", deb.display());

    let binary = root.path().join("usr/bin/oktell-panel");
    let output = Command::new(&binary)
        .arg("--version")
        .output()
        .expect("run the packaged binary");
    assert!(output.status.success(), "{} --version failed", binary.display());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("oktell-panel {}", env!("CARGO_PKG_VERSION"))
    );

    let desktop = std::fs::read_to_string(root.path().join("usr/share/applications/oktell-panel.desktop")).unwrap();
    assert!(
        desktop.lines().any(|line| line == "Exec=oktell-panel %u"),
        "the link is not passed on:\n{desktop}"
    );
    for scheme in ["tel", "sip", "callto"] {
        assert!(
            desktop.contains(&format!("x-scheme-handler/{scheme};")),
            "{scheme}: links are not handled:\n{desktop}"
        );
    }
    for size in ["32x32", "128x128", "256x256", "512x512"] {
        let icon = root
            .path()
            .join(format!("usr/share/icons/hicolor/{size}/apps/oktell-panel.png"));
        assert!(icon.is_file(), "missing icon {}", icon.display());
    }

    let depends = control_field(&deb, "Depends");
    for library in [
        "libwebkit2gtk-4.1-0",
        "libayatana-appindicator3-1",
        "libasound2",
        "libopus0",
    ] {
        assert!(depends.contains(library), "Depends lacks {library}: {depends}");
    }
    assert_eq!(control_field(&deb, "Package"), "oktell-panel");
}
