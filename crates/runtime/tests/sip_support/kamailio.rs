//! Kamailio (Debian package `kamailio`) as registrar and proxy with digest auth, on a free
//! loopback port, users in db_text in a temp dir. Config: `tests/peers/kamailio.cfg`.

use std::{
    net::{SocketAddr, UdpSocket},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use super::{PeerProcess, free_port_pair, loopback, spawn_peer};

/// The accounts' SIP domain: a name kamailio knows as itself, never resolved.
pub const DOMAIN: &str = "kamailio.test";

/// The accounts kamailio knows (user, password) in [`DOMAIN`].
pub const USERS: [(&str, &str); 3] = [("1001", "secret1001"), ("1002", "secret1002"), ("1003", "secret1003")];

/// Which digest algorithm kamailio challenges with.
#[derive(Debug, Clone, Copy)]
pub enum Algorithm {
    Md5,
    Sha256,
}

/// A server certificate for [`Kamailio::start_tls`] (PEM).
pub struct TlsIdentity {
    pub certificate: String,
    pub private_key: String,
}

pub struct Kamailio {
    pub addr: SocketAddr,
    /// Where it takes TLS, when started with [`Kamailio::start_tls`].
    pub tls_addr: Option<SocketAddr>,
    // Field order: the process stops before its directory goes.
    _process: PeerProcess,
    dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts kamailio and waits until it answers OPTIONS.
    pub fn start(algorithm: Algorithm) -> Self {
        Self::start_on(algorithm, free_port_pair())
    }

    /// [`Kamailio::start`] on a given port (UDP and TCP): a registrar that comes back where it was.
    pub fn start_on(algorithm: Algorithm, port: u16) -> Self {
        Self::start_with(algorithm, port, None)
    }

    /// [`Kamailio::start`] that also takes TLS on the next port, with `identity` (needs the Debian package
    /// kamailio-tls-modules).
    pub fn start_tls(algorithm: Algorithm, identity: &TlsIdentity) -> Self {
        Self::start_with(algorithm, free_port_pair(), Some(identity))
    }

    fn start_with(algorithm: Algorithm, port: u16, tls: Option<&TlsIdentity>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let run = dir.path().join("run");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        // The schema version auth_db checks before reading the subscriber table.
        std::fs::write(
            db.join("version"),
            "id(int,auto) table_name(string) table_version(int) \n1:subscriber:7\n",
        )
        .unwrap();
        // db_text refuses empty ha1 columns; with calculate_ha1 they are never read.
        let mut subscribers =
            String::from("id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n");
        for (i, (user, password)) in USERS.iter().enumerate() {
            subscribers.push_str(&format!("{}:{user}:{DOMAIN}:{password}:x:x\n", i + 1));
        }
        std::fs::write(db.join("subscriber"), subscribers).unwrap();
        let template = include_str!("../peers/kamailio.cfg");
        let tls_config = dir.path().join("tls.cfg");
        if let Some(identity) = tls {
            let (certificate, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
            std::fs::write(&certificate, &identity.certificate).unwrap();
            std::fs::write(&key, &identity.private_key).unwrap();
            std::fs::write(
                &tls_config,
                format!(
                    "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
                     private_key = {}\ncertificate = {}\n\n[client:default]\nverify_certificate = no\n\
                     require_certificate = no\n",
                    key.display(),
                    certificate.display()
                ),
            )
            .unwrap();
        }
        let config = template
            .replace("@PORT@", &port.to_string())
            .replace("@TLS_PORT@", &(port + 1).to_string())
            .replace("@TLS_CONFIG@", tls_config.to_str().unwrap())
            .replace("@DB_DIR@", db.to_str().unwrap())
            .replace("@DOMAIN@", DOMAIN);
        let config_path = dir.path().join("kamailio.cfg");
        std::fs::write(&config_path, config).unwrap();
        let mut command = Command::new("kamailio");
        command.arg("-f").arg(&config_path).args(["-DD", "-E", "-Y"]).arg(&run);
        command.arg("-P").arg(run.join("kamailio.pid"));
        if let Algorithm::Sha256 = algorithm {
            command.args(["-A", "AUTH_ALG=\"SHA-256\""]);
        }
        if tls.is_some() {
            command.args(["-A", "WITH_TLS"]);
        }
        let process = spawn_peer(command, "kamailio", &dir.path().join("kamailio.log"));
        let kamailio = Self {
            addr: loopback(port),
            tls_addr: tls.map(|_| loopback(port + 1)),
            _process: process,
            dir,
        };
        kamailio.wait_ready();
        kamailio
    }

    fn wait_ready(&self) {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let local = probe.local_addr().unwrap();
        let started = Instant::now();
        let mut n = 0;
        while started.elapsed() < Duration::from_secs(10) {
            n += 1;
            let options = format!(
                "OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKprobe{n};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:{DOMAIN}>\r\n\
                 Call-ID: probe{n}@127.0.0.1\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
            );
            probe.send_to(options.as_bytes(), self.addr).unwrap();
            let mut buf = [0u8; 2048];
            if let Ok((len, _)) = probe.recv_from(&mut buf)
                && buf[..len].starts_with(b"SIP/2.0 200")
            {
                return;
            }
        }
        panic!("kamailio did not answer on {}; log:\n{}", self.addr, self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kamailio.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
