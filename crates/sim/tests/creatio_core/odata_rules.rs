//! OData reads and writes against the default world (CREATIO.md §3.1, §4, §5, §9 points 4–5).

use std::time::Duration;

use serde_json::{Value, json};
use sim::World;
use sim::creatio::{Control, CrmRequest, DIRECTION_INCOMING, DIRECTION_NOT_DEFINED, Reply, search_number};
use sim::world::ODataPaths;

use crate::{Harness, json};

const MOBILE: &str = "d4a2dc80-30ca-df11-9b2a-001d60e938c6";
const CALL_ID: &str = "8f2b6f8e-1d3c-4a51-9a0e-3c1f7b7e2a10";

fn logged_in(user: &str) -> Harness {
    let mut h = Harness::new();
    h.login(user, if user == "Supervisor" { "Supervisor" } else { "demo" });
    h
}

fn reversed_key(number: &str) -> String {
    number.chars().rev().filter(char::is_ascii_digit).take(7).collect()
}

#[test]
fn search_number_is_reversed_digits_or_lowercased_email() {
    assert_eq!(search_number(MOBILE, "+7 (495) 123-45-67"), "76543215947");
    assert_eq!(search_number(MOBILE, "ext. 101"), "101");
    assert_eq!(
        search_number("ee1c85c3-cfcb-df11-9b2a-001d60e938c6", "Ivan@Example.COM"),
        "ivan@example.com"
    );
}

#[test]
fn default_world_has_thirty_contacts_for_the_subscribers() {
    let world = World::default_world();
    let mut h = logged_in("op1");
    let mut matched = 0;
    for subscriber in &world.subscribers {
        let key = reversed_key(&subscriber.number);
        let (status, body) = h.get_json(&format!(
            "/0/odata/ContactCommunication?$filter=startswith(SearchNumber,'{key}')&$select=ContactId"
        ));
        assert_eq!(status, 200);
        let (_, accounts) = h.get_json(&format!(
            "/0/odata/AccountCommunication?$filter=startswith(SearchNumber,'{key}')&$select=AccountId"
        ));
        let contacts = body["value"].as_array().unwrap().len();
        let account_rows = accounts["value"].as_array().unwrap().len();
        assert!(
            contacts + account_rows > 0,
            "{} is unknown to Creatio",
            subscriber.number
        );
        matched += contacts;
    }
    assert!(matched >= 30, "only {matched} contact matches");
    let (_, count) = h.get_json("/0/odata/Contact?$count=true&$top=0");
    assert!(count["@odata.count"].as_u64().unwrap() >= 33);
}

#[test]
fn two_contacts_share_one_number_and_one_number_matches_only_an_account() {
    let mut h = logged_in("op1");
    let full = search_number(MOBILE, "84951234567");
    let (_, shared) = h.get_json(&format!(
        "/odata/ContactCommunication?$filter=SearchNumber eq '{}' or SearchNumber eq '{}'&$expand=Contact&$orderby=Contact/Name asc",
        full,
        search_number(MOBILE, "+74951234567")
    ));
    let names: Vec<&str> = shared["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Contact"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Алексей Иванов", "Мария Иванова"]);
    let key = reversed_key("84957654321");
    let (_, contacts) = h.get_json(&format!(
        "/0/odata/ContactCommunication?$filter=startswith(SearchNumber,'{key}')"
    ));
    assert_eq!(contacts["value"], json!([]));
    let (_, accounts) = h.get_json(&format!(
        "/0/odata/AccountCommunication?$filter=startswith(SearchNumber,'{key}')&$expand=Account"
    ));
    assert_eq!(accounts["value"][0]["Account"]["Name"], "ООО «Ромашка»");
}

#[test]
fn some_contacts_have_several_numbers_mirrored_into_their_columns() {
    let mut h = logged_in("op1");
    let (_, body) = h.get_json("/0/odata/Contact?$filter=Name eq 'Елена Васильева'&$select=Id,MobilePhone,Phone");
    let contact = &body["value"][0];
    assert_eq!(contact["MobilePhone"], "+7 916 123-45-67");
    assert_eq!(contact["Phone"], "+7 (495) 987-65-01");
    let id = contact["Id"].as_str().unwrap();
    let (_, numbers) = h.get_json(&format!(
        "/0/odata/ContactCommunication/$count?$filter=Contact/Id eq {id}"
    ));
    assert_eq!(numbers, json!(2));
}

#[test]
fn client_settings_and_employee_queries_work() {
    let mut h = logged_in("op1");
    let (status, body) = h.get_json(
        "/0/odata/SysSettingsValue?$filter=SysSettings/Code%20eq%20'SearchNumberLength'%20or%20SysSettings/Code%20eq%20'InternalNumberLength'&$select=IntegerValue,SysSettingsId&$expand=SysSettings",
    );
    assert_eq!(status, 200);
    let mut values: Vec<(String, i64)> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["SysSettings"]["Code"].as_str().unwrap().to_owned(),
                r["IntegerValue"].as_i64().unwrap(),
            )
        })
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            ("InternalNumberLength".to_owned(), 3),
            ("SearchNumberLength".to_owned(), 7)
        ]
    );
    let (status, body) = h.get_json(
        "/0/odata/ContactCommunication?$filter=SearchNumber%20eq%20'101'%20and%20Contact/Type/Id%20eq%2060733efc-f36b-1410-a883-16d83cab0980&$expand=Contact",
    );
    assert_eq!(status, 200);
    assert_eq!(body["value"][0]["Contact"]["Name"], "Анна Смирнова");
}

