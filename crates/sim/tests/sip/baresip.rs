//! An independent phone: baresip (Debian package `baresip`) registers with digest, is rung by
//! the PBX model, answers on its own and exchanges G.711 audio with the simulated caller. Our
//! own user agent shares the `sip` crate's digest code with the registrar; baresip does not.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::{control, line_of, manual_world, poll_until, start};

/// A separate process on a busy machine: more time than for our own phone.
const PEER_PATIENCE: Duration = Duration::from_secs(10);

/// A headless baresip whose microphone is a 1 kHz sine; killed when dropped.
struct Baresip {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl Baresip {
    fn start(registrar: std::net::SocketAddr) -> Baresip {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "sip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,play\n\
             audio_source ausine,1000\n\
             audio_alert aubridge,alert\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             rtp_ports 30000-39999\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module_tmp account.so\n\
             module_app menu.so\n"
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        let account = format!("<sip:101@{registrar};transport=udp>;auth_pass=demo;regint=60;answermode=auto\n");
        std::fs::write(dir.path().join("accounts"), account).unwrap();
        let log = std::fs::File::create(dir.path().join("baresip.log")).unwrap();
        let child = tokio::process::Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .args(["-n", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start baresip ({error}): apt-get install baresip"));
        Baresip { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }
}

#[tokio::test]
async fn baresip_registers_answers_and_talks_both_ways() {
    let sim = start(manual_world()).await;
    let mut phone = Baresip::start(sim.sip_addr());
    let registered = poll_until(&sim, "/sip", PEER_PATIENCE, |s| s["registrations"][0]["login"] == "op1").await;
    assert!(registered.is_ok(), "baresip did not register; log:\n{}", phone.log());
    let call = control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    let id = call["call"].as_u64().unwrap();
    let answered = poll_until(&sim, "/sip", PEER_PATIENCE, |s| {
        s["legs"][0]["phase"] == "up" && s["legs"][0]["rtp"]["packets_received"].as_u64() >= Some(25)
    })
    .await;
    let sip = answered.unwrap_or_else(|last| panic!("baresip did not answer: {last}; log:\n{}", phone.log()));
    let level = sip["legs"][0]["rtp"]["inbound_level_dbov"].as_f64().unwrap();
    assert!(level > -40.0, "baresip's tone arrives at {level} dBov");
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsCommutated");
    control(&sim, "POST", &format!("/calls/{id}/hangup"), "", 200).await;
    // The leg is forgotten only once its BYE transaction completed: baresip answered the BYE.
    let ended = poll_until(&sim, "/sip", PEER_PATIENCE, |s| s["legs"] == json!([])).await;
    assert!(ended.is_ok(), "baresip did not take the BYE; log:\n{}", phone.log());
    phone.child.start_kill().ok();
    sim.shutdown().await;
}
