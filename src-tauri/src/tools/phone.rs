//! `oktell-panel phone`: the headless softphone, mapped one to one onto `runtime::phone`.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use runtime::phone::{PasswordSource, PhoneArgs, ReferPolicy, Transport};

use super::{fail, tokio_runtime};
use crate::cli::{self, PhoneTransport, ReferPolicyArg};

/// Runs the phone until its call ends, `--duration` passes, `quit` arrives on stdin or stdin closes.
pub fn run(args: &cli::PhoneArgs) -> ExitCode {
    let phone = match phone_args(args) {
        Ok(phone) => phone,
        Err(message) => return fail(message),
    };
    match tokio_runtime() {
        Ok(runtime) => runtime.block_on(runtime::phone::run(phone)),
        Err(code) => code,
    }
}

fn phone_args(args: &cli::PhoneArgs) -> Result<PhoneArgs, String> {
    let (user, domain) = split_account(&args.account)?;
    let proxy = match args.proxy {
        Some(proxy) => proxy,
        None => domain
            .parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, 5060))
            .map_err(|_| {
                format!(
                    "give --proxy IP:PORT: the account's host `{domain}` is not an IP address (names are not resolved)"
                )
            })?,
    };
    let mut phone = PhoneArgs::new(user, domain, proxy);
    phone.display_name = args.display_name.clone();
    phone.password = match (&args.password_env, args.no_password) {
        (Some(variable), _) => PasswordSource::Env(variable.clone()),
        (None, true) => PasswordSource::None,
        (None, false) => PasswordSource::Prompt,
    };
    phone.transport = match args.transport {
        PhoneTransport::Udp => Transport::Udp,
        PhoneTransport::Tcp => Transport::Tcp,
        PhoneTransport::Tls => Transport::Tls,
    };
    phone.ca_file = args.ca_file.clone();
    phone.bind = args.bind;
    phone.rtp_bind = args.rtp_bind;
    phone.register = !args.no_register;
    phone.register_expires = args.expires;
    phone.dial = args.dial.clone();
    phone.auto_answer = args.auto_answer;
    phone.play = args.play.clone();
    phone.record = args.record.clone();
    if !args.codec.is_empty() {
        phone.codecs = runtime::phone::parse_codecs(&args.codec.join(","))?;
    }
    phone.refer_policy = match args.refer_policy {
        ReferPolicyArg::Accept => ReferPolicy::Accept,
        ReferPolicyArg::Reject => ReferPolicy::Reject,
    };
    phone.duration = match args.duration {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => Some(Duration::from_secs_f64(seconds)),
        Some(seconds) => return Err(format!("--duration {seconds} is not a positive number of seconds")),
        None => None,
    };
    Ok(phone)
}

/// `sip:101@pbx.local` -> (`101`, `pbx.local`); parameters and a port after the host are not part of the domain.
fn split_account(account: &str) -> Result<(String, String), String> {
    let bad = || format!("`{account}` is not an account address like sip:101@pbx.local");
    let rest = account
        .strip_prefix("sip:")
        .or_else(|| account.strip_prefix("sips:"))
        .ok_or_else(bad)?;
    let (user, host) = rest.split_once('@').ok_or_else(bad)?;
    let host = host.split([';', '?']).next().unwrap_or_default();
    let domain = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => name,
        _ => host,
    };
    if user.is_empty() || domain.is_empty() {
        return Err(bad());
    }
    Ok((user.to_owned(), domain.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::split_account;

    #[test]
    fn accounts_split_into_user_and_domain() {
        assert_eq!(
            split_account("sip:101@pbx.local"),
            Ok(("101".into(), "pbx.local".into()))
        );
        assert_eq!(
            split_account("sip:101@127.0.0.1:5070;transport=udp"),
            Ok(("101".into(), "127.0.0.1".into()))
        );
        assert_eq!(
            split_account("sips:op@example.com"),
            Ok(("op".into(), "example.com".into()))
        );
        assert!(split_account("101@pbx").is_err());
        assert!(split_account("sip:@pbx").is_err());
        assert!(split_account("sip:101@").is_err());
    }
}
