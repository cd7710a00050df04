//! Nested `$expand` over HTTP, as OData 4 writes it: `$select` and `$expand` in an expand item's
//! parentheses shape the nested object, two levels deep; unknown names, malformed brackets and
//! deeper paths answer 400 with Creatio's OData error body.

use serde_json::Value;
use sim::World;

use crate::wire::{Login, call, login};
use crate::{Answer, start};

/// Татьяна Новикова (89257778899), who works for ООО «Ромашка».
const TATYANA: &str = "$filter=startswith(SearchNumber,'9988777')";
/// Виктор Егоров (+7 910 444-55-66), who works for no account.
const VIKTOR: &str = "$filter=startswith(SearchNumber,'6655444')";

async fn session(base: &str) -> Login {
    login(base, "op1", "demo").await.1.unwrap()
}

async fn get(base: &str, session: &Login, target: &str) -> Answer {
    call(base, session, "GET", target, None).await
}

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The only row of a collection answer.
fn only_row(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let value = answer.json()["value"].clone();
    assert_eq!(value.as_array().map(Vec::len), Some(1), "{value}");
    value[0].clone()
}

/// Asserts a 400 with the OData error body; returns the message.
fn odata_error(answer: &Answer, target: &str) -> String {
    assert_eq!(
        answer.status,
        400,
        "{target}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(
        answer
            .header("Content-Type")
            .is_some_and(|t| t.contains("odata.metadata=minimal")),
        "{target}"
    );
    let body = answer.json();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{target}: {body}");
    assert_eq!(body["error"]["innererror"]["message"], message.as_str(), "{target}");
    assert_eq!(
        body["error"]["innererror"]["type"], "Microsoft.OData.ODataException",
        "{target}"
    );
    message
}

