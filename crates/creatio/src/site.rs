//! Where Creatio lives: origin, application path and the OData flavour of the deployment.
//!
//! Everything that builds a path or a page URL starts here, so a mistyped setting fails once,
//! at configuration time, with a sentence the operator can act on.

use std::fmt;

use url::Url;

use crate::error::ConfigError;

/// How the deployment serves OData 4 (§1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Platform {
    /// .NET Framework: `<app>/0/odata` (the `/0` configuration segment).
    NetFramework,
    /// .NET Core / .NET 6 / .NET 8: `<app>/odata`, no `/0`.
    NetCore,
}

impl Platform {
    fn odata_segment(self) -> &'static str {
        match self {
            Platform::NetFramework => "/0/odata",
            Platform::NetCore => "/odata",
        }
    }
}

/// Whether the platform is configured or found out after login.
///
/// Detection (`[INF]`, §1): the docs do not say whether a .NET Core host tolerates `/0`, so after
/// logging in the session asks `GET <app>/0/odata/Call?$top=0&$select=Id`; a JSON 200 means
/// .NET Framework, a 404 makes it ask `<app>/odata/...`, whose JSON 200 means .NET Core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlatformChoice {
    Known(Platform),
    Detect,
}

/// The configured Creatio instance: an http(s) origin plus an optional application path.
#[derive(Clone, PartialEq, Eq)]
pub struct Site {
    origin: Url,
    /// Empty for a root install, else `/app` without a trailing slash.
    app_path: String,
}

impl Site {
    /// Parses the address the operator typed, e.g. `https://crm.example.com` or
    /// `https://intranet.example.com/creatio/`.
    pub fn parse(address: &str) -> Result<Site, ConfigError> {
        let url = Url::parse(address.trim()).map_err(|e| ConfigError::BadAddress(format!("{address}: {e}")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(ConfigError::BadAddress(format!(
                "{address}: only http and https addresses are supported"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::BadAddress(
                "the Creatio address must not contain a user name or password".into(),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::BadAddress(format!("{address}: no host name")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::BadAddress(format!(
                "{address}: the address must not contain '?' or '#'"
            )));
        }
        let mut app_path = url.path().trim_end_matches('/').to_owned();
        for suffix in ["/0", "/odata"] {
            if app_path.ends_with(suffix) {
                return Err(ConfigError::BadAddress(format!(
                    "{address}: give the site address without '{suffix}'"
                )));
            }
        }
        if app_path == "/" {
            app_path.clear();
        }
        let mut origin = url;
        origin.set_path("/");
        Ok(Site { origin, app_path })
    }

    /// `scheme://host[:port]`, as browsers compare origins.
    pub fn origin(&self) -> String {
        self.origin.origin().ascii_serialization()
    }

    pub fn app_path(&self) -> &str {
        &self.app_path
    }

    /// Always without `/0`, in both worlds (§1, ACAD-AUTH).
    pub fn login_path(&self) -> String {
        format!("{}/ServiceModel/AuthService.svc/Login", self.app_path)
    }

    /// `<app>/0/odata` or `<app>/odata`.
    pub fn odata_root(&self, platform: Platform) -> String {
        format!("{}{}", self.app_path, platform.odata_segment())
    }

    /// `<origin><app>/0`, where both UI shells live (§1, §7). The sources show only the `/0`
    /// form; no .NET Core page URL without it was found (`[INF]`).
    pub(crate) fn ui_root(&self) -> String {
        format!("{}{}/0", self.origin(), self.app_path)
    }

    /// Whether `url` points into this instance: same scheme, host and port, and under the
    /// application path.
    pub fn contains(&self, url: &Url) -> bool {
        if url.origin() != self.origin.origin() || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let path = url.path();
        self.app_path.is_empty()
            || path == self.app_path
            || path
                .strip_prefix(self.app_path.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Site({}{})", self.origin(), self.app_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_sub_path_installs_give_the_documented_paths() {
        let root = Site::parse("https://crm.example.com/").unwrap();
        assert_eq!(root.login_path(), "/ServiceModel/AuthService.svc/Login");
        assert_eq!(root.odata_root(Platform::NetFramework), "/0/odata");
        assert_eq!(root.odata_root(Platform::NetCore), "/odata");
        let sub = Site::parse("https://intra.example.com:8443/creatio/").unwrap();
        assert_eq!(sub.origin(), "https://intra.example.com:8443");
        assert_eq!(sub.login_path(), "/creatio/ServiceModel/AuthService.svc/Login");
        assert_eq!(sub.odata_root(Platform::NetFramework), "/creatio/0/odata");
    }

    #[test]
    fn addresses_that_cannot_be_a_site_are_refused() {
        for bad in [
            "ftp://crm.example.com",
            "https://user:pw@crm.example.com",
            "https://crm.example.com/?x=1",
            "https://crm.example.com/0",
            "https://crm.example.com/0/odata",
            "crm.example.com",
            "",
        ] {
            assert!(Site::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn containment_checks_origin_and_app_path() {
        let site = Site::parse("https://crm.example.com/app").unwrap();
        let inside = Url::parse("https://crm.example.com/app/0/Nui/ViewModule.aspx").unwrap();
        assert!(site.contains(&inside));
        for outside in [
            "http://crm.example.com/app/0/Shell/",
            "https://crm.example.com:444/app/0/Shell/",
            "https://crm.example.com.evil.test/app/0/Shell/",
            "https://crm.example.com@evil.test/app/0/Shell/",
            "https://crm.example.com/application/0/Shell/",
        ] {
            assert!(!site.contains(&Url::parse(outside).unwrap()), "{outside}");
        }
    }
}
