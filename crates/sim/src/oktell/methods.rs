//! Request methods: each turns a client request into a reply (`<method>result` echoing the `qid`)
//! and, through the PBX, into model changes whose events follow the reply.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use ::oktell::login::PasswordDigests;
use serde_json::{Map, Value, json};

use crate::directory::{PresenceChange, UserIdx};
use crate::oktell::connection::{ConnId, Connection, Phase, SessionToken};
use crate::oktell::wire::Request;
use crate::pbx::{FlashMode, Pbx, Refused};
use crate::world::LoginRefusal;

/// Texts that oktell.js matches literally (PROTOCOL.md §2.4).
pub(crate) const WRONG_CREDENTIALS: &str = "Wrong login/pass combination";
pub(crate) const NO_SESSION: &str = "Bad request. Session does not exist";
pub(crate) const SESSION_OF_ANOTHER_USER: &str = "Bad request. Invalid session user";
pub(crate) const SERVICE_UNAVAILABLE: &str = "Service not available";

/// A `customevent` to deliver after the reply of `triggercustomevent`.
#[derive(Debug, Clone)]
pub(crate) struct CustomEvent {
    /// User ids of the recipients; `None` = everybody.
    pub recipients: Option<Vec<String>>,
    pub sender: ConnId,
    pub sendback: bool,
    pub payload: Map<String, Value>,
}

/// Everything a method may read or change.
pub(crate) struct Ctx<'a> {
    pub pbx: &'a mut Pbx,
    pub sessions: &'a mut HashMap<SessionToken, UserIdx>,
    pub redirects: &'a mut HashMap<UserIdx, BTreeMap<String, Value>>,
    pub digests: &'a [PasswordDigests],
    /// The PBX's SIP port, when the SIP side runs (handed out to `usewebrtc` logins).
    pub sip_port: Option<u16>,
    pub conn_id: ConnId,
    pub conn: &'a mut Connection,
    pub custom: &'a mut Vec<CustomEvent>,
    pub now: Instant,
}

/// What happens to the socket after the reply went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Stay,
    Close,
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub name: String,
    pub body: Map<String, Value>,
    pub after: After,
}

fn body(fields: Value) -> Map<String, Value> {
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn ok(fields: Value) -> Map<String, Value> {
    let mut map = body(fields);
    map.insert("result".into(), 1.into());
    map
}

fn failed(error: u32, errormsg: &str) -> Map<String, Value> {
    body(json!({"result": 0, "error": error, "errormsg": errormsg}))
}

fn refused(refusal: Refused) -> Map<String, Value> {
    tracing::debug!(%refusal, "request refused");
    failed(1, &refusal.to_string())
}

fn outcome(result: Result<(), Refused>) -> Map<String, Value> {
    match result {
        Ok(()) => ok(json!({})),
        Err(refusal) => refused(refusal),
    }
}

/// Handles one request and builds its reply.
pub(crate) fn handle(ctx: Ctx<'_>, request: &Request) -> Reply {
    let name = request.name.to_ascii_lowercase();
    let (reply_name, mut body, after) = match name.as_str() {
        "ping" => ("pong".to_owned(), Map::new(), After::Stay),
        _ => {
            let (body, after) = dispatch(ctx, &name, request);
            (format!("{name}result"), body, after)
        }
    };
    if let Some(qid) = request.qid() {
        body.insert("qid".into(), qid.clone());
    }
    Reply {
        name: reply_name,
        body,
        after,
    }
}

fn dispatch(ctx: Ctx<'_>, name: &str, request: &Request) -> (Map<String, Value>, After) {
    if name == "login" {
        return (login(ctx, request), After::Stay);
    }
    let Some(user) = ctx.conn.user() else {
        return (failed(1, "Not logged in"), After::Stay);
    };
    if name == "logout" {
        if let Phase::LoggedIn { session, .. } = &ctx.conn.phase {
            ctx.sessions.remove(session);
        }
        ctx.conn.phase = Phase::Closing;
        return (ok(json!({})), After::Close);
    }
    (logged_in(ctx, user, name, request), After::Stay)
}

fn login(ctx: Ctx<'_>, request: &Request) -> Map<String, Value> {
    let login = request.str_field("userlogin").unwrap_or_default();
    let user = ctx.pbx.directory().by_login(login);
    let session_login = request
        .str_field("sessionid")
        .filter(|_| request.str_field("password").is_none() && request.str_field("Password").is_none());
    let user = match (session_login, user) {
        (Some(session), user) => match (ctx.sessions.get(session), user) {
            (None, _) => return body(json!({"result": 0, "errormsg": NO_SESSION})),
            (Some(owner), Some(user)) if *owner == user => user,
            (Some(_), _) => return body(json!({"result": 0, "errormsg": SESSION_OF_ANOTHER_USER})),
        },
        (None, Some(user)) if password_matches(ctx.digests.get(user.0), request) => user,
        (None, _) => return failed(2, WRONG_CREDENTIALS),
    };
    let Some(person) = ctx.pbx.directory().person(user) else {
        return failed(2, WRONG_CREDENTIALS);
    };
    match person.user.refuse_login {
        Some(LoginRefusal::DesktopClient) => return failed(50093, "User already registered"),
        Some(LoginRefusal::LicenceLimit) => return failed(50025, "Licence limit"),
        Some(LoginRefusal::ServiceUnavailable) => {
            return body(json!({"result": 0, "errormsg": SERVICE_UNAVAILABLE}));
        }
        None => {}
    }
    let userid = person.id.clone();
    let login = person.user.login.clone();
    // The web-phone re-login sends the digests together with the current session (§2.9): keep it.
    let kept = request
        .str_field("sessionid")
        .filter(|s| ctx.sessions.get(*s) == Some(&user));
    let session = match session_login.or(kept) {
        Some(session) => session.to_owned(),
        None => {
            let session = ctx.pbx.guid();
            ctx.sessions.insert(SessionToken(session.clone()), user);
            session
        }
    };
    tracing::info!(conn = ctx.conn_id.0, %login, "logged in");
    ctx.conn.phase = Phase::LoggedIn {
        user,
        session: SessionToken(session.clone()),
    };
    ctx.pbx.set_online(user, true);
    let mut reply = ok(json!({"userid": userid, "sessionid": session}));
    // §2.3/§2.9: the phone's account, for clients that run a softphone (`usewebrtc`). The
    // simulator speaks SIP over UDP only, so `sipsecure` is always false.
    if let (Some(true), Some(port), Some(person)) = (
        request.bool_field("usewebrtc"),
        ctx.sip_port,
        ctx.pbx.directory().person(user),
    ) {
        reply.insert("sipuser".into(), person.user.sip_user_name().into());
        reply.insert("sippass".into(), person.user.sip_secret().into());
        reply.insert("sipport".into(), port.into());
        reply.insert("sipsecure".into(), false.into());
    }
    reply
}

/// A login matches if either digest matches the stored password's (the lower-case field makes
/// login case-insensitive, the typed one case-sensitive; oktell.js always sends both).
fn password_matches(stored: Option<&PasswordDigests>, request: &Request) -> bool {
    let Some(stored) = stored else {
        return false;
    };
    let lowered = request.str_field("password");
    let typed = request.str_field("Password");
    lowered.is_some_and(|d| d.eq_ignore_ascii_case(&stored.lowered))
        || typed.is_some_and(|d| d.eq_ignore_ascii_case(&stored.typed))
}

fn numbers_of(request: &Request, key: &str) -> Vec<String> {
    let Some(Value::Array(items)) = request.body.get(key) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let number = item.get("number").or_else(|| item.get("intnumber"))?;
            match number {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        })
        .collect()
}