#[test]
fn paging_ordering_select_and_count() {
    let mut h = logged_in("op1");
    let (_, all) = h.get_json("/0/odata/Contact?$orderby=Name desc&$select=Name&$count=true");
    let names: Vec<String> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names, sorted);
    assert_eq!(all["@odata.count"].as_u64().unwrap() as usize, names.len());
    assert_eq!(
        all["value"][0].as_object().unwrap().len(),
        1,
        "only the selected column"
    );
    assert!(
        all["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/0/odata/$metadata#Contact(Name)")
    );
    let (_, page) = h.get_json("/0/odata/Contact?$orderby=Name desc&$select=Name&$skip=2&$top=3");
    let page: Vec<&str> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(page, names[2..5].iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn call_lifecycle_post_201_get_patch_204_delete_204() {
    let mut h = logged_in("op1");
    h.advance(Duration::from_millis(1500));
    let create = h.authed(
        "POST",
        "/0/odata/Call",
        Some(json!({
            "Id": CALL_ID, "IntegrationId": "42:4951234567", "CallerId": "+74951234567", "CalledId": "101",
            "DirectionId": DIRECTION_INCOMING, "StartDate": "2026-11-23T10:42:00+03:00"
        })),
    );
    let created = h.send(create);
    assert_eq!(created.status, 201);
    assert_eq!(
        created.header("Location"),
        Some(format!("http://crm.test/0/odata/Call({CALL_ID})").as_str())
    );
    let body = json(&created);
    assert_eq!(body["@odata.context"], "http://crm.test/0/odata/$metadata#Call/$entity");
    assert_eq!(body["Id"], CALL_ID);
    assert_eq!(body["StartDate"], "2026-11-23T07:42:00.0000000Z");
    assert_eq!(body["EndDate"], "0001-01-01T00:00:00Z");
    assert_eq!(body["ContactId"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(body["Caption"], "");
    assert_eq!(body["TalkTime"], 0);
    assert_eq!(body["ProcessListeners"], 0);
    let created_on = body["CreatedOn"].as_str().unwrap();
    assert_eq!(
        created_on, "2026-09-21T14:13:21.5000000Z",
        "wall clock at login + 1.5 s"
    );
    let op1 = body["CreatedById"].as_str().unwrap().to_owned();
    let (_, op1_contact) = h.get_json(&format!("/0/odata/Contact({op1})?$select=Name"));
    assert_eq!(
        op1_contact["Name"], "Анна Смирнова",
        "calls are written under the operator's name"
    );

    let (_, contact) = h.get_json("/0/odata/Contact?$filter=Name eq 'Алексей Иванов'&$select=Id");
    let contact_id = contact["value"][0]["Id"].as_str().unwrap().to_owned();
    let patch = h.authed(
        "PATCH",
        &format!("/0/odata/Call({CALL_ID})"),
        Some(json!({"ContactId": contact_id, "EndDate": "2026-11-23T07:45:00Z", "TalkTime": 170, "Duration": 180})),
    );
    let patched = h.send(patch);
    assert_eq!(patched.status, 204);
    assert!(patched.body.is_empty());
    let (status, read) = h.get_json(&format!("/odata/Call({CALL_ID})?$expand=Contact,Direction"));
    assert_eq!(status, 200);
    assert_eq!(read["Contact"]["Name"], "Алексей Иванов");
    assert_eq!(read["Direction"]["Code"], "Incoming");
    assert_eq!(read["TalkTime"], 170);
    assert_eq!(
        read["@odata.context"],
        "http://crm.test/odata/$metadata#Call(Contact(),Direction())/$entity"
    );

    let delete = h.authed("DELETE", &format!("/0/odata/Call({CALL_ID})"), None);
    assert_eq!(h.send(delete).status, 204);
    let (status, error) = h.get_json(&format!("/0/odata/Call({CALL_ID})"));
    assert_eq!(status, 404);
    assert!(error["error"]["message"].as_str().is_some());
}

#[test]
fn post_fills_server_id_and_default_direction_and_rejects_a_repeat() {
    let mut h = logged_in("op2");
    let first = h.send(h.authed("POST", "/0/odata/Call", Some(json!({"CallerId": "101"}))));
    assert_eq!(first.status, 201);
    let body = json(&first);
    assert_eq!(body["DirectionId"], DIRECTION_NOT_DEFINED);
    let id = body["Id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    let again = h.send(h.authed("POST", "/0/odata/Call", Some(json!({"Id": id}))));
    assert_eq!(again.status, 500);
    assert!(
        json(&again)["error"]["innererror"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate")
    );
}

#[test]
fn saving_a_communication_fills_search_number_and_the_contact_column() {
    let mut h = logged_in("op1");
    let contact = "5b0d3c9e-7b4c-4c59-9d36-0c6a8a2f3b11";
    let made = h.send(h.authed(
        "POST",
        "/0/odata/Contact",
        Some(json!({"Id": contact, "Name": "New caller"})),
    ));
    assert_eq!(made.status, 201);
    let comm = h.send(h.authed(
        "POST",
        "/0/odata/ContactCommunication",
        Some(json!({"ContactId": contact, "CommunicationTypeId": MOBILE, "Number": "+7 (999) 000-11-22", "SearchNumber": "lies"})),
    ));
    assert_eq!(comm.status, 201);
    let comm = json(&comm);
    assert_eq!(comm["SearchNumber"], "22110009997");
    let (_, row) = h.get_json(&format!("/0/odata/Contact({contact})?$select=MobilePhone"));
    assert_eq!(row["MobilePhone"], "+7 (999) 000-11-22");
    let id = comm["Id"].as_str().unwrap();
    let patch = h.authed(
        "PATCH",
        &format!("/0/odata/ContactCommunication({id})"),
        Some(json!({"Number": "8 999 000 11 33"})),
    );
    assert_eq!(h.send(patch).status, 204);
    let (_, row) = h.get_json(&format!("/0/odata/ContactCommunication({id})?$select=SearchNumber"));
    assert_eq!(row["SearchNumber"], "33110009998");
}

#[test]
fn bad_requests_answer_odata_errors() {
    let mut h = logged_in("op1");
    let cases = [
        ("GET", "/0/odata/Contact?$filter=Name eq", None, 400),
        (
            "GET",
            "/0/odata/Contact?$filter=Id eq 'c072be2c-3d82-4468-9d4a-6db47d1f4cca'",
            None,
            400,
        ),
        ("GET", "/0/odata/Contact?$filter=Nope eq 'a'", None, 400),
        ("GET", "/0/odata/Contact?$select=Nope", None, 400),
        ("GET", "/0/odata/Contact?$expand=Nope", None, 400),
        ("GET", "/0/odata/Contact?$top=-1", None, 400),
        ("GET", "/0/odata/Contact?$orderby=Name sideways", None, 400),
        ("GET", "/0/odata/Contact?$bogus=1", None, 400),
        ("GET", "/0/odata/Contact('abc')", None, 400),
        ("GET", "/0/odata/Nope", None, 404),
        (
            "GET",
            "/0/odata/Contact(c072be2c-3d82-4468-9d4a-6db47d1f4cca)",
            None,
            404,
        ),
        ("POST", "/0/odata/Call", Some(json!({"Bogus": 1})), 400),
        ("POST", "/0/odata/Call", Some(json!({"TalkTime": "long"})), 400),
        ("POST", "/0/odata/Call", Some(json!({"StartDate": "yesterday"})), 400),
        (
            "POST",
            "/0/odata/Call",
            Some(json!({"ContactId": "c072be2c-3d82-4468-9d4a-6db47d1f4cca"})),
            400,
        ),
        (
            "POST",
            "/0/odata/ContactCommunication",
            Some(json!({"Number": "1"})),
            400,
        ),
        ("POST", "/0/odata/Call", Some(json!([1, 2])), 400),
        ("PUT", "/0/odata/Call", None, 405),
        (
            "PATCH",
            "/0/odata/Call(c072be2c-3d82-4468-9d4a-6db47d1f4cca)",
            Some(json!({})),
            404,
        ),
    ];
    for (method, target, body, status) in cases {
        let response = h.send(h.authed(method, target, body));
        assert_eq!(response.status, status, "{method} {target}");
        let error = json(&response);
        assert_eq!(error["error"]["code"], "", "{method} {target}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
        assert!(error["error"]["innererror"]["type"].as_str().is_some());
    }
    let mut form = h.authed("PATCH", "/0/odata/Contact(c072be2c-3d82-4468-9d4a-6db47d1f4cca)", None);
    form.headers
        .push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    form.body = b"Name=x".to_vec();
    assert_eq!(h.send(form).status, 415);
}

#[test]
fn net_core_deployment_serves_only_the_short_prefix() {
    let mut world = World::default_world();
    world.creatio.odata_paths = ODataPaths::NetCore;
    let mut h = Harness::with_world(world);
    h.login("op1", "demo");
    assert_eq!(h.get_json("/odata/Call?$top=0&$select=Id").0, 200);
    let (status, _) = h.get_json("/0/odata/Call?$top=0&$select=Id");
    assert_eq!(status, 404);
}

#[test]
fn service_document_lists_the_collections() {
    let mut h = logged_in("op1");
    let (status, body) = h.get_json("/0/odata/");
    assert_eq!(status, 200);
    let names: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for name in [
        "Contact",
        "Account",
        "ContactCommunication",
        "AccountCommunication",
        "Call",
        "CallDirection",
        "CommunicationType",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}

#[test]
fn injected_failures_slowness_and_downtime_shape_the_replies() {
    let mut h = logged_in("op1");
    h.crm.handle_control(
        h.now,
        Control::Fail {
            status: 500,
            count: Some(2),
        },
    );
    for _ in 0..2 {
        assert_eq!(h.get_json("/0/odata/Call?$top=0").0, 500);
    }
    assert_eq!(h.get_json("/0/odata/Call?$top=0").0, 200);
    h.crm.handle_control(h.now, Control::Slow { delay_ms: 1500 });
    let request = h.authed("GET", "/0/odata/Call?$top=0", None);
    let Reply::Respond { response, delay } = h.crm.handle_request(h.now, &request) else {
        panic!("hung up")
    };
    assert_eq!((response.status, delay), (200, Duration::from_millis(1500)));
    let state = h.crm.handle_control(h.now, Control::Down);
    assert_eq!(state["faults"]["down"], true);
    assert_eq!(h.crm.handle_request(h.now, &request), Reply::Hangup);
    h.crm.handle_control(h.now, Control::Up);
    assert!(matches!(h.crm.handle_request(h.now, &request), Reply::Respond { .. }));
    let healed = h.crm.handle_control(h.now, Control::Heal);
    assert_eq!(healed["faults"]["delay_ms"], 0);
    assert_eq!(healed["sessions"], 1);
    let login = CrmRequest::new("POST", "/ServiceModel/AuthService.svc/Login");
    h.crm.handle_control(
        h.now,
        Control::Fail {
            status: 503,
            count: None,
        },
    );
    let Reply::Respond { response, .. } = h.crm.handle_request(h.now, &login) else {
        panic!("hung up")
    };
    assert_eq!(response.status, 503, "faults hit the login too");
}

#[test]
fn calls_listing_shows_written_records() {
    let mut h = logged_in("op1");
    let made = h.send(h.authed(
        "POST",
        "/0/odata/Call",
        Some(json!({"Id": CALL_ID, "CallerId": "89161234567"})),
    ));
    assert_eq!(made.status, 201);
    let calls = h.crm.handle_control(h.now, Control::Calls);
    assert_eq!(calls.as_array().map(Vec::len), Some(1));
    assert_eq!(calls[0]["CallerId"], Value::from("89161234567"));
}
