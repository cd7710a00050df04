//! The tokio Oktell link against the simulated Oktell server over real
//! loopback sockets: login, every call scenario the simulator plays, agent
//! status both ways, and the failures an operator must be told about. After
//! each step the state folded from the link's events must equal the
//! server's own state (read through the control API).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oktell_support;

use oktell::agent::{StatusRequest, UserStateId};
use oktell::error::LoginError;
use oktell::line::PhoneState;
use oktell::msg::request::Sequence;
use oktell::{CloseReason, Command, ConnectionState};
use oktell_support::*;
use serde_json::json;

const CALLER: &str = "89161234567";
const OTHER_CALLER: &str = "84951234567";
const THIRD: &str = "89257778899";

/// op1 in a talk with `CALLER`, answered through the link.
async fn talking(sim: &Simulator, client: &mut Client) -> u64 {
    let call = sim.control.call_in(CALLER, "101").await;
    client.until("ringing", |m| m.phone() == PhoneState::Ring).await;
    client.succeed(Command::Answer).await;
    client.until("talk", |m| m.phone() == PhoneState::Talk).await;
    assert_eq!(client.mirror.party(), Some(CALLER));
    client.converge(&sim.control, "op1").await;
    call
}

#[tokio::test]
async fn login_loads_the_directory_and_mirrors_the_server() {
    let sim = Simulator::start(quick_world(), 1).await;
    let mut client = Client::connect(&sim, "op1", 1).await;
    client.until("directory", |m| m.users > 0 && m.numbers > 0).await;
    let world = World::default_world();
    assert_eq!(client.mirror.users, world.users.len());
    client.converge(&sim.control, "op1").await;
    assert_eq!(client.mirror.phone(), PhoneState::Ready);
    assert_eq!(client.mirror.agent.state, UserStateId::Ready);
    assert_eq!(sim.control.user("op1").await["connections"], 1);
}

use sim::World;