fn logged_in(ctx: Ctx<'_>, user: UserIdx, name: &str, request: &Request) -> Map<String, Value> {
    let now = ctx.now;
    let pbx = ctx.pbx;
    match name {
        "subscribeevent" => {
            let names: Vec<&str> = match request.body.get("eventmethod") {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(name)) => vec![name.as_str()],
                _ => Vec::new(),
            };
            ctx.conn.subscribe(names);
            ok(json!({}))
        }
        "getversion" => {
            let server = &pbx.world().server;
            ok(json!({
                "version": {"dated": server.version_dated, "build": server.version_build, "webserverport": server.webserverport},
                "alloweddbstoredprocs": {},
            }))
        }
        "getmyuserinfo" => match pbx.directory().person(user) {
            Some(p) => ok(json!({
                "userid": p.id,
                "username": p.user.name,
                "mainpbxnumber": p.user.number,
                "hasline": true,
                "lineid": p.line_id,
                "linenumber": p.user.number,
                "isoperator": p.user.call_center,
            })),
            None => failed(1, "unknown user"),
        },
        "cc_getlunchtypes" => {
            let items: Vec<Value> = pbx
                .world()
                .break_reasons
                .iter()
                .map(|r| json!({"id": r.id, "name": r.name}))
                .collect();
            ok(json!({ "items": items }))
        }
        "getuserstate" => match pbx.directory().presence(user) {
            Some(presence) => {
                let mut map = presence.to_payload();
                map.insert("result".into(), 1.into());
                map
            }
            None => failed(1, "unknown user"),
        },
        "setuserstate" => set_user_state(pbx, user, request),
        "getredirectrules" => {
            let rules: Vec<Value> = ctx
                .redirects
                .get(&user)
                .map(|r| r.values().cloned().collect())
                .unwrap_or_default();
            ok(json!({ "redirectrules": rules }))
        }
        "saveredirectrules" => match request.body.get("redirectrule") {
            Some(rule @ Value::Object(fields)) => {
                let id = fields.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                ctx.redirects.entry(user).or_default().insert(id, rule.clone());
                ok(json!({}))
            }
            _ => refused(Refused::BadArgument("redirectrule")),
        },
        "deleteredirectrules" => {
            if let (Some(Value::Array(ids)), Some(rules)) = (request.body.get("ids"), ctx.redirects.get_mut(&user)) {
                for id in ids.iter().filter_map(Value::as_str) {
                    rules.remove(id);
                }
            }
            ok(json!({}))
        }
        "getpbxnumbers" => ok(json!({ "numbers": pbx.directory().pbx_numbers() })),
        "getallusernumbers" => ok(json!({ "users": pbx.directory().user_numbers(user) })),
        "getalluserphotolink" => ok(json!({ "links": [] })),
        "getuserphoto" => ok(json!({"link": "", "link32x32": "", "link96x96": ""})),
        "getextendedlineinfo" => {
            let mut info = pbx.line_info(user, now);
            info.insert("result".into(), 1.into());
            info
        }
        "getflashedabonentinfo" => {
            let info = pbx.line_info(user, now);
            let flashed = info.get("flashed").cloned().unwrap_or(Value::Null);
            ok(json!({"containsflashed": !flashed.is_null(), "abonent": flashed}))
        }
        "getcurrentqueue" => ok(json!({ "queue": pbx.queue(user) })),
        "pbxautocallstart" => {
            let number = request.str_field("number").unwrap_or_default();
            {
                let abonent_first = request.str_field("sequence") == Some("abonent");
                outcome(pbx.autocall(user, number, abonent_first, now).map(|_| ()))
            }
        }
        "pbxautocallabort" => outcome(pbx.autocall_abort(user, now)),
        "pbxanswercall" => outcome(pbx.operator_answers(user, now)),
        "pbxdeclinecall" => outcome(pbx.decline(user, now)),
        "pbxabortcall" => outcome(pbx.abort_call(user, now)),
        "pbxmakeflash" => match request.str_field("mode").unwrap_or("switch") {
            "switch" => outcome(pbx.flash(user, FlashMode::Switch, now)),
            "abort" => outcome(pbx.flash(user, FlashMode::Abort, now)),
            _ => refused(Refused::BadArgument("mode")),
        },
        "pbxmaketransfer" => outcome(pbx.transfer(user, request.str_field("transferto").unwrap_or_default(), now)),
        "buildconferencefromcommutation" => outcome(pbx.build_conference(user, now)),
        "checkcanconnecttogathertoconference" => ok(json!({ "canconnecttogather": pbx.can_connect_together(user) })),
        "connecttogathertoconference" => outcome(pbx.connect_together(user, now)),
        "createnewconference" => {
            let id = request
                .body
                .get("conference")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            outcome(pbx.create_conference(user, id, &numbers_of(request, "competitors"), now))
        }
        "invitetoconference" => {
            let id = request.str_field("conferenceid").unwrap_or_default();
            outcome(pbx.invite(user, id, &numbers_of(request, "competitors")))
        }
        "getconferenceinfo" | "getconferencecompetitors" => match pbx.conference(user) {
            Some((id, competitors)) if request.str_field("conferenceid").is_none_or(|c| c == id) => ok(json!({
                "conference": {"id": id, "isghost": false, "name": "", "room": 0},
                "competitors": competitors,
                "competitorlist": competitors,
            })),
            _ => refused(Refused::WrongLineState),
        },
        "confdisconnectcompetitor" => {
            let id = request.str_field("conferenceid").unwrap_or_default();
            let competitor = request
                .body
                .get("competitor")
                .and_then(|c| c.get("competitorid"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            outcome(pbx.kick(user, id, competitor, now))
        }
        "exitconference" => {
            outcome(pbx.exit_conference(user, request.str_field("conferenceid").unwrap_or_default(), now))
        }
        "confhandleevent" | "confsetvoiceparams" | "confsetghostmode" | "setmyuserphoto" => ok(json!({})),
        "triggercustomevent" => {
            let recipients = match request.body.get("recipients") {
                Some(Value::Array(ids)) => Some(ids.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
                _ => None,
            };
            ctx.custom.push(CustomEvent {
                recipients,
                sender: ctx.conn_id,
                sendback: request.int_field("sendback") == Some(1),
                payload: body(json!({
                    "eventname": request.body.get("eventname").cloned().unwrap_or(Value::Null),
                    "eventparam": request.body.get("eventparam").cloned().unwrap_or(Value::Null),
                })),
            });
            ok(json!({}))
        }
        _ => {
            tracing::debug!(method = name, "method not simulated");
            failed(1, "Method is not supported by the simulator")
        }
    }
}

fn set_user_state(pbx: &mut Pbx, user: UserIdx, request: &Request) -> Map<String, Value> {
    let userstateid = match request.int_field("userstateid") {
        Some(id) => match u8::try_from(id) {
            Ok(id) => Some(id),
            Err(_) => return refused(Refused::BadArgument("userstateid")),
        },
        None => None,
    };
    let change = PresenceChange {
        userstateid,
        oncallcenter: request.bool_field("oncallcenter"),
        onccmanual: request.bool_field("onccmanual"),
        onredirect: request.bool_field("onredirect"),
        lunchreasonid: request.int_field("lunchreasonid").and_then(|id| u32::try_from(id).ok()),
    };
    match pbx.set_presence(user, change) {
        Ok(presence) => {
            let mut map = presence.to_payload();
            map.insert("result".into(), 1.into());
            map
        }
        Err(refusal) => refused(refusal),
    }
}
