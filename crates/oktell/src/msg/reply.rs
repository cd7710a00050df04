//! Typed reply bodies (S→C answers correlated by `qid`).
//!
//! Only the fields oktell.js reads are modelled (§2–§3); everything else in a
//! reply is ignored. The `result` convention: absent means success, `1`,
//! `"1"` and `true` are success (§1.3).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::abonent::RawAbonent;
use super::lenient;

/// The success/failure part every reply shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `result` read loosely; absent counts as success.
    pub ok: bool,
    /// `error` when it is a non-zero number.
    pub error: Option<i64>,
    /// `errormsg` when non-empty.
    pub errormsg: Option<String>,
}

impl Outcome {
    /// Reads the outcome fields of a reply body.
    pub fn of(body: &Map<String, Value>) -> Outcome {
        let ok = match body.get("result") {
            None => true,
            Some(Value::String(s)) => s.trim() == "1" || s == "true",
            Some(v) => lenient::truthy(v),
        };
        Outcome {
            ok,
            error: body.get("error").and_then(lenient::as_int).filter(|e| *e != 0),
            errormsg: body.get("errormsg").and_then(lenient::as_text),
        }
    }

    /// Success with no error fields: the strict reading used for `login` (§2.3).
    pub fn is_clean_success(&self) -> bool {
        self.ok && self.error.is_none() && self.errormsg.is_none()
    }
}

/// Decodes a reply body into a typed struct; unknown fields are ignored.
pub fn decode<T: serde::de::DeserializeOwned>(body: &Map<String, Value>) -> Option<T> {
    serde_json::from_value(Value::Object(body.clone())).ok()
}

/// Successful `login` reply (§2.3).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LoginReply {
    #[serde(deserialize_with = "lenient::text")]
    pub userid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub sessionid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub sipuser: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub sippass: Option<String>,
    #[serde(deserialize_with = "lenient::int")]
    pub sipport: Option<i64>,
    #[serde(deserialize_with = "lenient::flag")]
    pub sipsecure: bool,
}

impl std::fmt::Debug for LoginReply {
    /// Session ids and SIP passwords are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginReply")
            .field("userid", &self.userid)
            .field("has_session", &self.sessionid.is_some())
            .field("sipuser", &self.sipuser)
            .field("sipport", &self.sipport)
            .finish_non_exhaustive()
    }
}

/// `getversion` → `version` (§3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Version {
    /// YYMMDD build date, e.g. 161116.
    #[serde(deserialize_with = "lenient::int")]
    pub dated: Option<i64>,
    /// e.g. `"2.12.3.161116"`.
    #[serde(deserialize_with = "lenient::text")]
    pub build: Option<String>,
    /// Port of the built-in HTTP server.
    #[serde(deserialize_with = "lenient::int")]
    pub webserverport: Option<i64>,
}

/// `getversion` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VersionReply {
    pub version: Version,
}

/// `getmyuserinfo` reply (§3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MyUserInfo {
    /// The user's own number: recognises "me" among parties.
    #[serde(deserialize_with = "lenient::text")]
    pub mainpbxnumber: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub username: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub hasline: bool,
    #[serde(deserialize_with = "lenient::text")]
    pub lineid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub linenumber: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isoperator: bool,
}

/// One break reason from `cc_getlunchtypes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BreakReason {
    /// Reason id, sent back as `lunchreasonid`.
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    /// Display name.
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
}

fn required_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    lenient::int(d)?.ok_or_else(|| serde::de::Error::custom("not an integer"))
}

/// `cc_getlunchtypes` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LunchTypes {
    #[serde(deserialize_with = "lenient::list")]
    pub items: Vec<BreakReason>,
}

/// The user-state fields of `getuserstate`, `setuserstate` and `userstatechanged`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserStateBody {
    #[serde(deserialize_with = "lenient::int")]
    pub userstateid: Option<i64>,
    #[serde(deserialize_with = "lenient::flag")]
    pub oncallcenter: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub onccmanual: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub onlunch: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub onredirect: bool,
    #[serde(deserialize_with = "lenient::int")]
    pub lunchreasonid: Option<i64>,
    #[serde(deserialize_with = "lenient::flag")]
    pub ontask: bool,
}

/// One redirect rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RedirectRule {
    #[serde(deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub destinationnumber: Option<String>,
}

/// `getredirectrules` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RedirectRules {
    #[serde(deserialize_with = "lenient::list")]
    pub redirectrules: Vec<RedirectRule>,
}

