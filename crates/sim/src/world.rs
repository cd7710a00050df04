//! The simulated world: who works at the call centre, which numbers exist, which break reasons the
//! operators can pick, who calls in, and how the far ends and the PBX behave over time.
//!
//! A world is plain data. It is loaded from a TOML file ([`World::from_file`]) or built in
//! ([`World::default_world`]); every section and field has a default, so a file only states what
//! it changes. Identifiers (user ids, number ids, line ids) are derived from positions so that the
//! same world always yields the same GUIDs.
//!
//! The format, with every field and its default (`world.example.toml` in the crate):
//!
//! ```toml
#![doc = include_str!("../world.example.toml")]
//! ```

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::SimError;

/// The whole simulated world.
///
/// There is deliberately no `Default`: an empty world is never what a caller means; use
/// [`World::default_world`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub activity: Activity,
    #[serde(default)]
    pub departments: Vec<Department>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub numbers: Vec<PbxNumber>,
    #[serde(default)]
    pub break_reasons: Vec<BreakReason>,
    #[serde(default)]
    pub subscribers: Vec<Subscriber>,
    /// The Creatio stand-in: its users, contacts, accounts and session rules.
    #[serde(default)]
    pub creatio: CreatioWorld,
}

/// How the simulated Oktell server presents itself on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Replies whose JSON text is longer than this many bytes are sent as multipart; 0 disables it.
    pub multipart_threshold: usize,
    /// Answer the handshake `ping` with `websocketredirect` and close, as a server that insists on TLS.
    pub websocket_redirect: bool,
    pub version_dated: u32,
    pub version_build: String,
    pub webserverport: u16,
    /// Probability (0..=1) that a connection is dropped right after any frame it sent.
    pub drop_probability: f64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            multipart_threshold: 16 * 1024,
            websocket_redirect: false,
            version_dated: 161_116,
            version_build: "2.12.3.161116".to_owned(),
            webserverport: 80,
            drop_probability: 0.0,
        }
    }
}

/// The world's clock: how long the PBX and the far ends take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// The operator's desk phone picks up a back ring by itself after this; `None` = it never does.
    pub operator_pickup_ms: Option<u64>,
    pub answer_after_ms: u64,
    pub busy_after_ms: u64,
    pub no_answer_timeout_ms: u64,
    pub ring_timeout_ms: u64,
    pub queue_ring_delay_ms: u64,
    /// How numbers that the world does not list behave when dialled.
    pub unknown_number: Pickup,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            operator_pickup_ms: Some(1_500),
            answer_after_ms: 3_000,
            busy_after_ms: 1_000,
            no_answer_timeout_ms: 30_000,
            ring_timeout_ms: 30_000,
            queue_ring_delay_ms: 1_000,
            unknown_number: Pickup::Answers,
        }
    }
}

/// Background life of the world (demo mode). Everything is off unless configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Activity {
    pub incoming_call_every_ms: Option<u64>,
    pub presence_change_every_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub name: String,
}

/// Why a login of this user is refused although the password is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginRefusal {
    /// Error 50093: the user is logged in with the Oktell desktop client.
    DesktopClient,
    /// Error 50025: licence limit of simultaneous users.
    LicenceLimit,
    /// `Service not available`: the Oktell service has not started.
    ServiceUnavailable,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub login: String,
    pub password: String,
    pub name: String,
    pub number: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub call_center: bool,
    #[serde(default)]
    pub supervisor: bool,
    #[serde(default = "ready_state")]
    pub initial_state: u8,
    #[serde(default)]
    pub refuse_login: Option<LoginRefusal>,
    /// The digest user name of the user's SIP phone on the simulated PBX; default: the number.
    /// The registrar also accepts the number and the login (see [`User::sip_user_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_user: Option<String>,
    /// The SIP phone's password; default: the Oktell password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
}

impl User {
    /// The SIP account name: `sip_user`, or the user's number.
    pub fn sip_user_name(&self) -> &str {
        self.sip_user.as_deref().unwrap_or(&self.number)
    }

