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

/// The URL a `websocketredirect` sends us to: `ws://` becomes `wss://` and the
/// first `:<digits>` becomes `:443` (`ws://pbx:4066` → `wss://pbx:443`).
pub fn secure_redirect(url: &str) -> String {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .unwrap_or(url);
    format!("wss://{}", replace_first_port(rest))
}

fn replace_first_port(rest: &str) -> String {
    let bytes = rest.as_bytes();
    for (i, _) in rest.match_indices(':') {
        let digits = bytes
            .get(i + 1..)
            .map_or(0, |tail| tail.iter().take_while(|b| b.is_ascii_digit()).count());
        if digits > 0 {
            let (head, tail) = rest.split_at(i);
            let after = tail.get(1 + digits..).unwrap_or_default();
            return format!("{head}:443{after}");
        }
    }
    rest.to_owned()
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
        assert_eq!(secure_redirect("ws://pbx:4066"), "wss://pbx:443");
        assert_eq!(secure_redirect("ws://pbx:4066/path"), "wss://pbx:443/path");
        assert_eq!(secure_redirect("ws://pbx"), "wss://pbx");
    }
}
