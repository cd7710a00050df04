//! Phone numbers as the panel compares and shows them.
//!
//! Oktell reports national forms (`89161234567`), SIP peers often E.164 (`+79161234567`) or
//! short extensions (`102`). Two numbers are the same party when their digits agree on the
//! national significant part: the last ten digits when both have at least ten, the whole
//! digit string otherwise. Display follows oktell.js `formatPhone` (PROTOCOL.md §5.10).

/// The decimal digits of a number, in order.
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// Digits compared when matching parties across systems.
const SIGNIFICANT: usize = 10;

/// Whether two numbers name the same party (see the module docs). Numbers without digits
/// (anonymous, SIP user names) never match anything.
pub fn same_number(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a.len() >= SIGNIFICANT && b.len() >= SIGNIFICANT {
        return a.get(a.len() - SIGNIFICANT..) == b.get(b.len() - SIGNIFICANT..);
    }
    a == b
}

/// Formats a number for display (§5.10): `84951234567` → `+7 (495) 123-45-67`, `102` → `102`.
/// Several numbers separated by `,` or `;` are formatted one by one.
pub fn format(number: &str) -> String {
    number
        .split([',', ';'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(format_one)
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_one(number: &str) -> String {
    if number.contains('(') {
        return number.to_owned();
    }
    let cleaned = number.replace('+', "");
    let mut tokens = cleaned.split_whitespace();
    let Some(main) = tokens.next() else {
        return number.to_owned();
    };
    let extension: Vec<&str> = tokens.collect();
    let main = main.replace('-', "");
    if !main.chars().all(|c| c.is_ascii_digit()) {
        return number.to_owned();
    }
    let formatted = match main.len() {
        5 => group(&main, &[3, 2]),
        6 => group(&main, &[2, 2, 2]),
        7 => group(&main, &[3, 2, 2]),
        9 => format!("({}) {}", cut(&main, 0, 3), group(cut(&main, 3, 9), &[2, 2, 2])),
        10 => format!("({}) {}", cut(&main, 0, 3), group(cut(&main, 3, 10), &[3, 2, 2])),
        len @ 11..=14 => {
            let split = len - 10;
            let country = match cut(&main, 0, split) {
                "8" => "7",
                other => other,
            };
            let city = cut(&main, split, split + 3);
            format!("+{country} ({city}) {}", group(cut(&main, split + 3, len), &[3, 2, 2]))
        }
        _ => main,
    };
    if extension.is_empty() {
        formatted
    } else {
        format!("{formatted} {}", extension.join(" "))
    }
}

/// `s[from..to]`, or empty when out of range (never, for the ASCII digit strings above).
fn cut(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or_default()
}

/// Joins consecutive groups of the given sizes with dashes; `digits` is ASCII and exactly
/// as long as the sizes add up to (checked by the callers' length match).
fn group(digits: &str, sizes: &[usize]) -> String {
    let mut parts = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for size in sizes {
        parts.push(digits.get(at..at + size).unwrap_or_default());
        at += size;
    }
    parts.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_e164_forms_are_the_same_party() {
        assert!(same_number("89161234567", "+7 916 123-45-67"));
        assert!(same_number("102", "102"));
        assert!(!same_number("102", "103"));
        assert!(!same_number("anonymous", "anonymous"));
        assert!(!same_number("9161234567", "102"));
    }

    #[test]
    fn formats_like_oktell_js() {
        assert_eq!(format("84951234567"), "+7 (495) 123-45-67");
        assert_eq!(format("89161234567"), "+7 (916) 123-45-67");
        assert_eq!(format("102"), "102");
        assert_eq!(format("1234567"), "123-45-67");
        assert_eq!(format("4951234567"), "(495) 123-45-67");
        assert_eq!(format("+44 20 1234"), "44 20 1234");
        assert_eq!(format("12345; 84951234567"), "123-45, +7 (495) 123-45-67");
        assert_eq!(format("sip-user"), "sip-user");
    }
}
