//! The people and numbers of the world as the running PBX sees them: identities derived from the
//! world file plus each user's live agent state (the `userstateid` family of flags).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::world::{PbxNumber, User, World, derived_guid};

/// Index of a user in the world's user list; stable for the life of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UserIdx(pub usize);

/// `userstateid` values (PROTOCOL.md §5.2).
pub mod state {
    pub const OFFLINE: u8 = 0;
    pub const READY: u8 = 1;
    pub const BREAK: u8 = 2;
    pub const DND: u8 = 3;
    pub const BUSY: u8 = 5;
    /// The user's phone is not connected: the line reports `lsDisconnected`.
    pub const NO_PHONE: u8 = 7;
}

/// One user's agent state, exactly the fields of `getuserstate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub userstateid: u8,
    pub oncallcenter: bool,
    pub onccmanual: bool,
    pub onlunch: bool,
    pub onredirect: bool,
    pub lunchreasonid: Option<u32>,
    pub ontask: bool,
    /// The state to return to when the user's last call ends (busy is entered by the PBX).
    #[serde(skip)]
    pub after_busy: u8,
}

impl Presence {
    fn initial(user: &User) -> Self {
        Presence {
            userstateid: user.initial_state,
            oncallcenter: user.call_center,
            onccmanual: false,
            onlunch: user.initial_state == state::BREAK,
            onredirect: false,
            lunchreasonid: None,
            ontask: false,
            after_busy: state::READY,
        }
    }

    /// The `getuserstate` / `userstatechanged` payload.
    pub fn to_payload(&self) -> Map<String, Value> {
        let value = json!({
            "userstateid": self.userstateid,
            "oncallcenter": self.oncallcenter,
            "onccmanual": self.onccmanual,
            "onlunch": self.onlunch,
            "onredirect": self.onredirect,
            "lunchreasonid": self.lunchreasonid,
            "ontask": self.ontask,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// A change requested through `setuserstate` or the control API; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceChange {
    pub userstateid: Option<u8>,
    pub oncallcenter: Option<bool>,
    pub onccmanual: Option<bool>,
    pub onredirect: Option<bool>,
    pub lunchreasonid: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub user: User,
    pub id: String,
    pub line_id: String,
    pub number_id: String,
    pub department_id: Option<String>,
    pub presence: Presence,
}

#[derive(Debug, Clone)]
pub struct Directory {
    people: Vec<Person>,
    numbers: Vec<(PbxNumber, String, Option<String>)>,
    departments: Vec<String>,
}

impl Directory {
    pub fn new(world: &World) -> Self {
        let departments: Vec<String> = world.departments.iter().map(|d| d.name.clone()).collect();
        let department_id = |name: &Option<String>| {
            let name = name.as_deref()?;
            let index = departments.iter().position(|d| d == name)?;
            Some(derived_guid('d', index))
        };
        let people = world
            .users
            .iter()
            .enumerate()
            .map(|(index, user)| Person {
                id: derived_guid('0', index),
                line_id: derived_guid('e', index),
                number_id: derived_guid('b', index),
                department_id: department_id(&user.department),
                presence: Presence::initial(user),
                user: user.clone(),
            })
            .collect();
        let numbers = world
            .numbers
            .iter()
            .enumerate()
            .map(|(index, number)| {
                (
                    number.clone(),
                    derived_guid('c', index),
                    department_id(&number.department),
                )
            })
            .collect();
        Directory {
            people,
            numbers,
            departments,
        }
    }

    pub fn person(&self, user: UserIdx) -> Option<&Person> {
        self.people.get(user.0)
    }

    pub fn person_mut(&mut self, user: UserIdx) -> Option<&mut Person> {
        self.people.get_mut(user.0)
    }

    pub fn people(&self) -> impl Iterator<Item = (UserIdx, &Person)> {
        self.people.iter().enumerate().map(|(i, p)| (UserIdx(i), p))
    }

    pub fn by_login(&self, login: &str) -> Option<UserIdx> {
        self.people
            .iter()
            .position(|p| p.user.login.eq_ignore_ascii_case(login))
            .map(UserIdx)
    }

    pub fn by_number(&self, number: &str) -> Option<UserIdx> {
        self.people.iter().position(|p| p.user.number == number).map(UserIdx)
    }

    pub fn presence(&self, user: UserIdx) -> Option<&Presence> {
        self.person(user).map(|p| &p.presence)
    }

    /// `getpbxnumbers` entries: one per user plus the world's other numbers.
    pub fn pbx_numbers(&self) -> Vec<Value> {
        let department_name = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| {
                    (0..self.departments.len())
                        .find(|i| &derived_guid('d', *i) == id)
                        .and_then(|i| self.departments.get(i))
                })
                .cloned()
                .unwrap_or_default()
        };
        let zero = "00000000-0000-0000-0000-000000000000".to_owned();
        let users = self.people.iter().map(|p| {
            json!({
                "id": p.number_id,
                "number": p.user.number,
                "caption": p.user.name,
                "state": p.presence.userstateid,
                "departmentid": p.department_id.clone().unwrap_or_else(|| zero.clone()),
                "department": department_name(&p.department_id),
            })
        });
        let others = self.numbers.iter().map(|(n, id, department_id)| {
            json!({
                "id": id,
                "number": n.number,
                "caption": n.caption,
                "state": state::READY,
                "departmentid": department_id.clone().unwrap_or_else(|| zero.clone()),
                "department": department_name(department_id),
            })
        });
        users.chain(others).collect()
    }

    /// `getallusernumbers` entries; a supervisor sees the users of its department as subordinates.
    pub fn user_numbers(&self, viewer: UserIdx) -> Vec<Value> {
        let viewer = self.person(viewer);
        self.people
            .iter()
            .map(|p| {
                let sub =
                    viewer.is_some_and(|v| v.user.supervisor && v.id != p.id && v.department_id == p.department_id);
                json!({
                    "id": p.id,
                    "name": p.user.name,
                    "main": p.user.number,
                    "nums": [p.user.number],
                    "sub": sub,
                })
            })
            .collect()
    }
}
