//! Caller identification as Creatio does it: normalisation table, exact query text, de-dup,
//! limits, and the cache.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use creatio::http::{HttpResponse, Method};
use creatio::identify::{
    Identification, Identifier, IdentifyCache, IdentifyConfig, Lookup, LookupError, LookupPart, NumberLengths,
    SearchKey, Start, SubscriberKind, account_query, contact_query, lengths_from_settings, settings_query,
};

fn key(number: &str) -> Option<SearchKey> {
    SearchKey::from_number(number, NumberLengths::default())
}

#[test]
fn normalisation_table() {
    use SearchKey::{External as E, Internal as I};
    let cases: &[(&str, Option<SearchKey>)] = &[
        ("+7 (495) 123-45-67", Some(E("7654321".into()))),
        ("84951234567", Some(E("7654321".into()))),
        ("8 495 123 45 67", Some(E("7654321".into()))),
        ("+7-495-123-45-67", Some(E("7654321".into()))),
        ("(495) 123.45.67", Some(E("7654321".into()))),
        ("1234567", Some(E("7654321".into()))),
        ("123456", Some(E("654321".into()))),
        ("1234", Some(E("4321".into()))),
        ("123", Some(I("321".into()))),
        ("101", Some(I("101".into()))),
        ("7", Some(I("7".into()))),
        ("ext. 12", Some(I("21".into()))),
        ("sip:205@pbx.example.com", Some(I("502".into()))),
        ("anonymous", None),
        ("", None),
        ("+", None),
        ("٣٤٥", None),
    ];
    for (number, expected) in cases {
        assert_eq!(&key(number), expected, "{number:?}");
    }
}

#[test]
fn lengths_from_settings_follow_creatio_rules() {
    let wide = NumberLengths::from_settings(Some(10), Some(4));
    assert_eq!(
        SearchKey::from_number("+7 495 123-45-67", wide),
        Some(SearchKey::External("7654321594".into()))
    );
    assert_eq!(
        SearchKey::from_number("1234", wide),
        Some(SearchKey::Internal("4321".into()))
    );
    // Creatio only truncates when InternalNumberLength > 0 and SearchNumberLength exceeds it.
    let no_internal = NumberLengths::from_settings(Some(7), Some(0));
    assert_eq!(
        SearchKey::from_number("84951234567", no_internal),
        Some(SearchKey::External("76543215948".into()))
    );
    assert_eq!(NumberLengths::from_settings(None, Some(-1)), NumberLengths::default());
}

#[test]
fn contact_query_text_is_exact() {
    let config = IdentifyConfig {
        phone_types: vec![
            creatio::wire::COMMUNICATION_TYPE_MOBILE_PHONE,
            creatio::wire::COMMUNICATION_TYPE_WORK_PHONE,
        ],
        ..IdentifyConfig::default()
    };
    let request = contact_query(&key("+7 (495) 123-45-67").unwrap(), &config);
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.resource,
        "ContactCommunication?$filter=startswith(SearchNumber,'7654321')%20and%20\
         (CommunicationType/Id%20eq%20d4a2dc80-30ca-df11-9b2a-001d60e938c6%20or%20\
         CommunicationType/Id%20eq%203dddb3cc-53ee-49c4-a71f-e9e257f59e49)\
         &$select=Id,Number,SearchNumber,ContactId,CommunicationTypeId\
         &$expand=Contact($select=Id,Name,AccountId%3B$expand=Account($select=Id,Name))\
         &$orderby=Contact/Name%20asc,Id%20asc&$top=20"
    );
    let account = account_query(&key("84951234567").unwrap(), &config).unwrap();
    assert!(
        account
            .resource
            .starts_with("AccountCommunication?$filter=startswith(SearchNumber,'7654321')%20and%20(")
    );
    assert!(
        account
            .resource
            .ends_with("&$expand=Account&$orderby=Account/Name%20asc,Id%20asc&$top=20")
    );
}

#[test]
fn extensions_match_exactly_and_only_employees() {
    let config = IdentifyConfig {
        phone_types: vec![],
        ..IdentifyConfig::default()
    };
    let ext = key("101").unwrap();
    assert_eq!(
        contact_query(&ext, &config).resource,
        "ContactCommunication?$filter=SearchNumber%20eq%20'101'%20and%20\
         Contact/Type/Id%20eq%2060733efc-f36b-1410-a883-16d83cab0980\
         &$select=Id,Number,SearchNumber,ContactId,CommunicationTypeId\
         &$expand=Contact($select=Id,Name,AccountId%3B$expand=Account($select=Id,Name))\
         &$orderby=Contact/Name%20asc,Id%20asc&$top=20"
    );
    assert!(account_query(&ext, &config).is_none());
    let lookup = Lookup::new(ext, &config);
    assert_eq!(lookup.requests().len(), 1);
}

