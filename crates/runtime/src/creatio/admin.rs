//! The administrator's tools behind the command line: `check` (does this workstation's Creatio setting work?) and
//! `lookup` (whom would the panel show for this number?).
//!
//! Both run a short-lived [`Session`] of their own, with no outbox and no store, so they can be used while the
//! panel runs, and they touch nothing in Creatio: every request is a read.

use std::fmt;
use std::time::Instant;

use creatio::auth::Credentials;
use creatio::error::AuthError;
use creatio::http::Method;
use creatio::identify::{self, Identifier, IdentifyConfig, LookupError, LookupPart, NumberLengths, Start};
use creatio::session::{ApiRequest, RequestFailure, Session, SessionEvent};
use creatio::site::{Platform, PlatformChoice, Site};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;

use super::transport::{HttpSettings, Transport};
use crate::config::CreatioConfig;
use crate::secrets::Secret;

/// One step of [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The configured address is a usable web address.
    Address,
    /// Creatio answers at that address.
    Reach,
    /// Creatio accepts the user and password.
    Login,
    /// The user may read `Call` records through OData 4.
    OData,
    /// The number-length system settings are readable.
    Settings,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Works.
    Passed,
    /// Works with a compromise the administrator should know about.
    Warning,
    /// Does not work; later steps were not tried.
    Failed,
}

/// One verified fact, in a sentence for an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub step: Step,
    /// How it went.
    pub outcome: Outcome,
    /// What works or what is wrong, and what to do about it.
    pub sentence: String,
}

/// What [`check`] found, step by step, up to the first failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The steps in order.
    pub checks: Vec<Check>,
}

impl CheckReport {
    /// True when nothing failed (warnings allowed).
    pub fn works(&self) -> bool {
        !self.checks.iter().any(|c| c.outcome == Outcome::Failed)
    }

