//! Event delivery rules: events go only to sockets that subscribed to them, and subscribing to a
//! group name covers its members (PROTOCOL.md §1.7).

/// The members that a group subscription stands for; empty for a plain event name.
pub(crate) fn expand_subscription(name: &str) -> &'static [&'static str] {
    match name {
        "dynamic" => &["executemethod", "cancelmethod"],
        "dynamicwaitabort" => &["executemethodwaitaborted"],
        "chat" => &[
            "chatmessageviewed",
            "chatmessage",
            "chatmemberremoved",
            "chatmemberadded",
            "chatnamechanged",
            "chatcreated",
        ],
        "dlgcard" => &[
            "dlgcard_showreserve",
            "dlgcard_showconfirm",
            "dlgcard_showformstop",
            "dlgcard_showformdialog",
            "dlgcard_closeall",
            "dlgcard_closereserve",
            "dlgcard_closeformreturnvalues",
            "dlgcard_closeformreturncomment",
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use crate::oktell::connection::Connection;

    #[test]
    fn group_subscription_covers_its_members_only() {
        let mut connection = Connection::new();
        connection.subscribe(["chat"]);
        assert!(connection.is_subscribed("chatmessage"));
        assert!(connection.is_subscribed("chat"));
        assert!(!connection.is_subscribed("linestatechanged"));
    }

    #[test]
    fn subscription_names_are_case_insensitive() {
        let mut connection = Connection::new();
        connection.subscribe(["LineStateChanged"]);
        assert!(connection.is_subscribed("linestatechanged"));
    }
}
