//! `oktell-panel creatio check|lookup`: what an administrator runs to see whether a workstation can reach its
//! Creatio, and whom the panel would show for a number.

use std::path::Path;
use std::process::ExitCode;

use runtime::config::Config;
use runtime::creatio::admin;
use runtime::creatio::transport::HttpSettings;
use runtime::paths::AppPaths;
use runtime::secrets::{self, Secret};

use super::secret::key_for;
use super::{fail, tokio_runtime};
use crate::cli::{CreatioCommand, System};
use crate::startup;

/// Runs `creatio check` or `creatio lookup NUMBER`.
pub fn run(command: &CreatioCommand, explicit_config: Option<&Path>) -> ExitCode {
    let paths = AppPaths::for_current_user();
    let config = match startup::load(explicit_config, paths.as_ref()) {
        Ok((_, config)) => config,
        Err(message) => return fail(message),
    };
    let Some(creatio) = config.creatio.clone() else {
        return fail("the configuration has no [creatio] section; add url and user first");
    };
    let password = match password(&config, paths.as_ref()) {
        Ok(password) => password,
        Err(message) => return fail(message),
    };
    let http = HttpSettings {
        ca_file: creatio.ca_file.clone(),
        ..HttpSettings::default()
    };
    let runtime = match tokio_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async {
        match command {
            CreatioCommand::Check => {
                let report = admin::check(&creatio, &password, &http).await;
                print!("{report}");
                if report.works() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            CreatioCommand::Lookup { number } => match admin::lookup(&creatio, &password, &http, number).await {
                Ok(found) => {
                    println!("{found}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("oktell-panel: {err}");
                    ExitCode::FAILURE
                }
            },
        }
    })
}

fn password(config: &Config, paths: Option<&AppPaths>) -> Result<Secret, String> {
    let paths = paths.ok_or("this account has no home folder, so no password can be stored for it")?;
    let key = key_for(config, System::Creatio).ok_or("the configuration has no [creatio] section")?;
    let store = secrets::open(config.secrets.store, &paths.secrets_file());
    match store.get(&key) {
        Ok(Some(password)) => Ok(password),
        Ok(None) => Err(format!(
            "no password is saved for {}; save it with `oktell-panel secret set creatio`",
            key.account()
        )),
        Err(err) => Err(err.to_string()),
    }
}
