//! The UI's dictionaries (`ui/i18n.js`) against the keys the model declares: every key in both
//! languages, the same `{name}` places as its parameters, every plural form Russian needs, and
//! the English dictionary saying exactly what the model's English text says.

use std::collections::HashMap;

use super::tests::samples;
use super::{Key, Param, Sentence};

/// A dictionary entry: one text, or plural forms by CLDR category.
#[derive(Debug, Clone)]
enum Entry {
    Text(String),
    Plural(HashMap<String, String>),
}

impl Entry {
    fn texts(&self) -> Vec<&str> {
        match self {
            Entry::Text(text) => vec![text],
            Entry::Plural(forms) => forms.values().map(String::as_str).collect(),
        }
    }
}

fn i18n_js() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/i18n.js");
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// A small reader for the dictionary part of i18n.js: `"key": "text",`, `"key": { one: "..", other: ".." },`
/// and `//` comments, nothing else.
struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    fn skip_blank(&mut self) {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with("//") {
                self.rest = self.rest.split_once('\n').map_or("", |(_, after)| after);
            } else {
                return;
            }
        }
    }

    fn eat(&mut self, token: char) {
        self.skip_blank();
        let Some(after) = self.rest.strip_prefix(token) else {
            panic!(
                "expected {token:?} at {:?}",
                self.rest.chars().take(60).collect::<String>()
            );
        };
        self.rest = after;
    }

    fn string(&mut self) -> String {
        self.eat('"');
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[at + 1..];
                    return out;
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                c => out.push(c),
            }
        }
        panic!("unterminated string");
    }

    fn word(&mut self) -> String {
        self.skip_blank();
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word.to_owned()
    }

    fn entry(&mut self) -> Entry {
        self.skip_blank();
        if self.rest.starts_with('"') {
            return Entry::Text(self.string());
        }
        self.eat('{');
        let mut forms = HashMap::new();
        loop {
            self.skip_blank();
            if let Some(after) = self.rest.strip_prefix('}') {
                self.rest = after;
                return Entry::Plural(forms);
            }
            let form = self.word();
            self.eat(':');
            forms.insert(form, self.string());
            self.skip_blank();
            if let Some(after) = self.rest.strip_prefix(',') {
                self.rest = after;
            }
        }
    }
}

/// The `lang` dictionary of i18n.js: from `    lang: {` to its closing `    },`.
fn dictionary(source: &str, lang: &str) -> HashMap<String, Entry> {
    let open = format!("\n    {lang}: {{\n");
    let start = source.find(&open).unwrap_or_else(|| panic!("no {lang} dictionary")) + open.len();
    let len = source[start..].find("\n    },").expect("the dictionary's end");
    let mut reader = Reader {
        rest: &source[start..start + len],
    };
    let mut entries = HashMap::new();
    loop {
        reader.skip_blank();
        if reader.rest.is_empty() {
            return entries;
        }
        let key = reader.string();
        reader.eat(':');
        let entry = reader.entry();
        assert!(entries.insert(key.clone(), entry).is_none(), "{lang}: {key} twice");
        reader.skip_blank();
        if let Some(after) = reader.rest.strip_prefix(',') {
            reader.rest = after;
        }
    }
}

/// The `{name}` places of a text.
fn places(text: &str) -> Vec<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn every_key_the_model_declares_is_in_both_dictionaries_with_its_parameters() {
    let source = i18n_js();
    for (lang, forms) in [
        ("en", ["one", "other"].as_slice()),
        ("ru", &["one", "few", "many", "other"]),
    ] {
        let words = dictionary(&source, lang);
        for key in Key::ALL {
            let entry = words
                .get(key.as_str())
                .unwrap_or_else(|| panic!("ui/i18n.js has no {lang} text for {key}"));
            let mut declared = key.params().to_vec();
            declared.sort_unstable();
            for text in entry.texts() {
                let mut used = places(text);
                used.sort_unstable();
                used.dedup();
                assert_eq!(used, declared, "{lang} {key}: {text:?}");
            }
            if let Entry::Plural(given) = entry {
                assert!(
                    key.params().contains(&"count"),
                    "{lang} {key}: plural forms without a count"
                );
                for form in forms {
                    assert!(given.contains_key(*form), "{lang} {key}: no {form:?} form");
                }
            }
        }
    }
}

/// What panel.js shows for a sentence in English: i18n.js's `sentence()` with CLDR's English plurals and a
/// capital letter for a term that starts the sentence.
fn english(words: &HashMap<String, Entry>, sentence: &Sentence) -> String {
    let text = match words.get(sentence.key.as_str()).expect("an English text") {
        Entry::Text(text) => text.clone(),
        Entry::Plural(forms) => {
            let form = match sentence.params.get("count") {
                Some(Param::Count(1)) => "one",
                _ => "other",
            };
            forms.get(form).expect("the form").clone()
        }
    };
    let mut out = text;
    for (name, param) in &sentence.params {
        let value = match param {
            Param::Count(n) => n.to_string(),
            Param::Text(text) => text.clone(),
            Param::Term { term } => match words.get(term.as_str()) {
                Some(Entry::Text(text)) if out.starts_with(&format!("{{{name}}}")) => capitalised(text),
                Some(Entry::Text(text)) => text.clone(),
                _ => panic!("no English term {term}"),
            },
        };
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[test]
fn the_english_dictionary_says_what_the_models_english_text_says() {
    let words = dictionary(&i18n_js(), "en");
    for sentence in samples() {
        assert_eq!(english(&words, &sentence), sentence.text, "{}", sentence.key);
    }
    let one = super::Status::CreatioRejected { count: 1 };
    assert_eq!(english(&words, &super::Phrase::sentence(&one)), one.to_string());
}

#[test]
fn the_reader_reads_texts_plural_forms_and_comments() {
    let source = "x\n    en: {\n      // words\n      \"a.b\": \"A {n}\",\n      \"c\":\n        { one: \"1\", other: \"{count}\" },\n    },\n";
    let words = dictionary(source, "en");
    assert!(words.contains_key("a.b") && words.contains_key("c"));
    assert!(!words.contains_key("refusal.no_call"));
    assert_eq!(places("A {n} and {m}."), ["n", "m"]);
}
