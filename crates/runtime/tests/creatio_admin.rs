//! The administrator's `check` and `lookup` against a scripted server on 127.0.0.1: what works is said, what
//! does not is named, and nothing after the first failure is claimed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod creatio_support;

use creatio_support::{FakeCreatio, PASSWORD, Person, USER};
use runtime::config::{CreatioConfig, CreatioUi, OpenCard};
use runtime::creatio::admin::{self, AdminError, Outcome, Step};
use runtime::creatio::transport::HttpSettings;
use runtime::secrets::Secret;
use std::time::Duration;
use uuid::Uuid;

fn config(url: &str) -> CreatioConfig {
    CreatioConfig {
        url: url.into(),
        user: USER.into(),
        ui: CreatioUi::Freedom,
        open_card: OpenCard::Ring,
        ca_file: None,
    }
}

fn http() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(2),
        ca_file: None,
    }
}

fn steps(report: &admin::CheckReport) -> Vec<(Step, Outcome)> {
    report.checks.iter().map(|c| (c.step, c.outcome)).collect()
}

#[tokio::test]
async fn a_working_setup_passes_every_step() {
    let server = FakeCreatio::start().await;
    let report = admin::check(&config(&server.url()), &Secret::new(PASSWORD), &http()).await;
    assert!(report.works(), "{report}");
    assert_eq!(
        steps(&report),
        vec![
            (Step::Address, Outcome::Passed),
            (Step::Reach, Outcome::Passed),
            (Step::Login, Outcome::Passed),
            (Step::OData, Outcome::Passed),
            (Step::Settings, Outcome::Passed),
        ],
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("/0/odata (.NET Framework)"), "{text}");
    assert!(text.contains("last 7 digits"), "{text}");
}

#[tokio::test]
async fn a_wrong_password_fails_the_login_step_and_goes_no_further() {
    let server = FakeCreatio::start().await;
    let report = admin::check(&config(&server.url()), &Secret::new("wrong"), &http()).await;
    assert!(!report.works());
    assert_eq!(
        steps(&report),
        vec![
            (Step::Address, Outcome::Passed),
            (Step::Reach, Outcome::Passed),
            (Step::Login, Outcome::Failed)
        ],
        "{report}"
    );
    assert!(report.to_string().contains("Invalid user name or password"), "{report}");
    assert!(
        !report.to_string().contains("wrong"),
        "the password never appears: {report}"
    );
}

#[tokio::test]
async fn a_closed_port_is_reported_as_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let report = admin::check(&config(&url), &Secret::new(PASSWORD), &http()).await;
    assert_eq!(
        steps(&report),
        vec![(Step::Address, Outcome::Passed), (Step::Reach, Outcome::Failed)],
        "{report}"
    );
    assert!(report.to_string().contains("cannot be reached"), "{report}");
}

#[tokio::test]
async fn an_address_with_the_odata_path_is_refused_before_any_request() {
    let report = admin::check(&config("http://127.0.0.1:9/0/odata"), &Secret::new(PASSWORD), &http()).await;
    assert_eq!(steps(&report), vec![(Step::Address, Outcome::Failed)], "{report}");
}

#[tokio::test]
async fn lookup_shows_the_contact_as_json() {
    let server = FakeCreatio::start().await;
    let id = Uuid::from_u128(0xB0B);
    server.world().people.push(Person {
        id,
        name: "Olga Smirnova".into(),
        number: "+7 912 000-11-22".into(),
    });
    let found = admin::lookup(&config(&server.url()), &Secret::new(PASSWORD), &http(), "89120001122")
        .await
        .unwrap();
    assert_eq!(found["number"], "89120001122");
    assert_eq!(found["identification"]["One"]["name"], "Olga Smirnova", "{found:#}");
    assert_eq!(found["identification"]["One"]["id"], id.to_string(), "{found:#}");

    let nobody = admin::lookup(&config(&server.url()), &Secret::new(PASSWORD), &http(), "101")
        .await
        .unwrap();
    assert_eq!(nobody["identification"], "None", "{nobody:#}");
}

#[tokio::test]
async fn lookup_with_a_wrong_password_is_an_auth_error() {
    let server = FakeCreatio::start().await;
    let error = admin::lookup(&config(&server.url()), &Secret::new("wrong"), &http(), "101")
        .await
        .unwrap_err();
    assert!(matches!(error, AdminError::Auth(_)), "{error:?}");
}

#[tokio::test]
async fn a_user_without_odata_rights_is_told_which_permission_is_missing() {
    let server = FakeCreatio::start().await;
    server.world().odata_forbidden = true;
    let report = admin::check(&config(&server.url()), &Secret::new(PASSWORD), &http()).await;
    assert!(!report.works());
    assert_eq!(
        report.checks.last().map(|c| (c.step, c.outcome)),
        Some((Step::OData, Outcome::Failed)),
        "{report}"
    );
    assert!(report.to_string().contains("Access to OData"), "{report}");
}