#[tokio::test]
async fn nested_select_shapes_the_expanded_contact() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let session = session(&base).await;
    let answer = get(
        &base,
        &session,
        &format!("/0/odata/ContactCommunication?{TATYANA}&$select=Id,Number&$expand=Contact($select=Id,Name)"),
    )
    .await;
    let row = only_row(&answer);
    assert_eq!(keys(&row), ["Contact", "Id", "Number"]);
    assert_eq!(keys(&row["Contact"]), ["Id", "Name"]);
    assert_eq!(row["Contact"]["Name"], "Татьяна Новикова");
    let context = answer.json()["@odata.context"].as_str().unwrap().to_owned();
    assert!(
        context.ends_with("/0/odata/$metadata#ContactCommunication(Id,Number,Contact(Id,Name))"),
        "{context}"
    );

    let plain = only_row(
        &get(
            &base,
            &session,
            &format!("/0/odata/ContactCommunication?{TATYANA}&$expand=Contact"),
        )
        .await,
    );
    assert!(
        keys(&plain["Contact"]).len() > 10,
        "a plain expand still brings every column"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn two_levels_bring_the_company_of_the_contact() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let session = session(&base).await;
    let nested = "Contact($select=Id,Name,AccountId;$expand=Account($select=Id,Name))";
    let row = only_row(
        &get(
            &base,
            &session,
            &format!("/0/odata/ContactCommunication?{TATYANA}&$select=Id&$expand={nested}"),
        )
        .await,
    );
    let contact = &row["Contact"];
    assert_eq!(keys(contact), ["Account", "AccountId", "Id", "Name"]);
    assert_eq!(keys(&contact["Account"]), ["Id", "Name"]);
    assert_eq!(contact["Account"]["Name"], "ООО «Ромашка»");
    assert_eq!(contact["Account"]["Id"], contact["AccountId"]);

    let encoded = nested.replace(';', "%3B");
    let same = only_row(
        &get(
            &base,
            &session,
            &format!("/0/odata/ContactCommunication?{TATYANA}&$select=Id&$expand={encoded}"),
        )
        .await,
    );
    assert_eq!(same, row, "a percent-encoded ';' is the same query");

    let without = only_row(
        &get(
            &base,
            &session,
            &format!("/0/odata/ContactCommunication?{VIKTOR}&$select=Id&$expand={nested}"),
        )
        .await,
    );
    assert_eq!(without["Contact"]["Name"], "Виктор Егоров");
    assert_eq!(
        without["Contact"]["Account"],
        Value::Null,
        "no account: null, as Creatio answers"
    );

    let everything = only_row(
        &get(
            &base,
            &session,
            &format!("/0/odata/ContactCommunication?{TATYANA}&$expand=Contact($expand=Account)"),
        )
        .await,
    );
    assert_eq!(
        everything["Contact"]["JobTitle"], "Менеджер",
        "no nested $select: all columns"
    );
    assert_eq!(everything["Contact"]["Account"]["Name"], "ООО «Ромашка»");
    assert!(everything["Contact"]["Account"]["Phone"].is_string());

    let id = contact["Id"].as_str().unwrap();
    let entity = get(
        &base,
        &session,
        &format!("/0/odata/Contact({id})?$select=Name&$expand=Account($select=Name)"),
    )
    .await;
    assert_eq!(entity.status, 200);
    let entity = entity.json();
    assert_eq!(keys(&entity), ["@odata.context", "Account", "Name"]);
    assert_eq!(entity["Account"], serde_json::json!({"Name": "ООО «Ромашка»"}));
    assert!(
        entity["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#Contact(Name,Account(Name))/$entity"),
        "{entity}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_names_inside_an_expand_answer_400() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let session = session(&base).await;
    let cases = [
        ("Contact($expand=Nope)", ["Nope", "Contact"]),
        ("Contact($select=Id,Nope)", ["Nope", "Contact"]),
        ("Contact($expand=Account($select=Id,Bogus))", ["Bogus", "Account"]),
        ("Contact($expand=Account($expand=Nowhere))", ["Nowhere", "Account"]),
        ("Contact($bogus=1)", ["$bogus", "Contact"]),
    ];
    for (expand, words) in cases {
        let target = format!("/0/odata/ContactCommunication?$top=1&$expand={expand}");
        let message = odata_error(&get(&base, &session, &target).await, &target);
        for word in words {
            assert!(message.contains(word), "{target}: {message}");
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_nesting_answers_400() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let session = session(&base).await;
    let cases = [
        "Contact($select=Id",
        "Contact$select=Id)",
        "Contact($select=Id))",
        "Contact(($select=Id)",
        "Contact($select=Id)x",
        "Contact($select=Id)(Name)",
        "Contact()",
        "Contact($select=Id;)",
        "Contact(;$select=Id)",
        "Contact($select)",
        "Contact($select=Id;$select=Name)",
        "Contact($expand=Account;$expand=Owner)",
        "Contact($select='Id)",
        "Contact($top=1)",
        "Contact($filter=Name%20eq%20'a')",
    ];
    for expand in cases {
        let target = format!("/0/odata/ContactCommunication?$top=1&$expand={expand}");
        odata_error(&get(&base, &session, &target).await, &target);
    }
    let healthy = get(&base, &session, "/0/odata/ContactCommunication?$top=1&$expand=Contact").await;
    assert_eq!(healthy.status, 200, "refusals leave the stand-in serving");
    sim.shutdown().await;
}

#[tokio::test]
async fn expand_deeper_than_two_levels_answers_400() {
    let sim = start(World::default_world()).await;
    let base = sim.endpoints().creatio.clone();
    let session = session(&base).await;
    let target = "/0/odata/ContactCommunication?$top=1&$expand=Contact($expand=Account($expand=Owner))";
    let message = odata_error(&get(&base, &session, target).await, target);
    assert!(message.contains("too deep"), "{message}");
    let two = "/0/odata/Call?$top=1&$expand=Contact($expand=Account),Direction";
    assert_eq!(get(&base, &session, two).await.status, 200);
    sim.shutdown().await;
}
