//! Password digests of the Oktell `login` request (PROTOCOL.md §2.1).
//!
//! The clear-text password never leaves the client: oktell.js sends two MD5
//! digests computed over a home-made Windows-1251 conversion. We reproduce that
//! conversion byte for byte, including its quirks (characters it drops and the
//! out-of-byte values it produces), because the server stores digests made the
//! same way.

use md5::{Digest, Md5};

/// The two digests a password login carries.
///
/// `typed` goes into the `"Password"` field (capital P, password as typed),
/// `lowered` into the `"password"` field (password lower-cased first).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigests {
    /// MD5 hex of the password as typed: the `"Password"` field.
    pub typed: String,
    /// MD5 hex of the lower-cased password: the `"password"` field.
    pub lowered: String,
}

impl std::fmt::Debug for PasswordDigests {
    /// Digests are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDigests(..)")
    }
}

impl PasswordDigests {
    /// Computes both digests exactly as oktell.js 1.8.4 does.
    pub fn of(password: &str) -> PasswordDigests {
        PasswordDigests {
            typed: md5_cp1251_hex(password),
            lowered: md5_cp1251_hex(&password.to_lowercase()),
        }
    }
}

/// MD5 (lower-case hex) of the oktell.js Windows-1251 conversion of `text`.
///
/// Also used by password change (§3.12), which hashes without lower-casing.
pub fn md5_cp1251_hex(text: &str) -> String {
    let mut hasher = Md5::new();
    for unit in text.encode_utf16() {
        if let Some(byte) = cp1251_unit(unit) {
            hasher.update([byte]);
        }
    }
    hex(&hasher.finalize())
}

/// Maps one UTF-16 code unit the way oktell.js does, `None` when it is dropped.
///
/// oktell.js works on JavaScript strings (UTF-16 code units) and feeds
/// `code - 848` for every unit above 1024 that is not `Ё`/`ё`. For non-Cyrillic
/// characters that value does not fit a byte (§2.1 calls the digest
/// non-standard); we assume its MD5 keeps the low 8 bits, as byte-packing MD5
/// implementations in JavaScript do. That case is an inference, untested
/// against a server; ASCII and Cyrillic passwords are exact.
fn cp1251_unit(unit: u16) -> Option<u8> {
    match unit {
        0..=127 => Some(unit as u8),
        0x0401 => Some(0xA8),
        0x0451 => Some(0xB8),
        128..=1024 => None,
        _ => Some((unit.wrapping_sub(848) & 0xFF) as u8),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_password_matches_the_reference_digests() {
        let d = PasswordDigests::of("Secret1");
        assert_eq!(d.typed, "d6cb2342e44efb6dd628276f36da2359");
        assert_eq!(d.lowered, "e52d98c459819a11775936d8dfbb7929");
    }

    #[test]
    fn cyrillic_password_hashes_its_cp1251_bytes() {
        // "Пароль" is CF E0 F0 EE EB FC in CP1251.
        assert_eq!(md5_cp1251_hex("Пароль"), "08f8e03bd59a7c67dc44028b3e073d5e");
        assert_eq!(
            hex(&Md5::digest([0xCF, 0xE0, 0xF0, 0xEE, 0xEB, 0xFC])),
            "08f8e03bd59a7c67dc44028b3e073d5e"
        );
        let d = PasswordDigests::of("Пароль");
        assert_eq!(d.typed, "08f8e03bd59a7c67dc44028b3e073d5e");
        assert_eq!(d.lowered, md5_cp1251_hex("пароль"));
        assert_ne!(d.lowered, d.typed);
    }

    #[test]
    fn lowered_digest_ignores_case_even_for_cyrillic() {
        assert_eq!(PasswordDigests::of("ЖУК").lowered, PasswordDigests::of("жук").typed);
    }

    #[test]
    fn yo_letters_use_their_cp1251_positions() {
        // Ё -> A8, ё -> B8: different from the contiguous U+0410..U+044F block.
        assert_ne!(md5_cp1251_hex("Ё"), md5_cp1251_hex("Е"));
        assert_eq!(PasswordDigests::of("Ё").lowered, md5_cp1251_hex("ё"));
    }

    #[test]
    fn latin1_accents_are_dropped_before_hashing() {
        // pässwörd is hashed as psswrd.
        assert_eq!(md5_cp1251_hex("pässwörd"), md5_cp1251_hex("psswrd"));
    }

    #[test]
    fn mixed_password_hashes_ascii_and_cyrillic_bytes_in_order() {
        // "Pass123Ключ" is the bytes of "Pass123" then CA EB FE F7 in CP1251,
        // hashed here by the MD5 crate directly as an independent reference.
        let mut bytes = b"Pass123".to_vec();
        bytes.extend([0xCA, 0xEB, 0xFE, 0xF7]);
        assert_eq!(md5_cp1251_hex("Pass123Ключ"), hex(&Md5::digest(&bytes)));
        assert_eq!(
            PasswordDigests::of("Pass123Ключ").lowered,
            md5_cp1251_hex("pass123ключ")
        );
    }

    #[test]
    fn empty_password_is_md5_of_nothing() {
        assert_eq!(md5_cp1251_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn debug_output_hides_the_digests() {
        let text = format!("{:?}", PasswordDigests::of("Secret1"));
        assert!(!text.contains("d6cb"));
    }
}