    /// The SIP account password: `sip_password`, or the Oktell password.
    pub fn sip_secret(&self) -> &str {
        self.sip_password.as_deref().unwrap_or(&self.password)
    }
}

impl std::fmt::Debug for User {
    /// Even simulated passwords stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("number", &self.number)
            .field("department", &self.department)
            .field("call_center", &self.call_center)
            .field("supervisor", &self.supervisor)
            .field("initial_state", &self.initial_state)
            .field("refuse_login", &self.refuse_login)
            .field("sip_user", &self.sip_user)
            .finish_non_exhaustive()
    }
}

fn ready_state() -> u8 {
    1
}

/// A service number (IVR, queue): calls to it go to a free call-centre operator of its
/// department, or queue at the one with the shortest queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbxNumber {
    pub number: String,
    pub caption: String,
    #[serde(default)]
    pub department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakReason {
    pub id: u32,
    pub name: String,
}

/// How a far end behaves when the PBX dials it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Pickup {
    #[default]
    Answers,
    Busy,
    NoAnswer,
    /// Rings until the control API makes it answer, report busy or hang up.
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    pub number: String,
    pub name: String,
    #[serde(default)]
    pub pickup: Pickup,
}

/// The Creatio stand-in's part of the world (CREATIO.md §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreatioWorld {
    /// Where the application lives on the host: empty for a root install, else e.g. `/crm`.
    pub app_path: String,
    /// Idle time after which a session ends (`UserSessionTimeout`, §2.2).
    pub session_timeout_s: u64,
    /// How a request with an ended session is answered (§2.2).
    pub expired_session: ExpiredSession,
    /// Which OData prefixes answer (§1): both, or only one deployment's.
    pub odata_paths: ODataPaths,
    /// Also demand the `BPMCSRF` header on GET (real clients always send it, §2.1).
    pub csrf_on_reads: bool,
    /// `SysSettings` values the panel reads for identification (§4.2).
    pub search_number_length: i64,
    pub internal_number_length: i64,
    pub users: Vec<CreatioUser>,
    /// OAuth 2.0 integrated applications (§2.4): client credentials acting as a user.
    pub oauth_clients: Vec<OAuthClient>,
    /// Lifetime of an issued bearer token (`expires_in`).
    pub token_lifetime_s: u64,
    pub accounts: Vec<CreatioAccount>,
    pub contacts: Vec<CreatioContact>,
}

