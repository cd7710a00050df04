//! Our `creatio` crate against the stand-in over real HTTP: the session logs in and detects the
//! OData flavour, the identifier finds the world's subscribers with Creatio's number rules, and
//! the outbox writes a whole call record, across a forced session expiry.

use std::time::{Duration, Instant, SystemTime};

use creatio::auth::{Credentials, Secret};
use creatio::calls::{self, CallTimeline, Direction};
use creatio::http::{HttpRequest, HttpResponse, TransportError};
use creatio::identify::{
    self, Identification, Identifier, IdentifyConfig, LookupPart, NumberLengths, Start, SubscriberKind,
};
use creatio::outbox::{Outbox, OutboxConfig, OutboxEvent, RequestId};
use creatio::session::{ApiRequest, Session, SessionEvent};
use creatio::site::{Platform, PlatformChoice, Site};
use creatio::wire::CreatioTime;
use sim::World;
use sim::world::{ExpiredSession, ODataPaths};

use crate::{control, http, start};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    Settings,
    Lookup(LookupPart),
    Outbox(RequestId),
}

/// Sends everything the session wants sent, feeding answers back, until it is quiet; returns
/// the events it produced.
async fn pump(session: &mut Session<Tag>) -> Vec<SessionEvent<Tag>> {
    let mut events = Vec::new();
    loop {
        let mut sent = false;
        while let Some(request) = session.poll_transmit() {
            sent = true;
            let id = request.id;
            match perform(&request).await {
                Some(response) => session.handle_response(Instant::now(), id, response),
                None => {
                    session.handle_transport_error(Instant::now(), id, TransportError::Unreachable("closed".into()))
                }
            }
        }
        while let Some(event) = session.poll_event() {
            events.push(event);
        }
        if !sent {
            return events;
        }
    }
}

async fn perform(request: &HttpRequest) -> Option<HttpResponse> {
    let rest = request.url.split_once("://").map(|(_, r)| r)?;
    let (authority, target) = rest.split_at(rest.find('/')?);
    let headers: Vec<(&str, &str)> = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let body = request.body.clone().unwrap_or_default();
    let answer = http(
        &format!("http://{authority}"),
        request.method.as_str(),
        target,
        &headers,
        &body,
    )
    .await
    .ok()?;
    Some(HttpResponse {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
    })
}

fn session(base: &str) -> Session<Tag> {
    Session::new(
        Site::parse(base).unwrap(),
        PlatformChoice::Detect,
        Credentials::Forms {
            user_name: "op1".into(),
            password: Secret::new("demo"),
        },
    )
}