#[tokio::test]
async fn incoming_call_answered_through_the_link_then_the_caller_hangs_up() {
    let sim = Simulator::start(quick_world(), 2).await;
    let mut client = Client::connect(&sim, "op1", 2).await;
    let call = talking(&sim, &mut client).await;
    sim.control.hang_up(call).await;
    client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn incoming_call_the_caller_gives_up_is_missed() {
    let sim = Simulator::start(quick_world(), 3).await;
    let mut client = Client::connect(&sim, "op1", 3).await;
    let call = sim.control.call_in(CALLER, "101").await;
    client.until("ringing", |m| m.phone() == PhoneState::Ring).await;
    assert_eq!(client.mirror.party(), Some(CALLER));
    client.converge(&sim.control, "op1").await;
    sim.control.hang_up(call).await;
    client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    assert!(client.mirror.line.abonents.is_empty());
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn incoming_call_declined_through_the_link() {
    let sim = Simulator::start(quick_world(), 4).await;
    let mut client = Client::connect(&sim, "op1", 4).await;
    sim.control.call_in(CALLER, "101").await;
    client.until("ringing", |m| m.phone() == PhoneState::Ring).await;
    client.succeed(Command::Decline).await;
    client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
    assert!(sim.control.state().await["calls"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn auto_call_rings_the_operator_dials_and_connects_then_hangs_up() {
    let sim = Simulator::start(quick_world(), 5).await;
    let mut client = Client::connect(&sim, "op1", 5).await;
    client
        .succeed(Command::Call {
            number: OTHER_CALLER.into(),
            sequence: Sequence::User,
        })
        .await;
    // The desk phone picks up the back ring by itself, the far end answers.
    client.until("talk", |m| m.phone() == PhoneState::Talk).await;
    assert_eq!(client.mirror.party(), Some(OTHER_CALLER));
    client.converge(&sim.control, "op1").await;
    client.succeed(Command::Hangup).await;
    client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn auto_call_to_a_busy_number_ends_ready() {
    let sim = Simulator::start(quick_world(), 6).await;
    let mut client = Client::connect(&sim, "op1", 6).await;
    // Subscriber 7 of the default world is always busy.
    let busy = World::default_world().subscribers[7].number.clone();
    client
        .succeed(Command::Call {
            number: busy,
            sequence: Sequence::Abonent,
        })
        .await;
    client
        .until("dialling", |m| {
            matches!(m.phone(), PhoneState::BackCall | PhoneState::Call)
        })
        .await;
    client.until("ready", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn hold_and_resume_keep_the_same_party() {
    let sim = Simulator::start(quick_world(), 7).await;
    let mut client = Client::connect(&sim, "op1", 7).await;
    talking(&sim, &mut client).await;
    client.succeed(Command::Hold).await;
    client
        .until("on hold", |m| {
            m.held() == Some(CALLER) && m.phone() == PhoneState::Ready
        })
        .await;
    assert!(client.mirror.line.abonents.is_empty());
    client.converge(&sim.control, "op1").await;
    client.succeed(Command::Resume).await;
    client
        .until("resumed", |m| m.phone() == PhoneState::Talk && m.held().is_none())
        .await;
    assert_eq!(client.mirror.party(), Some(CALLER));
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn consultation_then_commutation_connects_the_two_parties() {
    let sim = Simulator::start(quick_world(), 8).await;
    let mut client = Client::connect(&sim, "op1", 8).await;
    talking(&sim, &mut client).await;
    client
        .succeed(Command::Call {
            number: OTHER_CALLER.into(),
            sequence: Sequence::User,
        })
        .await;
    client
        .until("consulting", |m| {
            m.phone() == PhoneState::Talk && m.party() == Some(OTHER_CALLER) && m.held() == Some(CALLER)
        })
        .await;
    client.converge(&sim.control, "op1").await;
    client.succeed(Command::Commutate).await;
    client
        .until("free", |m| m.phone() == PhoneState::Ready && m.held().is_none())
        .await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn blind_transfer_leaves_the_operator_free() {
    let sim = Simulator::start(quick_world(), 9).await;
    let mut client = Client::connect(&sim, "op1", 9).await;
    talking(&sim, &mut client).await;
    client.succeed(Command::Transfer { to: "102".into() }).await;
    client.until("free", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn conference_built_from_a_consultation_takes_in_the_held_party_then_leave() {
    let sim = Simulator::start(quick_world(), 10).await;
    let mut client = Client::connect(&sim, "op1", 10).await;
    talking(&sim, &mut client).await;
    client
        .succeed(Command::Call {
            number: OTHER_CALLER.into(),
            sequence: Sequence::User,
        })
        .await;
    client
        .until("consulting", |m| {
            m.phone() == PhoneState::Talk && m.party() == Some(OTHER_CALLER) && m.held() == Some(CALLER)
        })
        .await;
    client.succeed(Command::ConferenceFromCall).await;
    client
        .until("in conference", |m| {
            m.line.conference.is_some() && m.held() == Some(CALLER)
        })
        .await;
    client.converge(&sim.control, "op1").await;
    client.succeed(Command::ConferenceAddHeld).await;
    client
        .until("the held party joined", |m| {
            m.held().is_none() && m.line.abonents.iter().any(|a| a.phone.as_deref() == Some(CALLER))
        })
        .await;
    client.converge(&sim.control, "op1").await;
    client
        .succeed(Command::ConferenceInvite {
            invitees: vec![THIRD.into()],
        })
        .await;
    client
        .until("three parties", |m| {
            m.line.abonents.iter().any(|a| a.phone.as_deref() == Some(THIRD))
        })
        .await;
    client.converge(&sim.control, "op1").await;
    client.succeed(Command::ConferenceLeave).await;
    client.until("free", |m| m.phone() == PhoneState::Ready).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn conference_created_from_ready_with_two_invitees() {
    let sim = Simulator::start(quick_world(), 11).await;
    let mut client = Client::connect(&sim, "op1", 11).await;
    client
        .succeed(Command::ConferenceCreate {
            invitees: vec![CALLER.into(), OTHER_CALLER.into()],
        })
        .await;
    client.until("in conference", |m| m.line.conference.is_some()).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn a_second_caller_waits_in_the_queue_and_rings_when_the_line_is_free() {
    let sim = Simulator::start(quick_world(), 12).await;
    let mut client = Client::connect(&sim, "op1", 12).await;
    let first = talking(&sim, &mut client).await;
    sim.control.call_in(OTHER_CALLER, "101").await;
    client
        .until("queued", |m| {
            m.queue.iter().any(|a| a.phone.as_deref() == Some(OTHER_CALLER))
        })
        .await;
    client.converge(&sim.control, "op1").await;
    sim.control.hang_up(first).await;
    client
        .until("the queued caller rings", |m| {
            m.phone() == PhoneState::Ring && m.party() == Some(OTHER_CALLER)
        })
        .await;
    client.until("queue empty", |m| m.queue.is_empty()).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn a_colleagues_status_change_reaches_the_directory() {
    let sim = Simulator::start(quick_world(), 13).await;
    let mut client = Client::connect(&sim, "op1", 13).await;
    sim.control
        .post("/users/op2/state", Some(json!({"userstateid": 3})))
        .await;
    client
        .until("op2 in do-not-disturb", |m| {
            m.number_states.contains(&("102".into(), 3))
        })
        .await;
    sim.control
        .post("/users/op2/state", Some(json!({"userstateid": 1})))
        .await;
    client
        .until("op2 ready again", |m| {
            m.number_states.last() == Some(&("102".into(), 1))
        })
        .await;
}

#[tokio::test]
async fn agent_status_changes_from_the_panel_and_from_the_server() {
    let sim = Simulator::start(quick_world(), 14).await;
    let mut client = Client::connect(&sim, "op1", 14).await;
    client.succeed(Command::SetStatus(StatusRequest::Break(Some(2)))).await;
    client
        .until("on a break", |m| m.agent.state == UserStateId::Break)
        .await;
    client.converge(&sim.control, "op1").await;
    assert_eq!(sim.control.user("op1").await["presence"]["lunchreasonid"], 2);
    client.succeed(Command::SetStatus(StatusRequest::ReadyCallCenter)).await;
    client.until("ready", |m| m.agent.state == UserStateId::Ready).await;
    client.converge(&sim.control, "op1").await;
    // A supervisor (here: the control API) puts the operator in do-not-disturb.
    sim.control
        .post("/users/op1/state", Some(json!({"userstateid": 3})))
        .await;
    client.until("dnd", |m| m.agent.state == UserStateId::Dnd).await;
    client.converge(&sim.control, "op1").await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_for_good() {
    let sim = Simulator::start(quick_world(), 15).await;
    let mut client = Client::spawn(config(&sim.oktell, "op1", "not-demo", 15), plain_tls());
    client
        .until("closed", |m| matches!(m.connection, ConnectionState::Closed(_)))
        .await;
    assert_eq!(client.mirror.login_failures, [LoginError::WrongPassword]);
    assert_eq!(
        client.mirror.connection,
        ConnectionState::Closed(CloseReason::LoginRefused(LoginError::WrongPassword))
    );
    tokio::time::timeout(PATIENCE, &mut client.task).await.unwrap().unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_reported_and_retried() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}");
    let mut client = Client::spawn(config(&url, "op1", "demo", 16), plain_tls());
    client
        .until("two failed attempts", |m| m.socket_failures.len() >= 2)
        .await;
    let (failed_url, reason) = &client.mirror.socket_failures[0];
    assert_eq!(failed_url, &url);
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
    assert!(matches!(
        client.mirror.connection,
        ConnectionState::Reconnecting { .. } | ConnectionState::Connecting { .. }
    ));
    client.link.command(Command::Logout).await.unwrap();
    client
        .until("stopped", |m| {
            m.connection == ConnectionState::Closed(CloseReason::LoggedOut)
        })
        .await;
}
