//! The abonent-like object the server uses for line parties, held parties,
//! queue items and conference competitors (§3.5, §3.7, §5.3).

use serde::Deserialize;

use super::lenient;

/// The all-zero GUID Oktell uses for "no chain".
pub const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Every abonent field the protocol document lists; all optional and loosely typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawAbonent {
    #[serde(deserialize_with = "lenient::text")]
    pub number: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub callerid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub userid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub username: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub userlogin: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub simplename: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub caption: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub comment: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isextline: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub extline: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isivr: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub ivrname: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isringing: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub direction: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isautocall: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub iscommutated: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub iswaitinginflash: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub isconference: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub conferenceid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub conferencename: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub conferenceroom: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub iswaitingforanswer: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub competitorid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub chainid: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub iscreator: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub isghost: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub confstatestr: Option<String>,
}

impl RawAbonent {
    /// The chain id unless it is the all-zero GUID.
    pub fn real_chain(&self) -> Option<&str> {
        self.chainid.as_deref().filter(|c| *c != NIL_GUID)
    }

    /// The identity key of §5.3: first of competitorid, number, userid,
    /// callerid, chainid (unless all-zero). `None`: not an abonent.
    pub fn key(&self) -> Option<&str> {
        self.competitorid
            .as_deref()
            .or(self.number.as_deref())
            .or(self.userid.as_deref())
            .or(self.callerid.as_deref())
            .or(self.real_chain())
    }
}
