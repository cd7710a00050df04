//! "New contact with this number" (§7): Creatio has no URL that pre-fills a new contact, so the
//! panel creates the contact and its phone communication over OData and then opens the card.

use uuid::Uuid;

use crate::http::Method;
use crate::session::ApiRequest;
use crate::wire::COMMUNICATION_TYPE_MOBILE_PHONE;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct NewContact<'a> {
    id: Uuid,
    name: &'a str,
}

/// A communication row; Creatio fills `SearchNumber` and mirrors the number into the contact's
/// `MobilePhone` itself (§4.1), so the client must not write either.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct NewContactCommunication<'a> {
    id: Uuid,
    contact_id: Uuid,
    communication_type_id: Uuid,
    number: &'a str,
}

/// The two POSTs, in the order they must succeed: the contact, then its mobile number.
/// Ids are chosen by the caller so a retry cannot create a second contact.
pub fn new_contact_with_number(contact_id: Uuid, communication_id: Uuid, name: &str, number: &str) -> [ApiRequest; 2] {
    let contact = NewContact { id: contact_id, name };
    let communication = NewContactCommunication {
        id: communication_id,
        contact_id,
        communication_type_id: COMMUNICATION_TYPE_MOBILE_PHONE,
        number,
    };
    [
        ApiRequest {
            method: Method::Post,
            resource: "Contact".into(),
            body: serde_json::to_vec(&contact).ok(),
        },
        ApiRequest {
            method: Method::Post,
            resource: "ContactCommunication".into(),
            body: serde_json::to_vec(&communication).ok(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_then_mobile_communication() {
        let contact = Uuid::from_u128(1);
        let comm = Uuid::from_u128(2);
        let [first, second] = new_contact_with_number(contact, comm, "New caller", "+7 495 123-45-67");
        assert_eq!((first.method, first.resource.as_str()), (Method::Post, "Contact"));
        let body: serde_json::Value = serde_json::from_slice(first.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Id": contact.to_string(), "Name": "New caller"})
        );
        assert_eq!(second.resource, "ContactCommunication");
        let body: serde_json::Value = serde_json::from_slice(second.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "Id": comm.to_string(),
                "ContactId": contact.to_string(),
                "CommunicationTypeId": "d4a2dc80-30ca-df11-9b2a-001d60e938c6",
                "Number": "+7 495 123-45-67"
            })
        );
    }
}
