//! The panel task with a real softphone: its [`SipLink`] talks over loopback UDP to another
//! `SipLink` playing the caller, so every SIP path of the panel (ring, answer on the softphone,
//! tones, hold and resume by re-INVITE, hang up) crosses real sockets. With the simulated
//! Oktell and Creatio beside it, the Oktell ring and the INVITE of the same caller are one call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use call::Action;
use media::stream::StreamEvent;
use runtime::panel::configured::{self, SipAccount, SoftphoneOptions};
use runtime::panel::{CallConfig, CardOpen, Drivers, Panel, PanelView, SharedLogin, ShellEffect, UiCommand};
use runtime::secrets::Secret;
use runtime::sip_link::{LinkCommand, LinkConfig, LinkEvent, SipLink};
use sip::invite::{CallHandle, EndReason, ReferPolicy, SessionTimerConfig};
use sip::msg::Limits;
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A free loopback UDP port for the panel's softphone, which the caller must know before it starts.
fn free_port() -> u16 {
    UdpSocket::bind(loopback(0)).unwrap().local_addr().unwrap().port()
}

/// The caller: a plain user agent on loopback whose every request goes to the panel's softphone.
struct Caller {
    link: SipLink,
}

impl Caller {
    async fn start(number: &str, panel_phone: SocketAddr) -> Caller {
        let ua = UaConfig {
            local: loopback(0),
            proxy: panel_phone,
            domain: "127.0.0.1".into(),
            user: number.into(),
            display_name: None,
            password: String::new(),
            register_expires: 300,
            media: MediaConfig {
                address: "127.0.0.1".into(),
                port: 0,
                codecs: vec![Codec::Pcmu, Codec::Pcma],
                telephone_event: true,
                ptime: 20,
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            user_agent: "panel-softphone-test-caller".into(),
            seed: 11,
            refer_policy: ReferPolicy::Reject,
            session_timer: SessionTimerConfig::default(),
        };
        let link = SipLink::start(LinkConfig {
            ua,
            signalling_bind: loopback(0),
            rtp_bind: loopback(0),
            register: false,
            play: None,
            record: None,
            signalling: Default::default(),
        })
        .await
        .unwrap();
        Caller { link }
    }

    async fn send(&self, command: LinkCommand) {
        self.link.commands().send(command).await.unwrap();
    }

    /// Waits for the first event `pick` accepts, skipping the others.
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(LinkEvent) -> Option<T>) -> T {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(event) = self.link.next_event().await {
                if let Some(found) = pick(event) {
                    return Some(found);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(found)) => found,
            _ => panic!("the caller never saw {what}"),
        }
    }
}

/// The panel's softphone on `port`, sending everything to `caller`; it does not register (the caller is no
/// registrar).
async fn panel_phone(port: u16, caller: SocketAddr) -> runtime::panel::Softphone {
    let account = SipAccount {
        user: "101".into(),
        domain: "127.0.0.1".into(),
        proxy: caller,
        password: Secret::new(""),
        signalling: Default::default(),
    };
    let options = SoftphoneOptions {
        signalling_bind: loopback(port),
        rtp_bind: loopback(0),
        register: false,
        ..SoftphoneOptions::default()
    };
    configured::start_softphone(&account, &options).await.unwrap()
}

async fn view_where(panel: &Panel, what: &str, check: impl Fn(&PanelView) -> bool) -> PanelView {
    let mut views = panel.views();
    let found = tokio::time::timeout(WAIT, views.wait_for(|view| check(view)))
        .await
        .map(|view| view.map(|view| view.clone()));
    match found {
        Ok(Ok(view)) => view,
        _ => panic!("no view with {what}; the last: {:?}", *views.borrow()),
    }
}

