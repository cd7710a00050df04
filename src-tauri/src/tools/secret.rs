//! `oktell-panel secret set|delete SYSTEM`: how an administrator puts passwords where the panel looks for them,
//! one workstation at a time or scripted (`echo "$PW" | oktell-panel secret set creatio`).

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use runtime::config::Config;
use runtime::paths::AppPaths;
use runtime::secrets::{self, Secret, SecretKey};

use super::fail;
use crate::cli::{SecretCommand, System};
use crate::startup;

/// Runs `secret set` or `secret delete`.
pub fn run(command: &SecretCommand, explicit_config: Option<&Path>) -> ExitCode {
    let paths = AppPaths::for_current_user();
    let config = match startup::load(explicit_config, paths.as_ref()) {
        Ok((_, config)) => config,
        Err(message) => return fail(message),
    };
    let Some(paths) = paths else {
        return fail("this account has no home folder, so there is nowhere to keep passwords");
    };
    let (system, set) = match command {
        SecretCommand::Set { system } => (*system, true),
        SecretCommand::Delete { system } => (*system, false),
    };
    let Some(key) = key_for(&config, system) else {
        return fail(format!(
            "the configuration has no [{}] section, so there is no account to keep a password for",
            name(system)
        ));
    };
    let store = secrets::open(config.secrets.store, &paths.secrets_file());
    let result = if set {
        match read_password(&key) {
            Ok(password) => store.set(&key, &password).map(|()| "saved"),
            Err(message) => return fail(message),
        }
    } else {
        store.delete(&key).map(|()| "forgotten")
    };
    match result {
        Ok(done) => {
            println!("password for {} {done}", key.account());
            ExitCode::SUCCESS
        }
        Err(err) => fail(err),
    }
}

/// The keyring entry of a system's account in this configuration.
pub fn key_for(config: &Config, system: System) -> Option<SecretKey> {
    match system {
        System::Oktell => config.oktell.as_ref().map(|oktell| SecretKey::Oktell {
            login: oktell.login.clone(),
        }),
        System::Sip => config.sip.as_ref().map(|sip| SecretKey::Sip { uri: sip.uri.clone() }),
        System::Creatio => config.creatio.as_ref().map(|creatio| SecretKey::Creatio {
            user: creatio.user.clone(),
        }),
    }
}

fn name(system: System) -> &'static str {
    match system {
        System::Oktell => "oktell",
        System::Sip => "sip",
        System::Creatio => "creatio",
    }
}

/// From a terminal: a prompt without echo. Otherwise: the first line of standard input.
fn read_password(key: &SecretKey) -> Result<Secret, String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("password for {}: ", key.account()))
            .map_err(|err| format!("cannot read the password: {err}"))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|err| format!("cannot read the password: {err}"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("the password is empty; nothing was saved".into());
    }
    Ok(Secret::new(password))
}