async fn ask(session: &mut Session<Tag>, tag: Tag, request: ApiRequest) -> HttpResponse {
    session.submit(Instant::now(), tag.clone(), request);
    let events = pump(session).await;
    events
        .into_iter()
        .find_map(|e| match e {
            SessionEvent::Response { tag: t, response } if t == tag => Some(response),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no answer for {tag:?}"))
}

async fn identify(session: &mut Session<Tag>, identifier: &mut Identifier, number: &str) -> Identification {
    let Start::Ask(mut lookup) = identifier.start(Instant::now(), number) else {
        panic!("{number} answered from the cache")
    };
    for (part, request) in lookup.requests().to_vec() {
        let response = ask(session, Tag::Lookup(part), request).await;
        lookup.handle(part, &response).unwrap();
    }
    identifier.finish(Instant::now(), &lookup).unwrap()
}

#[tokio::test]
async fn session_detects_platform_reads_settings_and_identifies_callers() {
    let sim = start(World::default_world()).await;
    let mut session = session(&sim.endpoints().creatio);
    let settings = ask(&mut session, Tag::Settings, identify::settings_query()).await;
    assert_eq!(session.platform(), Some(Platform::NetFramework));
    assert_eq!(
        identify::lengths_from_settings(&settings).unwrap(),
        NumberLengths { search: 7, internal: 3 }
    );

    let mut identifier = Identifier::new(IdentifyConfig::default());
    let Identification::One(account) = identify(&mut session, &mut identifier, "84957654321").await else {
        panic!("one account expected")
    };
    assert_eq!(
        (account.kind, account.name.as_str()),
        (SubscriberKind::Account, "ООО «Ромашка»")
    );

    let Identification::One(contact) = identify(&mut session, &mut identifier, "+7 925 777-88-99").await else {
        panic!("one contact expected")
    };
    assert_eq!(contact.name, "Татьяна Новикова");
    assert!(contact.account_id.is_some(), "her account comes along");
    assert_eq!(contact.account_name.as_deref(), Some("ООО «Ромашка»"));

    let Identification::Several(people) = identify(&mut session, &mut identifier, "84951234567").await else {
        panic!("a shared number identifies several")
    };
    let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
    assert!(
        names.contains(&"Алексей Иванов") && names.contains(&"Мария Иванова"),
        "{names:?}"
    );

    let Identification::One(colleague) = identify(&mut session, &mut identifier, "102").await else {
        panic!("an extension identifies the employee")
    };
    assert_eq!(colleague.name, "Иван Петров");
    sim.shutdown().await;
}

#[tokio::test]
async fn identified_contacts_bring_their_company_in_the_same_request() {
    let sim = start(World::default_world()).await;
    let mut session = session(&sim.endpoints().creatio);
    let mut identifier = Identifier::new(IdentifyConfig::default());
    let Start::Ask(lookup) = identifier.start(Instant::now(), "+7 926 555-44-33") else {
        panic!("a fresh identifier asks")
    };
    assert_eq!(lookup.requests().len(), 2, "contacts and accounts, nothing more");

    let Identification::One(buyer) = identify(&mut session, &mut identifier, "+7 926 555-44-33").await else {
        panic!("one contact expected")
    };
    assert_eq!(buyer.name, "Юлия Голубева");
    assert_eq!(buyer.account_name.as_deref(), Some("ООО «Медтехника»"));

    let Identification::One(private) = identify(&mut session, &mut identifier, "89104445566").await else {
        panic!("one contact expected")
    };
    assert_eq!((private.name.as_str(), private.account_id), ("Виктор Егоров", None));
    assert_eq!(private.account_name, None, "no account, no company");

    let Identification::One(company) = identify(&mut session, &mut identifier, "84957654321").await else {
        panic!("one account expected")
    };
    assert_eq!(company.kind, SubscriberKind::Account);
    assert_eq!(company.account_name, None, "an account is its own company");

    let mut plain = Identifier::new(IdentifyConfig {
        company_names: false,
        ..IdentifyConfig::default()
    });
    let Identification::One(bare) = identify(&mut session, &mut plain, "+7 926 555-44-33").await else {
        panic!("one contact expected")
    };
    assert_eq!(bare.account_id, buyer.account_id, "the account id still comes");
    assert_eq!(bare.account_name, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn session_finds_the_net_core_prefix() {
    let mut world = World::default_world();
    world.creatio.odata_paths = ODataPaths::NetCore;
    let sim = start(world).await;
    let mut session = session(&sim.endpoints().creatio);
    let settings = ask(&mut session, Tag::Settings, identify::settings_query()).await;
    assert_eq!(settings.status, 200);
    assert_eq!(session.platform(), Some(Platform::NetCore));
    sim.shutdown().await;
}

#[tokio::test]
async fn outbox_writes_a_whole_call_across_a_session_expiry() {
    let sim = start(World::default_world()).await;
    let mut session = session(&sim.endpoints().creatio);
    let mut identifier = Identifier::new(IdentifyConfig::default());
    let Identification::One(caller) = identify(&mut session, &mut identifier, "89257778899").await else {
        panic!("one contact expected")
    };
    let started = CreatioTime::from(SystemTime::now() - Duration::from_secs(60));
    let answered = CreatioTime::from(SystemTime::now() - Duration::from_secs(50));
    let call = CallTimeline {
        record_id: calls::new_record_id([7; 16]),
        integration_id: calls::oktell_integration_id("42", "89257778899"),
        caption: "Входящий звонок".into(),
        direction: Direction::Incoming,
        caller_id: "89257778899".into(),
        called_id: "101".into(),
        started,
        answered: Some(answered),
        holds: Vec::new(),
        ended: Some(CreatioTime::from(SystemTime::now())),
    };
    let mut outbox = Outbox::new(OutboxConfig::default());
    outbox.enqueue(calls::created(&call));
    outbox.enqueue(calls::identified(call.record_id, &caller));
    outbox.enqueue(calls::ended(&call).unwrap());

    let mut delivered = 0;
    for round in 0..20 {
        if round == 1 {
            control(&sim, "POST", "/creatio/sessions/expire", "").await;
        }
        let Some(next) = outbox.poll_request(Instant::now()) else {
            break;
        };
        outbox.take_changes();
        session.submit(Instant::now(), Tag::Outbox(next.id), next.request);
        for event in pump(&mut session).await {
            match event {
                SessionEvent::Response {
                    tag: Tag::Outbox(id),
                    response,
                } => outbox.handle_response(Instant::now(), id, &response),
                SessionEvent::Failed {
                    tag: Tag::Outbox(id),
                    error,
                } => outbox.handle_failure(Instant::now(), id, &error),
                _ => {}
            }
        }
        while let Some(event) = outbox.poll_event() {
            match event {
                OutboxEvent::Delivered { .. } => delivered += 1,
                OutboxEvent::Rejected { reason, .. } => panic!("rejected: {reason}"),
            }
        }
    }
    assert_eq!(delivered, 3);
    assert_eq!(outbox.status().waiting, 0);

    let records = control(&sim, "GET", "/creatio/calls", "").await;
    let record = &records[0];
    assert_eq!(record["Id"], call.record_id.to_string());
    assert_eq!(record["ContactId"], caller.id.to_string());
    assert_eq!(record["IntegrationId"], "42:89257778899");
    assert_eq!(record["DirectionId"], sim::creatio::DIRECTION_INCOMING);
    assert!(record["TalkTime"].as_i64().unwrap() >= 49);
    assert_ne!(record["EndDate"], "0001-01-01T00:00:00Z");
    assert_eq!(
        record["CreatedById"], "a1b2c3d4-0001-4000-8000-000000000002",
        "op1's contact"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn session_logs_in_again_after_expiry_by_401_or_login_redirect() {
    for answer in [ExpiredSession::Unauthorized, ExpiredSession::RedirectToLogin] {
        let mut world = World::default_world();
        world.creatio.expired_session = answer;
        let sim = start(world).await;
        let mut session = session(&sim.endpoints().creatio);
        assert_eq!(
            ask(&mut session, Tag::Settings, identify::settings_query())
                .await
                .status,
            200
        );
        let expired = control(&sim, "POST", "/creatio/sessions/expire", "").await;
        assert_eq!(expired["expired"], 1, "{answer:?}");
        let again = ask(&mut session, Tag::Settings, identify::settings_query()).await;
        assert_eq!(again.status, 200, "{answer:?}: the session repaired itself");
        assert_eq!(control(&sim, "GET", "/creatio/state", "").await["sessions"], 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn session_reports_a_wrong_password_without_retrying() {
    let sim = start(World::default_world()).await;
    let mut session: Session<Tag> = Session::new(
        Site::parse(&sim.endpoints().creatio).unwrap(),
        PlatformChoice::Detect,
        Credentials::Forms {
            user_name: "op1".into(),
            password: Secret::new("not demo"),
        },
    );
    session.submit(Instant::now(), Tag::Settings, identify::settings_query());
    let events = pump(&mut session).await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            SessionEvent::AuthFailed(creatio::error::AuthError::WrongPassword { .. })
        )),
        "{events:?}"
    );
    assert!(session.refusal().is_some());
    sim.shutdown().await;
}

/// Runs the outbox until it has nothing waiting, calling `before_send` with each attempt's
/// number; returns how many requests were sent.
async fn drain_outbox(
    outbox: &mut Outbox,
    session: &mut Session<Tag>,
    mut before_send: impl AsyncFnMut(usize),
) -> usize {
    let mut attempts = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while outbox.status().waiting > 0 {
        assert!(Instant::now() < deadline, "outbox stuck: {:?}", outbox.status());
        let Some(next) = outbox.poll_request(Instant::now()) else {
            let wake = outbox
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_millis(10));
            tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
            continue;
        };
        attempts += 1;
        before_send(attempts).await;
        outbox.take_changes();
        session.submit(Instant::now(), Tag::Outbox(next.id), next.request);
        for event in pump(session).await {
            match event {
                SessionEvent::Response {
                    tag: Tag::Outbox(id),
                    response,
                } => outbox.handle_response(Instant::now(), id, &response),
                SessionEvent::Failed {
                    tag: Tag::Outbox(id),
                    error,
                } => outbox.handle_failure(Instant::now(), id, &error),
                _ => {}
            }
        }
        while let Some(event) = outbox.poll_event() {
            if let OutboxEvent::Rejected { reason, .. } = event {
                panic!("rejected: {reason}");
            }
        }
    }
    attempts
}

#[tokio::test]
async fn outbox_delivers_through_injected_500s_and_downtime() {
    let sim = start(World::default_world()).await;
    let mut session = session(&sim.endpoints().creatio);
    let mut outbox = Outbox::new(OutboxConfig {
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(200),
        ..OutboxConfig::default()
    });
    let now = CreatioTime::from(SystemTime::now());
    let call = CallTimeline {
        record_id: calls::new_record_id([9; 16]),
        integration_id: "7:101".into(),
        caption: String::new(),
        direction: Direction::Outgoing,
        caller_id: "101".into(),
        called_id: "89161234567".into(),
        started: now,
        answered: None,
        holds: Vec::new(),
        ended: Some(now),
    };
    outbox.enqueue(calls::created(&call));
    outbox.enqueue(calls::ended(&call).unwrap());
    let sim_ref = &sim;
    let attempts = drain_outbox(&mut outbox, &mut session, async |attempt| match attempt {
        1 => {
            control(sim_ref, "POST", "/creatio/fail", r#"{"status":500,"count":1}"#).await;
        }
        2 => {
            control(sim_ref, "POST", "/creatio/down", "").await;
        }
        3 => {
            control(sim_ref, "POST", "/creatio/up", "").await;
        }
        _ => {}
    })
    .await;
    assert!(attempts >= 4, "500 and downtime each cost an attempt: {attempts}");
    let records = control(&sim, "GET", "/creatio/calls", "").await;
    assert_eq!(
        records.as_array().map(Vec::len),
        Some(1),
        "exactly one record despite the retries"
    );
    assert_eq!(records[0]["DirectionId"], sim::creatio::DIRECTION_OUTGOING);
    assert_eq!(records[0]["TalkTime"], 0, "never answered: shown as missed/unanswered");
    sim.shutdown().await;
}

#[tokio::test]
async fn session_works_with_oauth_client_credentials() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let mut session: Session<Tag> = Session::new(
        Site::parse(&base).unwrap(),
        PlatformChoice::Known(Platform::NetCore),
        Credentials::ClientCredentials {
            token_url: format!("{base}/connect/token"),
            client_id: "oktell-panel".into(),
            client_secret: Secret::new("demo-secret"),
        },
    );
    let settings = ask(&mut session, Tag::Settings, identify::settings_query()).await;
    assert_eq!(settings.status, 200);
    control(&sim, "POST", "/creatio/sessions/expire", "").await;
    let again = ask(&mut session, Tag::Settings, identify::settings_query()).await;
    assert_eq!(again.status, 200, "a revoked token is replaced");
    sim.shutdown().await;
}

#[tokio::test]
async fn session_works_on_a_site_under_an_application_path() {
    let mut world = World::default_world();
    world.creatio.app_path = "/crm".into();
    let sim = start(world).await;
    let base = sim.endpoints().creatio.clone();
    assert!(base.ends_with("/crm"), "{base}");
    let mut session = session(&base);
    let settings = ask(&mut session, Tag::Settings, identify::settings_query()).await;
    assert_eq!(settings.status, 200);
    let origin = base.trim_end_matches("/crm");
    let outside = http(origin, "GET", "/0/odata/Call", &[], b"").await.unwrap();
    assert_eq!(outside.status, 404, "nothing is served outside the application path");
    sim.shutdown().await;
}