fn drain(shell: &mut mpsc::Receiver<ShellEffect>) -> Vec<ShellEffect> {
    std::iter::from_fn(|| shell.try_recv().ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sip_only_call_rings_is_answered_on_the_softphone_and_takes_tones_hold_and_hangup() {
    let port = free_port();
    let mut caller = Caller::start("102", loopback(port)).await;
    let phone = panel_phone(port, caller.link.local_addr()).await;
    let config = CallConfig {
        oktell_configured: false,
        sip_configured: true,
        own_number: "101".into(),
        card_open: CardOpen::Never,
        ..CallConfig::default()
    };
    let drivers = Drivers {
        sip: Some(phone),
        ..Drivers::default()
    };
    let (panel, mut shell, _task) = Panel::spawn(config, drivers);

    caller
        .send(LinkCommand::Call {
            target: format!("sip:101@127.0.0.1:{port}"),
        })
        .await;
    let dialog: CallHandle = caller
        .expect("its dialog", |event| match event {
            LinkEvent::Dialing { call, .. } => Some(call),
            _ => None,
        })
        .await;
    let ringing = view_where(&panel, "the ringing call", |view| {
        view.popup.as_ref().is_some_and(|call| call.via_softphone)
    })
    .await;
    let call = ringing.popup.unwrap();
    assert_eq!(call.party.number.as_deref(), Some("102"));
    assert!(ringing.actions.contains(&Action::Answer), "{:?}", ringing.actions);
    let effects = drain(&mut shell);
    assert!(effects.contains(&ShellEffect::StartRingtone), "{effects:?}");
    assert!(effects.contains(&ShellEffect::ShowPopup), "{effects:?}");

    panel.command(UiCommand::Answer).await.unwrap();
    caller
        .expect("the answer", |event| match event {
            LinkEvent::Sip(UaEvent::Established { call, .. }) if call == dialog => Some(()),
            _ => None,
        })
        .await;
    let talking = view_where(&panel, "the conversation", |view| {
        view.call.as_ref().is_some_and(|call| call.state == "talking") && view.popup.is_none()
    })
    .await;
    assert!(talking.actions.contains(&Action::Dtmf), "{:?}", talking.actions);

    panel.command(UiCommand::Dtmf { digits: "5".into() }).await.unwrap();
    let digit = caller
        .expect("the tone", |event| match event {
            LinkEvent::Media {
                event: StreamEvent::Dtmf(dtmf),
                ..
            } => Some(dtmf.digit),
            _ => None,
        })
        .await;
    assert_eq!(digit, '5');

    panel.command(UiCommand::Hold).await.unwrap();
    caller
        .expect("the hold re-INVITE", |event| match event {
            LinkEvent::Sip(UaEvent::MediaUpdated { media, .. }) if media.held_by_remote => Some(()),
            _ => None,
        })
        .await;
    view_where(&panel, "the call on hold", |view| {
        view.held.first().is_some_and(|call| call.state == "held")
    })
    .await;
    panel.command(UiCommand::Resume).await.unwrap();
    caller
        .expect("the resume re-INVITE", |event| match event {
            LinkEvent::Sip(UaEvent::MediaUpdated { media, .. }) if !media.held_by_remote => Some(()),
            _ => None,
        })
        .await;
    view_where(&panel, "the conversation again", |view| {
        view.call.as_ref().is_some_and(|call| call.state == "talking")
    })
    .await;

    panel.command(UiCommand::Hangup).await.unwrap();
    let reason = caller
        .expect("the BYE", |event| match event {
            LinkEvent::Sip(UaEvent::Ended { call, reason }) if call == dialog => Some(reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, EndReason::RemoteHangup);
    let done = view_where(&panel, "the call in the history", |view| {
        view.call.is_none() && !view.history.is_empty()
    })
    .await;
    assert_eq!(done.history.len(), 1);
    assert_eq!(serde_json::to_value(done.history[0].outcome).unwrap(), "answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oktell_ring_and_the_invite_of_one_caller_are_one_call_answered_on_the_softphone() {
    let sim = sim::serve(sim::SimOptions {
        bind: Ipv4Addr::LOCALHOST.into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world: sim::World::default_world(),
        seed: 9,
    })
    .await
    .unwrap();
    let endpoints = sim.endpoints().clone();
    let folder = tempfile::tempdir().unwrap();
    let mut drivers = Drivers::start(&SharedLogin {
        oktell_url: endpoints.oktell.clone(),
        creatio_url: endpoints.creatio.clone(),
        user: "op1".into(),
        password: "demo".into(),
        outbox: folder.path().join("outbox.sqlite3"),
    })
    .unwrap();
    let port = free_port();
    // The same caller as the one the simulated PBX rings op1 with: the panel must pair the two reports.
    let mut caller = Caller::start("89257778899", loopback(port)).await;
    drivers.sip = Some(panel_phone(port, caller.link.local_addr()).await);
    let config = CallConfig {
        own_number: "101".into(),
        card_open: CardOpen::Never,
        ..CallConfig::default()
    };
    let (panel, _shell, _task) = Panel::spawn(config, drivers);
    view_where(&panel, "Oktell connected", |view| view.health.oktell.state == "ok").await;

    control(&endpoints.control, r#"{"from":"89257778899","to":"101"}"#).await;
    view_where(&panel, "the Oktell ring", |view| view.popup.is_some()).await;
    caller
        .send(LinkCommand::Call {
            target: format!("sip:101@127.0.0.1:{port}"),
        })
        .await;
    let ringing = view_where(&panel, "one call on both legs, named by Creatio", |view| {
        view.popup
            .as_ref()
            .is_some_and(|call| call.via_oktell && call.via_softphone && call.party.display == "Татьяна Новикова")
    })
    .await;
    assert!(ringing.held.is_empty(), "a second call appeared: {ringing:?}");

    panel.command(UiCommand::Answer).await.unwrap();
    caller
        .expect("the softphone's answer", |event| match event {
            LinkEvent::Sip(UaEvent::Established { .. }) => Some(()),
            _ => None,
        })
        .await;
    let talking = view_where(&panel, "the conversation", |view| {
        view.call.as_ref().is_some_and(|call| call.state == "talking")
    })
    .await;
    assert!(talking.popup.is_none());
    assert!(talking.held.is_empty());
    sim.shutdown().await;
}

/// `POST /calls` to the simulator's control API, off the async threads.
async fn control(base: &str, body: &str) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /calls HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.") && reply.contains(" 200 "), "{reply}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_the_caller_refuses_leaves_the_call_with_a_sentence() {
    let port = free_port();
    // The caller's user agent declines every REFER (603).
    let mut caller = Caller::start("102", loopback(port)).await;
    let drivers = Drivers {
        sip: Some(panel_phone(port, caller.link.local_addr()).await),
        ..Drivers::default()
    };
    let config = CallConfig {
        oktell_configured: false,
        card_open: CardOpen::Never,
        ..CallConfig::default()
    };
    let (panel, _shell, _task) = Panel::spawn(config, drivers);
    caller
        .send(LinkCommand::Call {
            target: format!("sip:101@127.0.0.1:{port}"),
        })
        .await;
    view_where(&panel, "the ringing call", |view| view.popup.is_some()).await;
    panel.command(UiCommand::Answer).await.unwrap();
    view_where(&panel, "the conversation", |view| {
        view.actions.contains(&Action::Transfer)
    })
    .await;

    panel.command(UiCommand::Transfer { to: "104".into() }).await.unwrap();
    let target = caller
        .expect("the REFER", |event| match event {
            LinkEvent::Dialog(sip::ua::DialogEvent::Referred { target, .. }) => Some(target.to_string()),
            _ => None,
        })
        .await;
    assert!(target.starts_with("sip:104@127.0.0.1"), "{target}");
    let view = view_where(&panel, "the refusal", |view| view.notice.is_some()).await;
    assert_eq!(
        view.notice.as_deref(),
        Some("The transfer did not go through (SIP 603); the call stays with you.")
    );
    assert_eq!(view.call.as_ref().map(|call| call.state), Some("talking"));
}
