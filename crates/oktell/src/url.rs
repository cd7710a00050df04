//! Server URL forms (§1.1) and the secure-redirect rewrite (§1.4).

use crate::error::ConfigError;

/// oktell.js uses at most this many URLs; so do we.
pub const MAX_URLS: usize = 10;

/// Normalises one configured server address the way oktell.js does.
///
/// `ws://…` and `wss://…` are used verbatim. A bare `host[:port][/path]` gets
/// `wss://` when `secure` (oktell.js: the page is served over https) and
/// `ws://` otherwise, plus `:443` / `:80` when it does not already end in a
/// port. Anything else with a scheme is refused rather than mangled.
pub fn normalize(address: &str, secure: bool) -> Result<String, ConfigError> {
    let address = address.trim();
    let bad = || ConfigError::BadUrl(address.to_owned());
    if address.is_empty() || address.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    for scheme in ["ws://", "wss://"] {
        if let Some(rest) = address.strip_prefix(scheme) {
            return if rest.is_empty() || rest.starts_with('/') || rest.starts_with(':') {
                Err(bad())
            } else {
                Ok(address.to_owned())
            };
        }
    }
    if address.contains("://") || address.starts_with(':') || address.starts_with('/') {
        return Err(bad());
    }
    let (scheme, default_port) = if secure { ("wss", 443) } else { ("ws", 80) };
    if ends_with_port(address) {
        Ok(format!("{scheme}://{address}"))
    } else {
        Ok(format!("{scheme}://{address}:{default_port}"))
    }
}

/// Normalises a list, keeping at most [`MAX_URLS`] entries.
pub fn normalize_all(addresses: &[String], secure: bool) -> Result<Vec<String>, ConfigError> {
    if addresses.is_empty() {
        return Err(ConfigError::NoUrl);
    }
    addresses.iter().take(MAX_URLS).map(|a| normalize(a, secure)).collect()
}

/// The URL a `websocketredirect` sends us to: `ws://` becomes `wss://` and
/// the port becomes `port` (§1.4 hard-wires 443, which
/// [`crate::Config::secure_redirect_port`] defaults to):
/// `ws://pbx:4066/x` → `wss://pbx:443/x`. Without a port in the URL, 443 stays
/// implicit and any other port is added.
pub fn secure_redirect(url: &str, port: u16) -> String {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .unwrap_or(url);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = strip_port(authority);
    if port == 443 && host.len() == authority.len() {
        format!("wss://{authority}{path}")
    } else {
        format!("wss://{host}:{port}{path}")
    }
}

/// The host of `host[:port]`, also for a bracketed IPv6 literal.
fn strip_port(authority: &str) -> &str {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    authority.get(..host_end).unwrap_or(authority)
}

/// Whether the address ends in `:` and one to five digits.
fn ends_with_port(address: &str) -> bool {
    let digits = address.bytes().rev().take_while(u8::is_ascii_digit).count();
    (1..=5).contains(&digits)
        && address
            .len()
            .checked_sub(digits + 1)
            .and_then(|i| address.as_bytes().get(i))
            == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_get_scheme_and_default_port() {
        assert_eq!(normalize("pbx.local", false).unwrap(), "ws://pbx.local:80");
        assert_eq!(normalize("pbx.local", true).unwrap(), "wss://pbx.local:443");
        assert_eq!(normalize("pbx.local:4066", false).unwrap(), "ws://pbx.local:4066");
    }

    #[test]
    fn full_urls_are_used_verbatim() {
        assert_eq!(normalize("ws://10.0.0.1:4066/x", true).unwrap(), "ws://10.0.0.1:4066/x");
        assert_eq!(normalize("wss://pbx", false).unwrap(), "wss://pbx");
    }

    #[test]
    fn six_digit_suffix_is_not_a_port() {
        assert_eq!(normalize("pbx:123456", false).unwrap(), "ws://pbx:123456:80");
    }

    #[test]
    fn unusable_addresses_are_config_errors() {
        for bad in ["", "  ", "http://pbx", "ws://", "pbx host", ":4066"] {
            assert!(normalize(bad, false).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_all(&[], false), Err(ConfigError::NoUrl));
    }

    #[test]
    fn at_most_ten_urls_are_kept() {
        let many: Vec<String> = (0..12).map(|i| format!("h{i}:4066")).collect();
        assert_eq!(normalize_all(&many, false).unwrap().len(), MAX_URLS);
    }

    #[test]
    fn redirect_goes_to_wss_on_443() {
        assert_eq!(secure_redirect("ws://pbx:4066", 443), "wss://pbx:443");
        assert_eq!(secure_redirect("ws://pbx:4066/path", 443), "wss://pbx:443/path");
        assert_eq!(secure_redirect("ws://pbx", 443), "wss://pbx");
        assert_eq!(secure_redirect("ws://pbx/a:1", 443), "wss://pbx/a:1");
    }

    #[test]
    fn redirect_uses_the_configured_port() {
        assert_eq!(secure_redirect("ws://127.0.0.1:4066", 8443), "wss://127.0.0.1:8443");
        assert_eq!(secure_redirect("ws://pbx/x", 8443), "wss://pbx:8443/x");
    }

    #[test]
    fn redirect_keeps_an_ipv6_host_whole() {
        assert_eq!(secure_redirect("ws://[::1]:4066", 443), "wss://[::1]:443");
        assert_eq!(secure_redirect("ws://[::1]/p", 8443), "wss://[::1]:8443/p");
    }
}
