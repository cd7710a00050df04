//! The few texts the shell shows outside any window — the tray menu and tooltip, desktop notifications — in the
//! operator's language. The windows translate themselves (`ui/i18n.js`); these must follow the same choice, or a
//! Russian-speaking operator meets an English menu in the one place that is always on screen.

use runtime::config::Language;
use tauri::{AppHandle, Manager, Runtime};

use super::Desktop;

/// The language the operator chose for the app now (`Auto` before the desktop state exists).
pub fn current<R: Runtime>(app: &AppHandle<R>) -> Lang {
    let choice = app
        .try_state::<Desktop>()
        .map_or(Language::Auto, |desktop| desktop.language());
    Lang::of(choice)
}

/// A language the shell has texts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// The language for the operator's choice; `Auto` follows the session's locale, as the windows do.
    pub fn of(choice: Language) -> Lang {
        match choice {
            Language::En => Lang::En,
            Language::Ru => Lang::Ru,
            Language::Auto => Lang::from_locale(|name| std::env::var(name).ok()),
        }
    }

    /// POSIX precedence: `LC_ALL`, then `LC_MESSAGES`, then `LANG`; the first one set decides (`ru_RU.UTF-8` →
    /// Russian, anything else → English).
    fn from_locale(lookup: impl Fn(&str) -> Option<String>) -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(lookup)
            .find(|value| !value.is_empty())
            .unwrap_or_default();
        if locale.to_ascii_lowercase().starts_with("ru") {
            Lang::Ru
        } else {
            Lang::En
        }
    }
}

/// Every text the shell shows by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    ShowPanel,
    Status,
    Ready,
    ReadyCallCenter,
    Break,
    DoNotDisturb,
    Settings,
    Quit,
    TrayOffline,
    TrayReady,
    TrayRinging,
    TrayTalking,
    TrayBreak,
    IncomingCall,
    HotkeysUnavailable,
    HotkeysTaken,
}

impl Text {
    /// Every text, for the completeness test.
    #[cfg(test)]
    const ALL: [Text; 16] = [
        Text::ShowPanel,
        Text::Status,
        Text::Ready,
        Text::ReadyCallCenter,
        Text::Break,
        Text::DoNotDisturb,
        Text::Settings,
        Text::Quit,
        Text::TrayOffline,
        Text::TrayReady,
        Text::TrayRinging,
        Text::TrayTalking,
        Text::TrayBreak,
        Text::IncomingCall,
        Text::HotkeysUnavailable,
        Text::HotkeysTaken,
    ];

    /// The text in `lang`. `HotkeysTaken` is followed by the list of shortcuts.
    pub fn in_lang(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.english(),
            Lang::Ru => self.russian(),
        }
    }

    fn english(self) -> &'static str {
        match self {
            Text::ShowPanel => "Show panel",
            Text::Status => "Status",
            Text::Ready => "Ready",
            Text::ReadyCallCenter => "Ready (call centre)",
            Text::Break => "Break",
            Text::DoNotDisturb => "Do not disturb",
            Text::Settings => "Settings…",
            Text::Quit => "Quit",
            Text::TrayOffline => "Oktell Panel — offline",
            Text::TrayReady => "Oktell Panel — ready",
            Text::TrayRinging => "Oktell Panel — incoming call",
            Text::TrayTalking => "Oktell Panel — in a call",
            Text::TrayBreak => "Oktell Panel — on a break",
            Text::IncomingCall => "Incoming call",
            Text::HotkeysUnavailable => "Hotkeys not available",
            Text::HotkeysTaken => "Another application may use these shortcuts; choose others in the settings:",
        }
    }

    fn russian(self) -> &'static str {
        match self {
            Text::ShowPanel => "Показать панель",
            Text::Status => "Статус",
            Text::Ready => "Готов",
            Text::ReadyCallCenter => "Готов (колл-центр)",
            Text::Break => "Перерыв",
            Text::DoNotDisturb => "Не беспокоить",
            Text::Settings => "Настройки…",
            Text::Quit => "Выйти",
            Text::TrayOffline => "Oktell Panel — нет связи",
            Text::TrayReady => "Oktell Panel — готов",
            Text::TrayRinging => "Oktell Panel — входящий звонок",
            Text::TrayTalking => "Oktell Panel — разговор",
            Text::TrayBreak => "Oktell Panel — перерыв",
            Text::IncomingCall => "Входящий звонок",
            Text::HotkeysUnavailable => "Горячие клавиши недоступны",
            Text::HotkeysTaken => "Эти сочетания, возможно, заняты другой программой; выберите другие в настройках:",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn auto_follows_the_locale_with_posix_precedence() {
        assert_eq!(Lang::from_locale(locale(&[("LANG", "ru_RU.UTF-8")])), Lang::Ru);
        assert_eq!(Lang::from_locale(locale(&[("LANG", "en_GB.UTF-8")])), Lang::En);
        assert_eq!(
            Lang::from_locale(locale(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "ru_RU.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale(locale(&[("LC_ALL", ""), ("LC_MESSAGES", "ru_UA"), ("LANG", "C")])),
            Lang::Ru,
            "an empty LC_ALL does not count"
        );
        assert_eq!(Lang::from_locale(locale(&[])), Lang::En);
    }

    #[test]
    fn a_chosen_language_wins_over_the_locale() {
        assert_eq!(Lang::of(Language::Ru), Lang::Ru);
        assert_eq!(Lang::of(Language::En), Lang::En);
    }

    #[test]
    fn every_text_is_translated() {
        for text in Text::ALL {
            let (en, ru) = (text.in_lang(Lang::En), text.in_lang(Lang::Ru));
            assert!(!en.is_empty() && !ru.is_empty(), "{text:?}");
            assert_ne!(en, ru, "{text:?} is not translated");
            assert!(
                ru.chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))),
                "{text:?} has no Russian words: {ru}"
            );
        }
    }
}
