//! The rows a fresh stand-in starts with: the fixed lookups Creatio ships (§4.1, §5.1, §9 point
//! 5) and the world's users, contacts, accounts and their phone communications. Every id is
//! derived from the world, so the same world always has the same GUIDs.

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::schema;
use super::store::{DataError, Stamp, Store, comm_type};
use crate::world::{CreatioWorld, PhoneKind, derived_guid};

/// `CallDirection` rows (§5.1).
pub const DIRECTION_INCOMING: &str = "1d96a65f-2131-4916-8825-2d142b1000b2";
pub const DIRECTION_OUTGOING: &str = "53f71b5f-7e17-4cf5-bf14-6a59212db422";
pub const DIRECTION_NOT_DEFINED: &str = "c072be2c-3d82-4468-9d4a-6db47d1f4cca";
/// `ContactType` "Employee" (§4.2 step 3).
pub const CONTACT_TYPE_EMPLOYEE: &str = "60733efc-f36b-1410-a883-16d83cab0980";

/// The contact of the `index`-th Creatio user of the world.
pub fn user_contact(index: usize) -> String {
    derived_guid('1', index)
}

fn phone_type(kind: PhoneKind) -> &'static str {
    match kind {
        PhoneKind::Mobile => comm_type::MOBILE_PHONE,
        PhoneKind::Work => comm_type::WORK_PHONE,
        PhoneKind::Home => comm_type::HOME_PHONE,
        PhoneKind::Other => comm_type::OTHER_PHONE,
        PhoneKind::Extension => comm_type::EXTENSION,
        PhoneKind::Main => comm_type::MAIN_PHONE,
        PhoneKind::Additional => comm_type::ADDITIONAL_PHONE,
        PhoneKind::Fax => comm_type::FAX,
    }
}

fn body(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// Builds the starting store; `at` is the creation time written on every row.
pub fn store(world: &CreatioWorld, at: &str) -> Result<Store, DataError> {
    let mut store = Store::default();
    let author = user_contact(0);
    let stamp = Stamp { author: &author, at };
    let add = |store: &mut Store, collection: &str, value: Json| -> Result<(), DataError> {
        store.insert(collection, &body(value), Uuid::nil(), stamp).map(drop)
    };
    for (id, name) in [
        (comm_type::WORK_PHONE, "Рабочий телефон"),
        (comm_type::MOBILE_PHONE, "Мобильный телефон"),
        (comm_type::HOME_PHONE, "Домашний телефон"),
        (comm_type::MAIN_PHONE, "Основной телефон"),
        (comm_type::ADDITIONAL_PHONE, "Дополнительный телефон"),
        (comm_type::OTHER_PHONE, "Другой телефон"),
        (comm_type::FAX, "Факс"),
        (comm_type::EXTENSION, "Добавочный номер"),
        (comm_type::EMAIL, "Email"),
        (comm_type::SKYPE, "Skype"),
        (comm_type::WEB, "Web"),
    ] {
        add(&mut store, schema::COMMUNICATION_TYPE, json!({"Id": id, "Name": name}))?;
    }
    for (id, name, code) in [
        (DIRECTION_INCOMING, "Входящий", "Incoming"),
        (DIRECTION_OUTGOING, "Исходящий", "Outgoing"),
        (DIRECTION_NOT_DEFINED, "Не определено", "NotDefined"),
    ] {
        add(
            &mut store,
            schema::CALL_DIRECTION,
            json!({"Id": id, "Name": name, "Code": code}),
        )?;
    }
    let customer = derived_guid('5', 0);
    add(
        &mut store,
        schema::CONTACT_TYPE,
        json!({"Id": CONTACT_TYPE_EMPLOYEE, "Name": "Сотрудник"}),
    )?;
    add(
        &mut store,
        schema::CONTACT_TYPE,
        json!({"Id": customer, "Name": "Клиент"}),
    )?;
    for (index, (code, value)) in [
        ("SearchNumberLength", world.search_number_length),
        ("InternalNumberLength", world.internal_number_length),
    ]
    .into_iter()
    .enumerate()
    {
        let setting = derived_guid('6', index);
        add(
            &mut store,
            schema::SYS_SETTINGS,
            json!({"Id": setting, "Code": code, "Name": code, "ValueTypeName": "Integer"}),
        )?;
        add(
            &mut store,
            schema::SYS_SETTINGS_VALUE,
            json!({"Id": derived_guid('7', index), "SysSettingsId": setting, "IntegerValue": value}),
        )?;
    }
    let accounts: Vec<String> = (0..world.accounts.len()).map(|i| derived_guid('2', i)).collect();
    let mut contact_phones = Vec::new();
    for (index, user) in world.users.iter().enumerate() {
        let id = user_contact(index);
        add(
            &mut store,
            schema::CONTACT,
            json!({"Id": id, "Name": user.name, "TypeId": CONTACT_TYPE_EMPLOYEE}),
        )?;
        add(
            &mut store,
            schema::SYS_ADMIN_UNIT,
            json!({"Id": derived_guid('8', index), "Name": user.login, "ContactId": id, "Active": true}),
        )?;
        if let Some(number) = &user.number {
            contact_phones.push((id, PhoneKind::Extension, number.clone()));
        }
    }
    for (index, account) in world.accounts.iter().enumerate() {
        let id = accounts.get(index).cloned().unwrap_or_default();
        add(&mut store, schema::ACCOUNT, json!({"Id": id, "Name": account.name}))?;
    }
    for (index, contact) in world.contacts.iter().enumerate() {
        let id = derived_guid('1', world.users.len() + index);
        let account = contact
            .account
            .as_deref()
            .and_then(|name| world.accounts.iter().position(|a| a.name == name))
            .and_then(|i| accounts.get(i).cloned());
        let mut row = json!({"Id": id, "Name": contact.name, "TypeId": customer, "JobTitle": contact.job_title});
        if let (Some(account), Json::Object(map)) = (account, &mut row) {
            map.insert("AccountId".to_owned(), Json::String(account));
        }
        add(&mut store, schema::CONTACT, row)?;
        contact_phones.extend(contact.phones.iter().map(|p| (id.clone(), p.kind, p.number.clone())));
    }
    for (index, (contact, kind, number)) in contact_phones.into_iter().enumerate() {
        add(
            &mut store,
            schema::CONTACT_COMMUNICATION,
            json!({"Id": derived_guid('3', index), "ContactId": contact, "CommunicationTypeId": phone_type(kind), "Number": number}),
        )?;
    }
    let account_phones = world.accounts.iter().zip(&accounts).flat_map(|(account, id)| {
        account
            .phones
            .iter()
            .map(move |p| (id.clone(), p.kind, p.number.clone()))
    });
    for (index, (account, kind, number)) in account_phones.enumerate() {
        add(
            &mut store,
            schema::ACCOUNT_COMMUNICATION,
            json!({"Id": derived_guid('4', index), "AccountId": account, "CommunicationTypeId": phone_type(kind), "Number": number}),
        )?;
    }
    Ok(store)
}