    fn push(&mut self, step: Step, outcome: Outcome, sentence: String) {
        self.checks.push(Check {
            step,
            outcome,
            sentence,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = match check.outcome {
                Outcome::Passed => "ok  ",
                Outcome::Warning => "warn",
                Outcome::Failed => "FAIL",
            };
            writeln!(f, "{mark} {}", check.sentence)?;
        }
        Ok(())
    }
}

/// Why [`lookup`] has no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The Creatio section of the configuration cannot work.
    #[error(transparent)]
    Config(#[from] creatio::error::ConfigError),
    /// The HTTP client cannot be built.
    #[error(transparent)]
    Transport(#[from] super::transport::TransportSetupError),
    /// Logging in failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A request got no usable answer.
    #[error("{0}")]
    Request(RequestFailure),
    /// Creatio's answer to the lookup was refused or unreadable.
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Calls,
    Settings,
    Lookup(LookupPart),
}

/// Verifies the address, the login and the OData permission for `config`, and says in sentences what works.
pub async fn check(config: &CreatioConfig, password: &Secret, http: &HttpSettings) -> CheckReport {
    let mut report = CheckReport::default();
    let site = match Site::parse(&config.url) {
        Ok(site) => {
            report.push(
                Step::Address,
                Outcome::Passed,
                format!("The address {} is usable.", site.origin()),
            );
            site
        }
        Err(error) => {
            report.push(
                Step::Address,
                Outcome::Failed,
                format!("{}.", capitalised(&error.to_string())),
            );
            return report;
        }
    };
    let transport = match Transport::new(http) {
        Ok(transport) => transport,
        Err(error) => {
            report.push(
                Step::Reach,
                Outcome::Failed,
                format!("{}.", capitalised(&error.to_string())),
            );
            return report;
        }
    };
    let user = config.user.trim();
    let mut session = Session::new(site.clone(), PlatformChoice::Detect, credentials(config, password));
    let now = Instant::now();
    let calls = ApiRequest {
        method: Method::Get,
        resource: "Call?$top=1&$select=Id".into(),
        body: None,
    };
    session.submit(now, Tag::Calls, calls);
    session.submit(now, Tag::Settings, identify::settings_query());
    let events = settle(&mut session, &transport).await;

    let mut platform = None;
    for event in &events {
        match event {
            SessionEvent::LoggedIn { platform: p } => platform = Some(*p),
            SessionEvent::AuthFailed(error) => {
                auth_failure(&mut report, &site, user, error);
                return report;
            }
            _ => {}
        }
    }
    let Some(platform) = platform else {
        report.push(
            Step::Login,
            Outcome::Failed,
            "Creatio never completed the login.".into(),
        );
        return report;
    };
    report.push(
        Step::Reach,
        Outcome::Passed,
        format!("Creatio answers at {}.", site.origin()),
    );
    report.push(
        Step::Login,
        Outcome::Passed,
        format!("Creatio accepts the user {user}."),
    );
    let root = format!("{}{}", site.origin(), site.odata_root(platform));
    for event in events {
        match event {
            SessionEvent::Response {
                tag: Tag::Calls,
                response,
            } if response.is_success() => report.push(
                Step::OData,
                Outcome::Passed,
                format!(
                    "The OData 4 service at {root} ({}) lets {user} read call records.",
                    describe(platform)
                ),
            ),
            SessionEvent::Response {
                tag: Tag::Calls,
                response,
            } => report.push(
                Step::OData,
                Outcome::Failed,
                format!(
                    "The OData 4 service at {root} refused to list call records (HTTP {}); give {user} read and \
                     write access to the Call object.",
                    response.status
                ),
            ),
            SessionEvent::Failed { tag: Tag::Calls, error } => report.push(
                Step::OData,
                Outcome::Failed,
                format!("Listing call records at {root} failed: {error}."),
            ),
            SessionEvent::Response {
                tag: Tag::Settings,
                response,
            } => match identify::lengths_from_settings(&response) {
                Ok(lengths) => report.push(
                    Step::Settings,
                    Outcome::Passed,
                    format!(
                        "Numbers are matched on their last {} digits; numbers of up to {} digits are extensions.",
                        lengths.search, lengths.internal
                    ),
                ),
                Err(error) => settings_warning(&mut report, &error.to_string()),
            },
            SessionEvent::Failed {
                tag: Tag::Settings,
                error,
            } => settings_warning(&mut report, &error.to_string()),
            _ => {}
        }
    }
    report
}

/// Whom the panel would show for a call from `number`, as JSON (`{"number", "identification"}`).
pub async fn lookup(
    config: &CreatioConfig,
    password: &Secret,
    http: &HttpSettings,
    number: &str,
) -> Result<serde_json::Value, AdminError> {
    let site = Site::parse(&config.url)?;
    let transport = Transport::new(http)?;
    let mut session = Session::new(site, PlatformChoice::Detect, credentials(config, password));
    session.submit(Instant::now(), Tag::Settings, identify::settings_query());
    let mut lengths = NumberLengths::default();
    for event in settle(&mut session, &transport).await {
        match event {
            SessionEvent::AuthFailed(error) => return Err(AdminError::Auth(error)),
            SessionEvent::Response {
                tag: Tag::Settings,
                response,
            } => {
                lengths = identify::lengths_from_settings(&response)?;
            }
            SessionEvent::Failed { error, .. } => return Err(failure(error)),
            _ => {}
        }
    }
    let mut identifier = Identifier::new(IdentifyConfig {
        lengths,
        ..IdentifyConfig::default()
    });
    let now = Instant::now();
    let identification = match identifier.start(now, number) {
        Start::Known(identification) => identification,
        Start::Ask(mut lookup) => {
            for (part, request) in lookup.requests() {
                session.submit(now, Tag::Lookup(*part), request.clone());
            }
            for event in settle(&mut session, &transport).await {
                match event {
                    SessionEvent::AuthFailed(error) => return Err(AdminError::Auth(error)),
                    SessionEvent::Response {
                        tag: Tag::Lookup(part),
                        response,
                    } => lookup.handle(part, &response)?,
                    SessionEvent::Failed { error, .. } => return Err(failure(error)),
                    _ => {}
                }
            }
            identifier.finish(Instant::now(), &lookup).ok_or_else(|| {
                AdminError::Request(RequestFailure::Auth(AuthError::Protocol(
                    "Creatio did not answer every part of the lookup".into(),
                )))
            })?
        }
    };
    Ok(serde_json::json!({ "number": number, "identification": identification }))
}

/// A login failure is the same error whether it comes as the request's failure or the session's event.
fn failure(error: RequestFailure) -> AdminError {
    match error {
        RequestFailure::Auth(error) => AdminError::Auth(error),
        other => AdminError::Request(other),
    }
}

fn credentials(config: &CreatioConfig, password: &Secret) -> Credentials {
    Credentials::Forms {
        user_name: config.user.trim().to_owned(),
        password: creatio::auth::Secret::new(password.expose()),
    }
}

/// Runs the session's exchanges until every submitted request has its final answer; returns the events in order.
async fn settle(session: &mut Session<Tag>, transport: &Transport) -> Vec<SessionEvent<Tag>> {
    let mut events = Vec::new();
    let mut out = FuturesUnordered::new();
    loop {
        while let Some(request) = session.poll_transmit() {
            let transport = transport.clone();
            out.push(async move { (request.id, transport.send(request).await) });
        }
        while let Some(event) = session.poll_event() {
            events.push(event);
        }
        let Some((wire, answer)) = out.next().await else {
            return events;
        };
        match answer {
            Ok(response) => session.handle_response(Instant::now(), wire, response),
            Err(error) => session.handle_transport_error(Instant::now(), wire, error),
        }
    }
}

fn auth_failure(report: &mut CheckReport, site: &Site, user: &str, error: &AuthError) {
    let sentence = format!("{}.", capitalised(&error.to_string()));
    match error {
        AuthError::Unreachable(_) => {
            report.push(
                Step::Reach,
                Outcome::Failed,
                format!("Creatio cannot be reached at {}: {error}.", site.origin()),
            );
            return;
        }
        AuthError::WrongPassword { .. } => {
            report.push(
                Step::Reach,
                Outcome::Passed,
                format!("Creatio answers at {}.", site.origin()),
            );
            report.push(
                Step::Login,
                Outcome::Failed,
                format!("{sentence} Check the password stored for {user}; the panel will not retry it on its own."),
            );
            return;
        }
        _ => {}
    }
    report.push(
        Step::Reach,
        Outcome::Passed,
        format!("Creatio answers at {}.", site.origin()),
    );
    match error {
        AuthError::NoODataService(_) => {
            report.push(
                Step::Login,
                Outcome::Passed,
                format!("Creatio accepts the user {user}."),
            );
            report.push(Step::OData, Outcome::Failed, sentence);
        }
        // Raised by the login service or by the first OData request; the sentence says which.
        AuthError::PermissionDenied(_) => report.push(Step::OData, Outcome::Failed, sentence),
        _ => report.push(Step::Login, Outcome::Failed, sentence),
    }
}

fn settings_warning(report: &mut CheckReport, reason: &str) {
    let defaults = NumberLengths::default();
    report.push(
        Step::Settings,
        Outcome::Warning,
        format!(
            "The number-length system settings could not be read ({reason}); the panel uses Creatio's defaults \
             ({} digits, extensions up to {}).",
            defaults.search, defaults.internal
        ),
    );
}

fn describe(platform: Platform) -> &'static str {
    match platform {
        Platform::NetFramework => ".NET Framework",
        Platform::NetCore => ".NET Core",
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
