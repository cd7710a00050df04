//! Page URLs for opening a contact or account card in the operator's browser (§7).
//!
//! A [`CardUrl`] exists only for the configured Creatio site: the builders make it from a GUID,
//! and any URL from elsewhere (a stored link, a value from the UI) must pass
//! [`CardUrl::checked`], so the panel can never be made to open an arbitrary address.

use std::fmt;

use url::Url;
use uuid::Uuid;

use crate::error::ConfigError;
use crate::identify::SubscriberKind;
use crate::site::Site;

/// Which Creatio UI the customer uses for contacts and accounts (configurable per object and
/// user in Creatio, so it is a setting here, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ui {
    /// `<app>/0/Nui/ViewModule.aspx#CardModuleV2/<Page>/edit/<Id>` `[SRC]`.
    Classic,
    /// `<app>/0/Shell/#Card/<Page>/edit/<Id>` `[3P]`.
    Freedom,
}

/// Card page schema names; customers replace them with their own pages, so they are settable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardPages {
    pub classic_contact: String,
    pub classic_account: String,
    pub freedom_contact: String,
    pub freedom_account: String,
}

impl Default for CardPages {
    fn default() -> Self {
        CardPages {
            classic_contact: "ContactPageV2".into(),
            classic_account: "AccountPageV2".into(),
            freedom_contact: "Contacts_FormPage".into(),
            freedom_account: "Accounts_FormPage".into(),
        }
    }
}

impl CardPages {
    /// Page names go into the URL fragment verbatim, so only schema-name characters pass.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for name in [
            &self.classic_contact,
            &self.classic_account,
            &self.freedom_contact,
            &self.freedom_account,
        ] {
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(ConfigError::Invalid(format!(
                    "\"{name}\" is not a Creatio page schema name"
                )));
            }
        }
        Ok(())
    }

    fn page(&self, ui: Ui, kind: SubscriberKind) -> &str {
        match (ui, kind) {
            (Ui::Classic, SubscriberKind::Contact) => &self.classic_contact,
            (Ui::Classic, SubscriberKind::Account) => &self.classic_account,
            (Ui::Freedom, SubscriberKind::Contact) => &self.freedom_contact,
            (Ui::Freedom, SubscriberKind::Account) => &self.freedom_account,
        }
    }
}

/// A page address inside the configured Creatio site.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct CardUrl(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("not a valid address")]
    Invalid,
    #[error("the address is not on the configured Creatio site")]
    ForeignOrigin,
}

impl CardUrl {
    /// Accepts a URL only if it is http(s), carries no credentials, and lies inside `site`.
    pub fn checked(site: &Site, candidate: &str) -> Result<CardUrl, CardError> {
        let url = Url::parse(candidate).map_err(|_| CardError::Invalid)?;
        if site.contains(&url) {
            Ok(CardUrl(url.into()))
        } else {
            Err(CardError::ForeignOrigin)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CardUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardUrl({})", self.0)
    }
}

/// Builds card URLs for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cards {
    site: Site,
    ui: Ui,
    pages: CardPages,
    /// Adds `?autoOpenIdLogin=true` to Freedom UI URLs so an SSO user lands on the page rather
    /// than the login form when the browser has no session yet (`[3P]`, §7).
    sso_auto_login: bool,
}

impl Cards {
    pub fn new(site: Site, ui: Ui, pages: CardPages, sso_auto_login: bool) -> Result<Cards, ConfigError> {
        pages.validate()?;
        Ok(Cards {
            site,
            ui,
            pages,
            sso_auto_login,
        })
    }

    /// The edit page of a contact or account.
    pub fn card(&self, kind: SubscriberKind, id: Uuid) -> CardUrl {
        self.url(&format!("{}/edit/{}", self.pages.page(self.ui, kind), id.hyphenated()))
    }

    /// An empty "new contact" page. Creatio documents no URL parameter that pre-fills a
    /// field (§7 `[INF]`); to keep the number, create the contact with
    /// [`crate::contact::new_contact_with_number`] and open [`Cards::card`] instead.
    pub fn new_contact(&self) -> CardUrl {
        self.url(&format!("{}/add", self.pages.page(self.ui, SubscriberKind::Contact)))
    }

    fn url(&self, route: &str) -> CardUrl {
        let root = self.site.ui_root();
        CardUrl(match self.ui {
            Ui::Classic => format!("{root}/Nui/ViewModule.aspx#CardModuleV2/{route}"),
            Ui::Freedom if self.sso_auto_login => {
                format!("{root}/Shell/?autoOpenIdLogin=true#Card/{route}")
            }
            Ui::Freedom => format!("{root}/Shell/#Card/{route}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "509c189d-37a0-49d5-80f4-7de9ab389f3a";

    fn cards(ui: Ui, sso: bool) -> Cards {
        let site = Site::parse("https://crm.example.com/app/").unwrap();
        Cards::new(site, ui, CardPages::default(), sso).unwrap()
    }

    #[test]
    fn classic_ui_card_urls() {
        let c = cards(Ui::Classic, false);
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(
            c.card(SubscriberKind::Contact, id).as_str(),
            format!("https://crm.example.com/app/0/Nui/ViewModule.aspx#CardModuleV2/ContactPageV2/edit/{ID}")
        );
        assert_eq!(
            c.card(SubscriberKind::Account, id).as_str(),
            format!("https://crm.example.com/app/0/Nui/ViewModule.aspx#CardModuleV2/AccountPageV2/edit/{ID}")
        );
    }

    #[test]
    fn freedom_ui_card_urls_with_and_without_sso() {
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(
            cards(Ui::Freedom, false).card(SubscriberKind::Contact, id).as_str(),
            format!("https://crm.example.com/app/0/Shell/#Card/Contacts_FormPage/edit/{ID}")
        );
        assert_eq!(
            cards(Ui::Freedom, true).card(SubscriberKind::Account, id).as_str(),
            format!("https://crm.example.com/app/0/Shell/?autoOpenIdLogin=true#Card/Accounts_FormPage/edit/{ID}")
        );
        assert_eq!(
            cards(Ui::Freedom, false).new_contact().as_str(),
            "https://crm.example.com/app/0/Shell/#Card/Contacts_FormPage/add"
        );
    }

    #[test]
    fn built_urls_pass_the_origin_check() {
        let c = cards(Ui::Freedom, true);
        let url = c.card(SubscriberKind::Contact, Uuid::nil());
        assert_eq!(CardUrl::checked(&c.site, url.as_str()), Ok(url));
    }

    #[test]
    fn foreign_or_tricky_urls_are_rejected() {
        let site = Site::parse("https://crm.example.com/app").unwrap();
        for foreign in [
            "https://evil.example.net/app/0/Shell/",
            "https://crm.example.com.evil.example.net/app/0/Shell/",
            "https://crm.example.com@evil.example.net/app/0/Shell/",
            "https://user:pw@crm.example.com/app/0/Shell/",
            "http://crm.example.com/app/0/Shell/",
            "https://crm.example.com/other/0/Shell/",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                CardUrl::checked(&site, foreign),
                Err(CardError::ForeignOrigin),
                "{foreign}"
            );
        }
        assert_eq!(CardUrl::checked(&site, "not a url"), Err(CardError::Invalid));
    }

    #[test]
    fn page_names_are_validated() {
        let site = Site::parse("https://crm.example.com").unwrap();
        let pages = CardPages {
            freedom_contact: "Contacts_FormPage/../x".into(),
            ..CardPages::default()
        };
        assert!(Cards::new(site, Ui::Freedom, pages, false).is_err());
    }
}
