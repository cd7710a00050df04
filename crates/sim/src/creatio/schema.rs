//! The entity schemas the stand-in serves (CREATIO.md §3.1, §4.1, §4.4, §5.1): which columns each
//! collection has, their OData types, and where lookups point.
//!
//! Every entity carries the base columns `Id`, `CreatedOn`, `CreatedById`, `ModifiedOn`,
//! `ModifiedById` and `ProcessListeners`. A lookup column `<Col>` appears as the property
//! `<Col>Id` holding a GUID, and as the navigation property `<Col>` usable in `$expand`, filter
//! paths and `$orderby` when its target is a collection of this stand-in.

/// An OData property type, reduced to what the panel's columns need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Guid,
    Text,
    Int,
    Bool,
    DateTime,
}

/// One property of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The OData property name (`AccountId` for the lookup `Account`).
    pub name: &'static str,
    pub kind: Kind,
    /// For a lookup: the navigation property name and the collection it points to, `None` when
    /// the target is a collection the stand-in does not serve (`ResultId`, `NonActualReasonId`).
    pub lookup: Option<Lookup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    pub navigation: &'static str,
    pub target: Option<&'static str>,
}

/// One collection: its name and columns in the order Creatio's answers list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub name: &'static str,
    pub columns: Vec<Column>,
}

impl Schema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The lookup column behind a navigation property.
    pub fn navigation(&self, navigation: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.lookup.is_some_and(|l| l.navigation == navigation))
    }
}

pub const CONTACT: &str = "Contact";
pub const ACCOUNT: &str = "Account";
pub const CONTACT_COMMUNICATION: &str = "ContactCommunication";
pub const ACCOUNT_COMMUNICATION: &str = "AccountCommunication";
pub const COMMUNICATION_TYPE: &str = "CommunicationType";
pub const CALL_DIRECTION: &str = "CallDirection";
pub const CALL: &str = "Call";
pub const CONTACT_TYPE: &str = "ContactType";
pub const SYS_SETTINGS: &str = "SysSettings";
pub const SYS_SETTINGS_VALUE: &str = "SysSettingsValue";
/// Users and roles; a user's row names its login (`Name`) and its contact (`ContactId`), which
/// is how a client finds "my calls" (`Call.CreatedById`, §5.4).
pub const SYS_ADMIN_UNIT: &str = "SysAdminUnit";

const fn plain(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        lookup: None,
    }
}

const fn text(name: &'static str) -> Column {
    plain(name, Kind::Text)
}

const fn lookup(name: &'static str, navigation: &'static str, target: Option<&'static str>) -> Column {
    Column {
        name,
        kind: Kind::Guid,
        lookup: Some(Lookup { navigation, target }),
    }
}

fn entity(name: &'static str, own: &[Column]) -> Schema {
    let mut columns = vec![
        plain("Id", Kind::Guid),
        plain("CreatedOn", Kind::DateTime),
        lookup("CreatedById", "CreatedBy", Some(CONTACT)),
        plain("ModifiedOn", Kind::DateTime),
        lookup("ModifiedById", "ModifiedBy", Some(CONTACT)),
        plain("ProcessListeners", Kind::Int),
    ];
    columns.extend_from_slice(own);
    Schema { name, columns }
}

/// The columns of `BaseCommunication` shared by both communication tables (§4.1).
const COMMUNICATION: [Column; 9] = [
    lookup("CommunicationTypeId", "CommunicationType", Some(COMMUNICATION_TYPE)),
    text("Number"),
    plain("Position", Kind::Int),
    text("SocialMediaId"),
    text("SearchNumber"),
    plain("Primary", Kind::Bool),
    plain("NonActual", Kind::Bool),
    lookup("NonActualReasonId", "NonActualReason", None),
    plain("DateSetNonActual", Kind::DateTime),
];

/// Every collection the stand-in serves.
pub fn all() -> Vec<Schema> {
    let mut contact_communication = vec![
        lookup("ContactId", "Contact", Some(CONTACT)),
        plain("IsCreatedBySynchronization", Kind::Bool),
        text("ExternalCommunicationType"),
    ];
    contact_communication.extend_from_slice(&COMMUNICATION);
    let mut account_communication = vec![lookup("AccountId", "Account", Some(ACCOUNT))];
    account_communication.extend_from_slice(&COMMUNICATION);
    vec![
        entity(
            CONTACT,
            &[
                text("Name"),
                text("Surname"),
                text("GivenName"),
                text("MiddleName"),
                lookup("OwnerId", "Owner", Some(CONTACT)),
                lookup("AccountId", "Account", Some(ACCOUNT)),
                lookup("TypeId", "Type", Some(CONTACT_TYPE)),
                text("JobTitle"),
                plain("BirthDate", Kind::DateTime),
                text("Phone"),
                text("MobilePhone"),
                text("HomePhone"),
                text("Skype"),
                text("Email"),
                text("Address"),
                text("Notes"),
            ],
        ),
        entity(
            ACCOUNT,
            &[
                text("Name"),
                lookup("OwnerId", "Owner", Some(CONTACT)),
                lookup("PrimaryContactId", "PrimaryContact", Some(CONTACT)),
                lookup("TypeId", "Type", None),
                text("Code"),
                text("Phone"),
                text("AdditionalPhone"),
                text("Fax"),
                text("Web"),
                text("Address"),
                text("Notes"),
            ],
        ),
        entity(CONTACT_COMMUNICATION, &contact_communication),
        entity(ACCOUNT_COMMUNICATION, &account_communication),
        entity(COMMUNICATION_TYPE, &[text("Name"), text("Description")]),
        entity(CALL_DIRECTION, &[text("Name"), text("Description"), text("Code")]),
        entity(CONTACT_TYPE, &[text("Name"), text("Description")]),
        entity(
            CALL,
            &[
                text("Caption"),
                text("IntegrationId"),
                text("ParentCallId"),
                text("CallerId"),
                text("CalledId"),
                text("RedirectingId"),
                text("RedirectionId"),
                plain("StartDate", Kind::DateTime),
                plain("EndDate", Kind::DateTime),
                plain("Duration", Kind::Int),
                plain("BeforeConnectionTime", Kind::Int),
                plain("TalkTime", Kind::Int),
                plain("HoldTime", Kind::Int),
                lookup("DirectionId", "Direction", Some(CALL_DIRECTION)),
                lookup("ContactId", "Contact", Some(CONTACT)),
                lookup("AccountId", "Account", Some(ACCOUNT)),
                lookup("ResultId", "Result", None),
                text("Comment"),
                text("Notes"),
                lookup("ActivityId", "Activity", None),
                text("GloballyUniqueCallLinkageId"),
            ],
        ),
        entity(SYS_SETTINGS, &[text("Code"), text("Name"), text("ValueTypeName")]),
        entity(
            SYS_ADMIN_UNIT,
            &[
                text("Name"),
                lookup("ContactId", "Contact", Some(CONTACT)),
                plain("Active", Kind::Bool),
            ],
        ),
        entity(
            SYS_SETTINGS_VALUE,
            &[
                lookup("SysSettingsId", "SysSettings", Some(SYS_SETTINGS)),
                lookup("SysAdminUnitId", "SysAdminUnit", None),
                plain("IntegerValue", Kind::Int),
                text("TextValue"),
                plain("BooleanValue", Kind::Bool),
            ],
        ),
    ]
}