fn contact_row(comm: u8, contact: u8, name: &str, account: Option<u8>) -> String {
    let account = account.map_or("00000000-0000-0000-0000-000000000000".to_owned(), id);
    format!(
        r#"{{"Id":"{}","Number":"+7 495 123-45-67","SearchNumber":"76543215947",
            "ContactId":"{}","CommunicationTypeId":"d4a2dc80-30ca-df11-9b2a-001d60e938c6",
            "Contact":{{"Id":"{}","Name":"{name}","AccountId":"{account}","Extra":true}}}}"#,
        id(comm + 100),
        id(contact),
        id(contact)
    )
}

fn account_row(comm: u8, account: u8, name: &str) -> String {
    format!(
        r#"{{"Id":"{}","Number":"+7 495 123-45-67","AccountId":"{}",
            "CommunicationTypeId":"6a3fb10c-67cc-df11-9b2a-001d60e938c6",
            "Account":{{"Id":"{}","Name":"{name}"}}}}"#,
        id(comm + 200),
        id(account),
        id(account)
    )
}

fn id(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02x}")
}

fn collection(rows: &[String]) -> HttpResponse {
    HttpResponse::json(
        200,
        &format!(r#"{{"@odata.context":"x","value":[{}]}}"#, rows.join(",")),
    )
}

fn run(contacts: &[String], accounts: &[String]) -> Identification {
    let mut lookup = Lookup::new(key("+74951234567").unwrap(), &IdentifyConfig::default());
    assert!(lookup.result().is_none());
    lookup.handle(LookupPart::Contacts, &collection(contacts)).unwrap();
    assert!(lookup.result().is_none(), "must wait for the account answer");
    lookup.handle(LookupPart::Accounts, &collection(accounts)).unwrap();
    lookup.result().unwrap()
}

#[test]
fn one_contact_with_two_matching_numbers_is_one_subscriber() {
    let result = run(
        &[contact_row(1, 1, "Ivan", Some(9)), contact_row(2, 1, "Ivan", Some(9))],
        &[],
    );
    let Identification::One(s) = result else {
        panic!("expected one, got {result:?}");
    };
    assert_eq!(s.kind, SubscriberKind::Contact);
    assert_eq!(s.name, "Ivan");
    assert_eq!(s.id.to_string(), id(1));
    assert_eq!(s.account_id.map(|a| a.to_string()), Some(id(9)));
}

#[test]
fn account_only_match() {
    let result = run(&[], &[account_row(1, 5, "Acme")]);
    let Identification::One(s) = result else {
        panic!("expected one, got {result:?}");
    };
    assert_eq!((s.kind, s.name.as_str()), (SubscriberKind::Account, "Acme"));
    assert_eq!(s.account_name, None, "an account is itself the company");
}

#[test]
fn contact_query_without_company_names_expands_the_contact_plainly() {
    let config = IdentifyConfig {
        company_names: false,
        ..IdentifyConfig::default()
    };
    let request = contact_query(&key("+7 (495) 123-45-67").unwrap(), &config);
    assert!(
        request
            .resource
            .ends_with("&$expand=Contact&$orderby=Contact/Name%20asc,Id%20asc&$top=20"),
        "{}",
        request.resource
    );
}

/// A contact row whose `Contact` object ends with `account` (raw JSON members, may be empty).
fn contact_row_with(contact: u8, account_id: &str, account: &str) -> String {
    format!(
        r#"{{"Id":"{}","Number":"+7 495 123-45-67","ContactId":"{}",
            "Contact":{{"Id":"{}","Name":"Ivan","AccountId":"{account_id}"{account}}}}}"#,
        id(contact + 100),
        id(contact),
        id(contact)
    )
}

fn one(contacts: &[String]) -> creatio::identify::Subscriber {
    match run(contacts, &[]) {
        Identification::One(s) => s,
        other => panic!("expected one, got {other:?}"),
    }
}