/// One number of the PBX number plan (§3.9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PbxNumber {
    #[serde(deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub number: Option<String>,
    /// Same codes as `numstateid`.
    #[serde(deserialize_with = "lenient::int")]
    pub state: Option<i64>,
    #[serde(deserialize_with = "lenient::text")]
    pub caption: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub departmentid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub department: Option<String>,
}

/// `getpbxnumbers` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PbxNumbers {
    #[serde(deserialize_with = "lenient::list")]
    pub numbers: Vec<PbxNumber>,
}

/// One user of the directory (§3.9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DirectoryUser {
    #[serde(deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub name: Option<String>,
    /// Main number.
    #[serde(deserialize_with = "lenient::text")]
    pub main: Option<String>,
    #[serde(deserialize_with = "lenient::texts")]
    pub nums: Vec<String>,
    /// The user is controlled by me (ghost modes allowed).
    #[serde(deserialize_with = "lenient::flag")]
    pub sub: bool,
}

/// `getallusernumbers` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AllUserNumbers {
    #[serde(deserialize_with = "lenient::list")]
    pub users: Vec<DirectoryUser>,
}

/// One avatar link set (relative paths).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PhotoLink {
    #[serde(deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub link: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub link32x32: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub link96x96: Option<String>,
}

/// `getalluserphotolink` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PhotoLinks {
    #[serde(deserialize_with = "lenient::list")]
    pub links: Vec<PhotoLink>,
}

/// `getextendedlineinfo` reply (§3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LineInfo {
    #[serde(deserialize_with = "lenient::text")]
    pub linestatestr: Option<String>,
    #[serde(deserialize_with = "lenient::int")]
    pub timertalklensec: Option<i64>,
    #[serde(deserialize_with = "lenient::text")]
    pub chainid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub calledid: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isflashing: bool,
    #[serde(deserialize_with = "object")]
    pub flashed: Option<RawAbonent>,
    #[serde(deserialize_with = "object")]
    pub abonent: Option<RawAbonent>,
}

/// An abonent object, `None` for null or any non-object value.
fn object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RawAbonent>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

/// `getcurrentqueue` reply (§3.10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CurrentQueue {
    #[serde(deserialize_with = "lenient::list")]
    pub queue: Vec<RawAbonent>,
}

/// `getconferenceinfo` → `conference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ConferenceHeader {
    #[serde(deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub isghost: bool,
}

/// `getconferenceinfo` reply (§3.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ConferenceInfo {
    pub conference: ConferenceHeader,
    #[serde(deserialize_with = "lenient::list")]
    pub competitors: Vec<RawAbonent>,
}

/// `checkcanconnecttogathertoconference` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CanConnectTogather {
    #[serde(deserialize_with = "lenient::flag")]
    pub canconnecttogather: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn absent_result_means_success() {
        assert!(Outcome::of(&body(json!({"qid": "1"}))).ok);
        assert!(!Outcome::of(&body(json!({"result": 0}))).ok);
        assert!(Outcome::of(&body(json!({"result": "1"}))).ok);
        assert!(!Outcome::of(&body(json!({"result": "0"}))).ok);
    }

    #[test]
    fn login_with_error_text_is_not_clean_even_when_result_is_one() {
        let o = Outcome::of(&body(json!({"result": 1, "errormsg": "x"})));
        assert!(!o.is_clean_success());
        let o = Outcome::of(&body(json!({"result": 1, "error": 0, "errormsg": ""})));
        assert!(o.is_clean_success());
    }

    #[test]
    fn line_info_tolerates_null_flashed_and_wrong_types() {
        let info: LineInfo = decode(&body(json!({
            "linestatestr": "lsFree", "flashed": null, "isflashing": "1",
            "abonent": {"number": 102, "isringing": 1, "unknown": [1, 2]}
        })))
        .unwrap();
        assert!(info.isflashing);
        assert_eq!(info.flashed, None);
        let ab = info.abonent.unwrap();
        assert_eq!(ab.number.as_deref(), Some("102"));
        assert!(ab.isringing);
    }

    #[test]
    fn bad_list_items_are_skipped_not_fatal() {
        let types: LunchTypes = decode(&body(
            json!({"items": [{"id": 1, "name": "Обед"}, {"name": "no id"}, 7]}),
        ))
        .unwrap();
        assert_eq!(types.items.len(), 1);
        assert_eq!(types.items[0].id, 1);
    }
}
