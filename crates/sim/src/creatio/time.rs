//! Instants as Creatio writes them: UTC, `Z`, seven fraction digits (§3.1), and the HTTP date
//! of a cookie's `expires`.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// The "empty date" of Creatio's answers.
pub const EMPTY_DATE: &str = "0001-01-01T00:00:00Z";

/// `2024-09-16T07:46:44.5045174Z`.
pub fn format(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| EMPTY_DATE.to_owned())
}

/// A written instant (RFC 3339, any offset) in Creatio's stored form; `None` if unreadable.
pub fn parse_instant(text: &str) -> Option<String> {
    if text == EMPTY_DATE {
        return Some(EMPTY_DATE.to_owned());
    }
    OffsetDateTime::parse(text, &Rfc3339).ok().map(format)
}

/// `Tue, 24 Nov 2026 22:00:00 GMT` for a cookie's `expires`.
pub fn http_date(t: OffsetDateTime) -> String {
    let format =
        format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    t.to_offset(UtcOffset::UTC).format(&format).unwrap_or_default()
}