#[test]
fn contact_brings_the_name_of_its_company() {
    let nested = format!(r#","Account":{{"Id":"{}","Name":"Acme"}}"#, id(9));
    let s = one(&[contact_row_with(1, &id(9), &nested)]);
    assert_eq!(s.kind, SubscriberKind::Contact);
    assert_eq!(s.account_id.map(|a| a.to_string()), Some(id(9)));
    assert_eq!(s.account_name.as_deref(), Some("Acme"));
}

#[test]
fn contact_without_the_nested_account_has_no_company_name_and_no_error() {
    let zero = "00000000-0000-0000-0000-000000000000";
    let cases = [
        (
            "the server ignored the nested $expand",
            contact_row_with(1, &id(9), ""),
            Some(id(9)),
        ),
        (
            "no account: null",
            contact_row_with(1, zero, r#","Account":null"#),
            None,
        ),
        (
            "an account without a name",
            contact_row_with(1, &id(9), &format!(r#","Account":{{"Id":"{}","Name":""}}"#, id(9))),
            Some(id(9)),
        ),
    ];
    for (why, row, account_id) in cases {
        let s = one(&[row]);
        assert_eq!(s.account_name, None, "{why}");
        assert_eq!(s.account_id.map(|a| a.to_string()), account_id, "{why}");
    }
}

#[test]
fn nested_account_fills_a_missing_account_id() {
    let nested = format!(r#","Account":{{"Id":"{}","Name":"Acme"}}"#, id(9));
    let row = contact_row_with(1, "00000000-0000-0000-0000-000000000000", &nested);
    let s = one(&[row]);
    assert_eq!(s.account_id.map(|a| a.to_string()), Some(id(9)));
    assert_eq!(s.account_name.as_deref(), Some("Acme"));
}

#[test]
fn subscriber_serialized_before_company_names_still_loads() {
    let old = format!(
        r#"{{"kind":"Contact","id":"{}","name":"Ivan","account_id":"{}",
            "number":"+7 495 123-45-67","communication_type":null}}"#,
        id(1),
        id(9)
    );
    let s: creatio::identify::Subscriber = serde_json::from_str(&old).unwrap();
    assert_eq!(s.account_name, None);
    let round: creatio::identify::Subscriber =
        serde_json::from_value(serde_json::to_value(Identification::One(s.clone())).unwrap()["One"].clone()).unwrap();
    assert_eq!(round, s);
}

#[test]
fn several_subscribers_contacts_first_and_at_most_twenty() {
    let result = run(
        &[contact_row(1, 1, "Ivan", None), contact_row(2, 2, "Olga", None)],
        &[account_row(1, 5, "Acme"), account_row(2, 5, "Acme")],
    );
    let Identification::Several(all) = result else {
        panic!("expected several, got {result:?}");
    };
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Ivan", "Olga", "Acme"]);

    let many: Vec<String> = (1..=30).map(|n| contact_row(n, n, "Same", None)).collect();
    let Identification::Several(capped) = run(&many, &[account_row(1, 99, "Late")]) else {
        panic!("expected several");
    };
    assert_eq!(capped.len(), 20);
    assert!(capped.iter().all(|s| s.kind == SubscriberKind::Contact));
}

#[test]
fn nobody_found() {
    assert_eq!(run(&[], &[]), Identification::None);
}

#[test]
fn refused_or_garbled_answers_are_errors() {
    let mut lookup = Lookup::new(key("+74951234567").unwrap(), &IdentifyConfig::default());
    let refused = HttpResponse::json(
        400,
        r#"{"error":{"code":"","message":"x","innererror":{"message":"Unknown column"}}}"#,
    );
    assert_eq!(
        lookup.handle(LookupPart::Contacts, &refused),
        Err(LookupError::Rejected {
            status: 400,
            message: "Unknown column".into()
        })
    );
    let garbled = HttpResponse::json(200, r#"{"value":[{"Number":5}]}"#);
    assert!(matches!(
        lookup.handle(LookupPart::Contacts, &garbled),
        Err(LookupError::Malformed(_))
    ));
}

#[test]
fn cache_expires_and_evicts_the_oldest() {
    let start = Instant::now();
    let mut cache = IdentifyCache::new(Duration::from_secs(60), 2);
    let (a, b, c) = (
        key("1111111").unwrap(),
        key("2222222").unwrap(),
        key("3333333").unwrap(),
    );
    cache.insert(start, a.clone(), Identification::None);
    cache.insert(start + Duration::from_secs(1), b.clone(), Identification::None);
    assert_eq!(
        cache.get(start + Duration::from_secs(59), &a),
        Some(&Identification::None)
    );
    assert_eq!(cache.get(start + Duration::from_secs(60), &a), None);
    cache.insert(start + Duration::from_secs(2), c.clone(), Identification::None);
    assert_eq!(cache.get(start + Duration::from_secs(3), &a), None, "oldest evicted");
    assert!(cache.get(start + Duration::from_secs(3), &b).is_some());
    assert!(cache.get(start + Duration::from_secs(3), &c).is_some());
    // +7 and 8 spellings share one entry.
    assert_eq!(key("+7 495 111-11-11"), key("8 (495) 1111111"));
}

#[test]
fn identifier_asks_once_then_answers_from_the_cache() {
    let start = Instant::now();
    let mut identifier = Identifier::new(IdentifyConfig::default());
    assert!(matches!(
        identifier.start(start, "anonymous"),
        Start::Known(Identification::None)
    ));
    let Start::Ask(mut lookup) = identifier.start(start, "+7 495 123-45-67") else {
        panic!("expected a lookup");
    };
    assert_eq!(lookup.requests().len(), 2);
    assert_eq!(identifier.finish(start, &lookup), None, "not answered yet");
    lookup
        .handle(LookupPart::Contacts, &collection(&[contact_row(1, 1, "Ivan", None)]))
        .unwrap();
    lookup.handle(LookupPart::Accounts, &collection(&[])).unwrap();
    let found = identifier.finish(start, &lookup).unwrap();
    assert!(matches!(found, Identification::One(_)));
    let Start::Known(again) = identifier.start(start + Duration::from_secs(10), "8 (495) 1234567") else {
        panic!("expected the cached answer");
    };
    assert_eq!(again, found);
    assert!(matches!(
        identifier.start(start + Duration::from_secs(61), "84951234567"),
        Start::Ask(_)
    ));
    identifier.set_lengths(NumberLengths::from_settings(Some(10), Some(3)));
    assert!(matches!(
        identifier.start(start + Duration::from_secs(11), "84951234567"),
        Start::Ask(_)
    ));
}

#[test]
fn number_lengths_come_from_the_system_settings_answer() {
    let request = settings_query();
    assert_eq!(
        request.resource,
        "SysSettingsValue?$filter=SysSettings/Code%20eq%20'SearchNumberLength'%20or%20\
         SysSettings/Code%20eq%20'InternalNumberLength'\
         &$select=IntegerValue,SysSettingsId&$expand=SysSettings"
    );
    let answer = HttpResponse::json(
        200,
        r#"{"value":[
            {"IntegerValue":10,"SysSettingsId":"00000000-0000-4000-8000-000000000001","SysSettings":{"Code":"SearchNumberLength"}},
            {"IntegerValue":4,"SysSettings":{"Code":"InternalNumberLength","Name":"x"}}]}"#,
    );
    assert_eq!(
        lengths_from_settings(&answer).unwrap(),
        NumberLengths {
            search: 10,
            internal: 4
        }
    );
    let partial = HttpResponse::json(
        200,
        r#"{"value":[{"IntegerValue":null,"SysSettings":{"Code":"SearchNumberLength"}}]}"#,
    );
    assert_eq!(lengths_from_settings(&partial).unwrap(), NumberLengths::default());
    assert!(matches!(
        lengths_from_settings(&HttpResponse::new(403)),
        Err(LookupError::Rejected { status: 403, .. })
    ));
}

#[test]
fn a_creatio_that_refuses_the_nested_company_is_asked_plainly_once() {
    let mut lookup = Lookup::new(key("+74951234567").unwrap(), &IdentifyConfig::default());
    let refused = HttpResponse::json(
        400,
        r#"{"error":{"code":"","message":"The query specified in the URI is not valid."}}"#,
    );
    let plain = lookup
        .fallback(LookupPart::Contacts, &refused)
        .expect("a plain contact query after the 400");
    assert!(
        plain.resource.contains("&$expand=Contact&$orderby="),
        "{}",
        plain.resource
    );
    assert!(!plain.resource.contains("Account"), "{}", plain.resource);
    assert_eq!(
        lookup.fallback(LookupPart::Contacts, &refused),
        None,
        "the plain query is tried once; its own 400 is an error"
    );
    assert!(lookup.handle(LookupPart::Contacts, &refused).is_err());

    let mut other = Lookup::new(key("+74951234567").unwrap(), &IdentifyConfig::default());
    assert_eq!(
        other.fallback(LookupPart::Accounts, &refused),
        None,
        "the account query has no nesting"
    );
    assert_eq!(
        other.fallback(LookupPart::Contacts, &HttpResponse::json(500, "{}")),
        None,
        "only a refusal of the query falls back"
    );
    let without = IdentifyConfig {
        company_names: false,
        ..IdentifyConfig::default()
    };
    let mut plain_only = Lookup::new(key("+74951234567").unwrap(), &without);
    assert_eq!(plain_only.fallback(LookupPart::Contacts, &refused), None);

    // After the fallback the plain answer completes the lookup as usual.
    lookup = Lookup::new(key("+74951234567").unwrap(), &IdentifyConfig::default());
    lookup.fallback(LookupPart::Contacts, &refused).unwrap();
    lookup
        .handle(
            LookupPart::Contacts,
            &collection(&[contact_row(1, 2, "Иван Петров", Some(3))]),
        )
        .unwrap();
    lookup.handle(LookupPart::Accounts, &collection(&[])).unwrap();
    let Identification::One(subscriber) = lookup.result().unwrap() else {
        panic!("one contact");
    };
    assert_eq!(subscriber.name, "Иван Петров");
    assert_eq!(subscriber.account_name, None);
}