impl Default for CreatioWorld {
    /// No data, and only the `Supervisor` user of Creatio's demo installations.
    fn default() -> Self {
        CreatioWorld {
            app_path: String::new(),
            session_timeout_s: 3600,
            expired_session: ExpiredSession::Unauthorized,
            odata_paths: ODataPaths::Both,
            csrf_on_reads: true,
            search_number_length: 7,
            internal_number_length: 3,
            users: vec![CreatioUser {
                login: "Supervisor".to_owned(),
                password: "Supervisor".to_owned(),
                name: "Supervisor".to_owned(),
                number: None,
            }],
            oauth_clients: Vec::new(),
            token_lifetime_s: 3600,
            accounts: Vec::new(),
            contacts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpiredSession {
    /// HTTP 401.
    Unauthorized,
    /// HTTP 302 to `/Login/NuiLogin.aspx?ReturnUrl=…`.
    RedirectToLogin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ODataPaths {
    /// `/0/odata` and `/odata`.
    Both,
    /// `/0/odata` only.
    NetFramework,
    /// `/odata` only.
    NetCore,
}

/// A Creatio user; each has an employee contact (`CreatedById` of what it writes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatioUser {
    pub login: String,
    pub password: String,
    pub name: String,
    /// The employee's extension, stored as an `Extension` communication.
    #[serde(default)]
    pub number: Option<String>,
}

impl std::fmt::Debug for CreatioUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatioUser")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

/// An OAuth client of the Identity Service stand-in; its tokens act as the Creatio user `user`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    /// Login of one of the Creatio users.
    pub user: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatioAccount {
    pub name: String,
    #[serde(default)]
    pub phones: Vec<Phone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatioContact {
    pub name: String,
    /// The name of an account of this world.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub phones: Vec<Phone>,
}

/// A phone communication as the number is typed in Creatio (free formatting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    pub kind: PhoneKind,
    pub number: String,
}

/// Communication types (§4.1); contacts use mobile/work/home/other/extension, accounts
/// main/additional/fax/other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhoneKind {
    Mobile,
    Work,
    Home,
    Other,
    Extension,
    Main,
    Additional,
    Fax,
}

impl World {
    /// Reads and checks a TOML world file.
    pub fn from_file(path: &Path) -> Result<World, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::WorldFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
        let world = World::from_toml(&text).map_err(|error| match error {
            SimError::Config(message) => SimError::WorldFileMalformed {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        Ok(world)
    }

    /// Parses and checks a world from TOML text.
    pub fn from_toml(text: &str) -> Result<World, SimError> {
        let world: World = toml::from_str(text).map_err(|e| SimError::Config(e.to_string()))?;
        world.validate()?;
        Ok(world)
    }

    /// Checks the cross-references that serde cannot: unique logins and numbers, known departments.
    pub fn validate(&self) -> Result<(), SimError> {
        let mut logins = HashSet::new();
        let mut numbers = HashSet::new();
        let departments: HashSet<&str> = self.departments.iter().map(|d| d.name.as_str()).collect();
        for user in &self.users {
            if !logins.insert(user.login.to_lowercase()) {
                return Err(SimError::Config(format!("login {} appears twice", user.login)));
            }
            if !numbers.insert(user.number.as_str()) {
                return Err(SimError::Config(format!("number {} appears twice", user.number)));
            }
            if !matches!(user.initial_state, 0..=3 | 5..=7) {
                return Err(SimError::Config(format!(
                    "user {} has unknown initial_state {}",
                    user.login, user.initial_state
                )));
            }
        }
        let mut sip_users = HashSet::new();
        for user in &self.users {
            if !sip_users.insert(user.sip_user_name()) {
                return Err(SimError::Config(format!(
                    "SIP user {} appears twice",
                    user.sip_user_name()
                )));
            }
        }
        for number in &self.numbers {
            if !numbers.insert(number.number.as_str()) {
                return Err(SimError::Config(format!("number {} appears twice", number.number)));
            }
        }
        let departments_used = self
            .users
            .iter()
            .filter_map(|u| u.department.as_deref())
            .chain(self.numbers.iter().filter_map(|n| n.department.as_deref()));
        for department in departments_used {
            if !departments.contains(department) {
                return Err(SimError::Config(format!("unknown department {department}")));
            }
        }
        let mut reasons = HashSet::new();
        for reason in &self.break_reasons {
            if !reasons.insert(reason.id) {
                return Err(SimError::Config(format!("break reason {} appears twice", reason.id)));
            }
        }
        if !(0.0..=1.0).contains(&self.server.drop_probability) {
            return Err(SimError::Config("drop_probability must be within 0..=1".to_owned()));
        }
        self.validate_creatio()
    }

    fn validate_creatio(&self) -> Result<(), SimError> {
        let creatio = &self.creatio;
        let mut logins = HashSet::new();
        for user in &creatio.users {
            if !logins.insert(user.login.to_lowercase()) {
                return Err(SimError::Config(format!("Creatio login {} appears twice", user.login)));
            }
        }
        let accounts: HashSet<&str> = creatio.accounts.iter().map(|a| a.name.as_str()).collect();
        for contact in &creatio.contacts {
            if let Some(account) = contact.account.as_deref()
                && !accounts.contains(account)
            {
                return Err(SimError::Config(format!(
                    "contact {} works for unknown account {account}",
                    contact.name
                )));
            }
        }
        for client in &creatio.oauth_clients {
            if !creatio.users.iter().any(|u| u.login.eq_ignore_ascii_case(&client.user)) {
                return Err(SimError::Config(format!(
                    "OAuth client {} acts as unknown user {}",
                    client.client_id, client.user
                )));
            }
        }
        let app_path = creatio.app_path.as_str();
        if !app_path.is_empty()
            && (!app_path.starts_with('/') || app_path.ends_with('/') || app_path.contains(['?', '#']))
        {
            return Err(SimError::Config(format!(
                "creatio.app_path {app_path:?} must be empty or like \"/crm\""
            )));
        }
        if creatio.session_timeout_s == 0 {
            return Err(SimError::Config(
                "creatio.session_timeout_s must be positive".to_owned(),
            ));
        }
        Ok(())
    }

    /// The built-in world: three departments, two operators (`op1`/`op2`, password `demo`, numbers
    /// 101 and 102), more colleagues for the directory, one supervisor, five break reasons and
    /// thirty external subscribers. Background activity is off so that tests stay deterministic;
    /// [`World::demo`] turns it on.
    pub fn default_world() -> World {
        let departments = ["Продажи", "Поддержка", "Бухгалтерия"]
            .into_iter()
            .map(|name| Department { name: name.to_owned() })
            .collect();
        let user = |login: &str, name: &str, number: &str, department: &str, call_center: bool| User {
            login: login.to_owned(),
            password: "demo".to_owned(),
            name: name.to_owned(),
            number: number.to_owned(),
            department: Some(department.to_owned()),
            call_center,
            supervisor: false,
            initial_state: 1,
            refuse_login: None,
            sip_user: None,
            sip_password: None,
        };
        let mut users = vec![
            user("op1", "Анна Смирнова", "101", "Продажи", true),
            user("op2", "Иван Петров", "102", "Продажи", true),
            user("op3", "Мария Кузнецова", "103", "Поддержка", true),
            user("op4", "Дмитрий Соколов", "104", "Поддержка", true),
            user("acc1", "Ольга Лебедева", "201", "Бухгалтерия", false),
        ];
        users[3].initial_state = 3;
        users.push(User {
            supervisor: true,
            ..user("sup1", "Сергей Волков", "100", "Продажи", false)
        });
        let numbers = vec![
            PbxNumber {
                number: "500".to_owned(),
                caption: "Главное меню (IVR)".to_owned(),
                department: None,
            },
            PbxNumber {
                number: "600".to_owned(),
                caption: "Очередь продаж".to_owned(),
                department: Some("Продажи".to_owned()),
            },
        ];
        let break_reasons = ["Обед", "Перерыв", "Совещание", "Обучение", "Личное время"]
            .into_iter()
            .zip(1..)
            .map(|(name, id)| BreakReason {
                id,
                name: name.to_owned(),
            })
            .collect();
        World {
            server: ServerSettings::default(),
            timing: Timing::default(),
            activity: Activity::default(),
            departments,
            users,
            numbers,
            break_reasons,
            subscribers: default_subscribers(),
            creatio: default_creatio(),
        }
    }

    /// The default world with background life: callers ring in and colleagues change state.
    pub fn demo() -> World {
        World {
            activity: Activity {
                incoming_call_every_ms: Some(45_000),
                presence_change_every_ms: Some(12_000),
            },
            ..World::default_world()
        }
    }
}

/// Thirty callers as a Russian PBX shows them: `8` + ten digits for landlines and mobiles, some
/// already in `+7` form as they arrive from SIP trunks.
fn default_subscribers() -> Vec<Subscriber> {
    const PEOPLE: [(&str, &str); 30] = [
        ("84951234567", "Алексей Иванов"),
        ("89161234567", "Елена Васильева"),
        ("+79031112233", "Николай Морозов"),
        ("84957654321", "ООО «Ромашка»"),
        ("89257778899", "Татьяна Новикова"),
        ("+74991234500", "Павел Фёдоров"),
        ("88123456789", "Светлана Павлова"),
        ("89031234455", "Андрей Семёнов"),
        ("+79265554433", "Юлия Голубева"),
        ("84959876543", "АО «Вектор»"),
        ("89104445566", "Виктор Егоров"),
        ("89855553322", "Наталья Козлова"),
        ("+78432223344", "Роман Степанов"),
        ("83432101010", "Ирина Николаева"),
        ("89212345678", "Михаил Орлов"),
        ("89001112233", "Ксения Андреева"),
        ("+79052223344", "Григорий Макаров"),
        ("84012345678", "Людмила Захарова"),
        ("89623334455", "Константин Зайцев"),
        ("89686667788", "Вера Борисова"),
        ("+73832112233", "ИП Яковлев"),
        ("89139998877", "Анастасия Григорьева"),
        ("88002000600", "Горячая линия банка"),
        ("89507776655", "Олег Романов"),
        ("89811231234", "Дарья Воробьёва"),
        ("+79175556677", "Евгений Сергеев"),
        ("84732334455", "Полина Кузьмина"),
        ("89998887766", "Артём Фролов"),
        ("89263332211", "Лариса Александрова"),
        ("84242112233", "Станислав Дмитриев"),
    ];
    PEOPLE
        .iter()
        .enumerate()
        .map(|(index, (number, name))| Subscriber {
            number: (*number).to_owned(),
            name: (*name).to_owned(),
            pickup: match index {
                7 => Pickup::Busy,
                13 => Pickup::NoAnswer,
                _ => Pickup::Answers,
            },
        })
        .collect()
}

/// Creatio's view of the default world: `Supervisor`/`Supervisor` plus one user per operator
/// (`op1`, `op2`, password `demo`), a contact for every person among the subscribers (some with
/// several numbers; Алексей and Мария Ивановы share one), and accounts for the organisations.
/// ООО «Ромашка» is the account-only match: no contact has its number. Half of the contacts work
/// for an account, so the incoming-call popup shows a company; the accounts added for them have
/// numbers no subscriber shares (distinct last seven digits), so identification of the
/// subscribers' numbers stays as it was.
fn default_creatio() -> CreatioWorld {
    use PhoneKind::{Additional, Home, Main, Mobile, Work};
    let phone = |kind: PhoneKind, number: &str| Phone {
        kind,
        number: number.to_owned(),
    };
    let account = |name: &str, phones: Vec<Phone>| CreatioAccount {
        name: name.to_owned(),
        phones,
    };
    let accounts = vec![
        account("ООО «Ромашка»", vec![phone(Main, "+7 (495) 765-43-21")]),
        account(
            "АО «Вектор»",
            vec![phone(Main, "8 (495) 987-65-43"), phone(Additional, "8 (495) 987-65-00")],
        ),
        account("ИП Яковлев", vec![phone(Main, "+7 383 211-22-33")]),
        account("Горячая линия банка", vec![phone(Main, "8-800-200-06-00")]),
        account("ООО «ТехноСервис»", vec![phone(Main, "+7 (495) 640-12-80")]),
        account("ООО «Медтехника»", vec![phone(Main, "+7 (499) 777-03-15")]),
        account("АО «Волга-Приборы»", vec![phone(Main, "+7 (843) 230-40-50")]),
        account("ООО «Балтийская логистика»", vec![phone(Main, "+7 (401) 238-19-27")]),
        account("ООО «Сахалин Рыбпром»", vec![phone(Main, "8 (424) 245-67-01")]),
        account("ООО «Нева-Строй»", vec![phone(Main, "+7 (812) 319-82-64")]),
        account("ЗАО «СтройМонтаж»", vec![phone(Main, "8 (495) 502-66-91")]),
    ];
    let people: [(&str, Option<&str>, &str, Vec<Phone>); 30] = [
        (
            "Алексей Иванов",
            Some("ООО «ТехноСервис»"),
            "Инженер",
            vec![phone(Work, "+7 (495) 123-45-67")],
        ),
        ("Мария Иванова", None, "", vec![phone(Home, "8 495 123 45 67")]),
        (
            "Елена Васильева",
            Some("АО «Вектор»"),
            "Бухгалтер",
            vec![phone(Mobile, "+7 916 123-45-67"), phone(Work, "+7 (495) 987-65-01")],
        ),
        (
            "Николай Морозов",
            Some("ООО «Медтехника»"),
            "Главный врач",
            vec![phone(Mobile, "+7 903 111-22-33"), phone(Home, "+7 (495) 222-33-44")],
        ),
        (
            "Татьяна Новикова",
            Some("ООО «Ромашка»"),
            "Менеджер",
            vec![phone(Mobile, "89257778899")],
        ),
        (
            "Павел Фёдоров",
            Some("ООО «ТехноСервис»"),
            "Руководитель отдела",
            vec![phone(Work, "+7 (499) 123-45-00")],
        ),
        ("Светлана Павлова", None, "", vec![phone(Home, "8 (812) 345-67-89")]),
        (
            "Андрей Семёнов",
            Some("ЗАО «СтройМонтаж»"),
            "Прораб",
            vec![phone(Mobile, "8 903 123-44-55")],
        ),
        (
            "Юлия Голубева",
            Some("ООО «Медтехника»"),
            "Закупщик",
            vec![phone(Mobile, "+79265554433"), phone(Work, "+7 (495) 555-44-30")],
        ),
        (
            "Пётр Сидоров",
            Some("АО «Вектор»"),
            "Директор",
            vec![phone(Work, "8 (495) 987-65-43")],
        ),
        ("Виктор Егоров", None, "", vec![phone(Mobile, "+7 910 444-55-66")]),
        ("Наталья Козлова", None, "", vec![phone(Mobile, "8-985-555-33-22")]),
        (
            "Роман Степанов",
            Some("АО «Волга-Приборы»"),
            "Инженер по качеству",
            vec![phone(Work, "+7 (843) 222-33-44")],
        ),
        ("Ирина Николаева", None, "", vec![phone(Home, "8 (343) 210-10-10")]),
        (
            "Михаил Орлов",
            Some("ООО «Нева-Строй»"),
            "Снабженец",
            vec![phone(Mobile, "+7 921 234-56-78")],
        ),
        ("Ксения Андреева", None, "", vec![phone(Mobile, "8 900 111-22-33")]),
        ("Григорий Макаров", None, "", vec![phone(Mobile, "+7 905 222-33-44")]),
        (
            "Людмила Захарова",
            Some("ООО «Балтийская логистика»"),
            "Логист",
            vec![phone(Work, "8 (401) 234-56-78")],
        ),
        (
            "Константин Зайцев",
            Some("ЗАО «СтройМонтаж»"),
            "Главный инженер",
            vec![phone(Mobile, "+7 962 333-44-55")],
        ),
        ("Вера Борисова", None, "", vec![phone(Mobile, "+7 968 666-77-88")]),
        (
            "Игорь Яковлев",
            Some("ИП Яковлев"),
            "Владелец",
            vec![phone(Work, "+7 383 211-22-33")],
        ),
        (
            "Анастасия Григорьева",
            None,
            "",
            vec![phone(Mobile, "+7 913 999-88-77")],
        ),
        ("Олег Романов", None, "", vec![phone(Mobile, "+7 950 777-66-55")]),
        ("Дарья Воробьёва", None, "", vec![phone(Mobile, "+7 981 123-12-34")]),
        ("Евгений Сергеев", None, "", vec![phone(Mobile, "+7 917 555-66-77")]),
        ("Полина Кузьмина", None, "", vec![phone(Home, "8 (473) 233-44-55")]),
        ("Артём Фролов", None, "", vec![phone(Mobile, "+7 999 888-77-66")]),
        (
            "Лариса Александрова",
            None,
            "",
            vec![phone(Mobile, "+7 926 333-22-11"), phone(Home, "+7 (495) 333-22-11")],
        ),
        (
            "Станислав Дмитриев",
            Some("ООО «Сахалин Рыбпром»"),
            "Коммерческий директор",
            vec![phone(Work, "8 (424) 211-22-33")],
        ),
        (
            "Оксана Белова",
            Some("Горячая линия банка"),
            "Оператор",
            vec![phone(Work, "8 800 200-06-01")],
        ),
    ];
    let contacts = people
        .into_iter()
        .map(|(name, account, job_title, phones)| CreatioContact {
            name: name.to_owned(),
            account: account.map(str::to_owned),
            job_title: job_title.to_owned(),
            phones,
        })
        .collect();
    let user = |login: &str, password: &str, name: &str, number: Option<&str>| CreatioUser {
        login: login.to_owned(),
        password: password.to_owned(),
        name: name.to_owned(),
        number: number.map(str::to_owned),
    };
    CreatioWorld {
        users: vec![
            user("Supervisor", "Supervisor", "Supervisor", None),
            user("op1", "demo", "Анна Смирнова", Some("101")),
            user("op2", "demo", "Иван Петров", Some("102")),
        ],
        oauth_clients: vec![OAuthClient {
            client_id: "oktell-panel".to_owned(),
            client_secret: "demo-secret".to_owned(),
            user: "op1".to_owned(),
        }],
        accounts,
        contacts,
        ..CreatioWorld::default()
    }
}

/// A deterministic GUID for the `index`-th entity of a kind (`kind` is one hex digit that keeps
/// users, numbers, lines and departments apart).
pub(crate) fn derived_guid(kind: char, index: usize) -> String {
    format!("a1b2c3d4-000{kind}-4000-8000-{:012}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_has_what_the_demo_and_tests_rely_on() {
        let world = World::default_world();
        world.validate().unwrap();
        let op1 = world.users.iter().find(|u| u.login == "op1").unwrap();
        let op2 = world.users.iter().find(|u| u.login == "op2").unwrap();
        assert_eq!((op1.number.as_str(), op1.password.as_str()), ("101", "demo"));
        assert_eq!((op2.number.as_str(), op2.password.as_str()), ("102", "demo"));
        assert!(world.users.iter().any(|u| u.supervisor));
        assert_eq!(world.departments.len(), 3);
        assert_eq!(world.break_reasons.len(), 5);
        assert_eq!(world.subscribers.len(), 30);
        assert_eq!(world.activity, Activity::default());
    }

    #[test]
    fn example_world_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("world.example.toml");
        let world = World::from_file(&path).unwrap();
        assert_eq!(world.users.len(), 4);
        assert_eq!(world.users[2].refuse_login, Some(LoginRefusal::DesktopClient));
        assert_eq!(world.subscribers[1].pickup, Pickup::Busy);
        assert_eq!(world.activity.incoming_call_every_ms, Some(45_000));
        assert_eq!(world.creatio.users.len(), 2);
        assert_eq!(world.creatio.users[1].number.as_deref(), Some("101"));
        assert_eq!(world.creatio.contacts[1].account.as_deref(), Some("ООО «Ромашка»"));
        assert_eq!(world.creatio.contacts[1].phones[1].kind, PhoneKind::Home);
        assert_eq!(world.creatio.odata_paths, ODataPaths::Both);
        assert_eq!(world.creatio.oauth_clients[0].user, "op1");
    }

    #[test]
    fn default_creatio_world_has_supervisor_and_the_operators() {
        let world = World::default_world();
        let logins: Vec<(&str, &str)> = world
            .creatio
            .users
            .iter()
            .map(|u| (u.login.as_str(), u.password.as_str()))
            .collect();
        assert_eq!(logins, [("Supervisor", "Supervisor"), ("op1", "demo"), ("op2", "demo")]);
        assert!(world.creatio.contacts.len() >= 30);
        assert!(world.creatio.contacts.iter().filter(|c| c.phones.len() > 1).count() >= 3);
        let without_section = World::from_toml("").unwrap();
        assert_eq!(without_section.creatio.users.len(), 1, "only Supervisor");
    }

    #[test]
    fn half_the_default_contacts_work_for_an_account_that_calls_no_one_else() {
        let world = World::default_world();
        let contacts = &world.creatio.contacts;
        let with_company = contacts.iter().filter(|c| c.account.is_some()).count();
        assert!(
            with_company * 2 >= contacts.len(),
            "{with_company} of {}",
            contacts.len()
        );
        let last_seven = |number: &str| {
            let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
            digits[digits.len().saturating_sub(7)..].iter().collect::<String>()
        };
        // An account that is not itself a caller must not change who a caller's number finds.
        let callers: Vec<&str> = world.subscribers.iter().map(|s| s.name.as_str()).collect();
        for account in world
            .creatio
            .accounts
            .iter()
            .filter(|a| !callers.contains(&a.name.as_str()))
        {
            for phone in &account.phones {
                let shared = world
                    .subscribers
                    .iter()
                    .find(|s| last_seven(&s.number) == last_seven(&phone.number));
                assert!(shared.is_none(), "{} shares a number with {shared:?}", account.name);
            }
        }
    }

    #[test]
    fn creatio_references_to_unknown_accounts_or_users_are_config_errors() {
        let mut world = World::default_world();
        world.creatio.contacts[0].account = Some("Нет такой".to_owned());
        assert!(matches!(world.validate(), Err(SimError::Config(_))));
        let mut twins = World::default_world();
        twins.creatio.users[2].login = "OP1".to_owned();
        assert!(matches!(twins.validate(), Err(SimError::Config(_))));
        let mut trailing = World::default_world();
        trailing.creatio.app_path = "/crm/".to_owned();
        assert!(matches!(trailing.validate(), Err(SimError::Config(_))));
        let mut orphan = World::default_world();
        orphan.creatio.oauth_clients[0].user = "nobody".to_owned();
        assert!(matches!(orphan.validate(), Err(SimError::Config(_))));
    }

    #[test]
    fn world_round_trips_through_toml() {
        let world = World::demo();
        let text = toml::to_string(&world).unwrap();
        assert_eq!(World::from_toml(&text).unwrap(), world);
    }

    #[test]
    fn small_world_file_fills_in_defaults() {
        let world = World::from_toml(
            r#"
            [server]
            multipart_threshold = 100
            [[users]]
            login = "a"
            password = "x"
            name = "A"
            number = "1"
            [[subscribers]]
            number = "89161234567"
            name = "B"
            pickup = "manual"
            "#,
        )
        .unwrap();
        assert_eq!(world.server.multipart_threshold, 100);
        assert_eq!(world.server.version_dated, 161_116);
        assert_eq!(world.users[0].initial_state, 1);
        assert_eq!(world.subscribers[0].pickup, Pickup::Manual);
    }

    #[test]
    fn debug_output_hides_passwords() {
        let text = format!("{:?}", World::default_world());
        assert!(text.contains("op1"));
        assert!(!text.contains("demo"), "{text}");
    }

    #[test]
    fn duplicate_login_is_a_config_error() {
        let mut world = World::default_world();
        let mut twin = world.users[0].clone();
        twin.number = "999".to_owned();
        world.users.push(twin);
        assert!(matches!(world.validate(), Err(SimError::Config(_))));
    }

    #[test]
    fn sip_account_defaults_to_number_and_oktell_password() {
        let world = World::default_world();
        let op1 = world.users.iter().find(|u| u.login == "op1").unwrap();
        assert_eq!((op1.sip_user_name(), op1.sip_secret()), ("101", "demo"));
        let custom = World::from_toml(
            r#"
            [[users]]
            login = "a"
            password = "x"
            name = "A"
            number = "1"
            sip_user = "web1"
            sip_password = "p1"
            "#,
        )
        .unwrap();
        assert_eq!(
            (custom.users[0].sip_user_name(), custom.users[0].sip_secret()),
            ("web1", "p1")
        );
        assert!(
            !format!("{custom:?}").contains("p1"),
            "the SIP password stays out of logs"
        );
    }

    #[test]
    fn duplicate_sip_user_is_a_config_error() {
        let mut world = World::default_world();
        world.users[1].sip_user = Some("101".to_owned());
        assert!(matches!(world.validate(), Err(SimError::Config(_))));
    }

    #[test]
    fn unknown_department_is_a_config_error() {
        let mut world = World::default_world();
        world.users[0].department = Some("Нет такого".to_owned());
        assert!(matches!(world.validate(), Err(SimError::Config(_))));
    }

    #[test]
    fn malformed_file_names_the_path() {
        let dir = std::env::temp_dir().join(format!("sim-world-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.toml");
        std::fs::write(&path, "[[users]]\nlogin = 5\n").unwrap();
        let error = World::from_file(&path).unwrap_err();
        assert!(matches!(error, SimError::WorldFileMalformed { .. }), "{error}");
        assert!(matches!(
            World::from_file(&dir.join("missing.toml")),
            Err(SimError::WorldFileUnreadable { .. })
        ));
    }
}
