// The UI's words in Russian and English. Every window loads this file first
// (`<script src="i18n.js" defer></script>` before its own script) and gets `window.i18n`:
//
//   i18n.t(key, params)    the text of `key` in the current language; `{name}` in it is replaced by
//                          String(params.name); an unknown key falls back to English, then to the key itself.
//   i18n.language()        "ru" or "en": what is shown now.
//   i18n.choice()          "auto", "ru" or "en": what the operator chose ("auto" follows navigator.language).
//   i18n.choose(choice)    switches every window and keeps the choice in the configuration file (a Promise).
//   i18n.apply(root)       fills the text of `root` (default: document): elements with data-i18n="key" get
//                          t(key) as textContent; data-i18n-placeholder / data-i18n-title / data-i18n-aria-label
//                          set those attributes.
//   i18n.onChange(render)  calls render(language) after every language change (and once the choice is known),
//                          so a window re-renders the text it builds in code.
//   i18n.extend(dicts)     adds a window's own words: {en: {key: text}, ru: {key: text}}.
//
// Text only ever goes in through textContent and attributes: no markup in dictionaries.
"use strict";

(function () {
  const dictionaries = {
    en: {
      "app.name": "Oktell Panel",
      "popup.title": "Incoming call",
      "popup.incoming": "Incoming call",
      "popup.answer": "Answer",
      "popup.decline": "Decline",

      "settings.title": "Settings",
      "settings.accounts": "Servers and accounts",
      "settings.oktell": "Oktell",
      "settings.oktell.urls": "Servers (one per line)",
      "settings.oktell.login": "Login",
      "settings.sip": "SIP phone",
      "settings.sip.uri": "Address (sip:101@pbx.local)",
      "settings.sip.registrar": "Registrar (optional)",
      "settings.sip.auth_user": "Authentication user (optional)",
      "settings.sip.transport": "Transport",
      "settings.creatio": "Creatio",
      "settings.creatio.url": "Site address",
      "settings.creatio.user": "User",
      "settings.creatio.open_card": "Open the caller's card",
      "settings.open_card.ring": "when the call rings",
      "settings.open_card.answer": "when I answer",
      "settings.open_card.never": "only when I ask",
      "settings.password": "Password",
      "settings.password.saved": "saved",
      "settings.password.none": "not saved",
      "settings.password.no_account": "save the account first",
      "settings.password.unavailable": "the password store is not available",
      "settings.audio": "Audio devices",
      "settings.audio.input": "Microphone",
      "settings.audio.output": "Headset",
      "settings.audio.ringer": "Ringer",
      "settings.audio.default": "System default",
      "settings.audio.unavailable": "The device list is not available: {reason}",
      "settings.behaviour": "Behaviour",
      "settings.behaviour.ring_popup": "Show a popup for incoming calls (otherwise a notification)",
      "settings.behaviour.auto_answer_intercom": "Answer intercom calls automatically",
      "settings.behaviour.start_hidden": "Start in the tray",
      "settings.behaviour.autostart": "Start with the session",
      "settings.hotkeys": "Hotkeys",
      "settings.hotkeys.hint": "Like Ctrl+Alt+A or F9; leave empty to turn off.",
      "settings.hotkeys.answer": "Answer",
      "settings.hotkeys.hangup": "Hang up",
      "settings.hotkeys.hold": "Hold / resume",
      "settings.hotkeys.mute": "Mute",
      "settings.hotkey.active": "active",
      "settings.hotkey.off": "off",
      "settings.hotkey.taken": "not available: {detail}",
      "settings.hotkey.unsupported": "not available yet",
      "settings.language": "Language",
      "settings.language.auto": "System language",
      "settings.language.en": "English",
      "settings.language.ru": "Русский",
      "settings.save": "Save",
      "settings.close": "Close",
      "settings.file": "Configuration file: {file}",
      "settings.saving": "Saving…",
      "settings.saved": "Saved.",
      "settings.saved.restart": "Saved. Restart the panel to apply: {parts}.",
      "settings.restart.accounts": "servers and accounts",
      "settings.restart.audio": "audio devices",
      "settings.restart.call_behaviour": "call behaviour",
      "settings.error": "Not saved: {message}",
      "settings.password.error": "The {system} password was not saved: {message}",
      "settings.load.error": "The settings could not be read: {message}",
      "panel.swap": "Swap",
      "panel.connect": "Connect",
      "panel.conference": "Conference",
      "panel.conference.add": "Add to conference",
      "panel.conference.leave": "Leave conference",
      "panel.keypad": "Keypad",
      "panel.keypad.label": "Keypad (DTMF)",
      "panel.transfer": "Transfer…",
      "panel.transfer.to": "Transfer to",
      "panel.transfer.search": "Name or number",
      "panel.transfer.matches": "Directory matches",
      "panel.transfer.blind": "Transfer now",
      "panel.transfer.consult": "Consult first",
      "panel.held": "On hold",
      "panel.held.for": "on hold {time}",
      "panel.remote_hold": "the other side holds",
      "panel.mute": "Mute",
      "panel.settings": "Settings",
      "panel.unmute": "Unmute",
      "panel.backlog.waiting": "Call records waiting for Creatio: {count}",
      "panel.backlog.rejected": "refused by Creatio: {count}",
      "panel.backlog.waiting_because": "Call records waiting for Creatio: {count} — {reason}",
      "panel.backlog.export": "Export refused records",
      "panel.backlog.exported": "The refused call records were saved to {path}.",
      "panel.history.offline": "Creatio's call list is not available, showing the calls saved on this computer: {reason}",
      "panel.history.from_creatio": "From Creatio",
      "panel.quality.good": "Sound quality: good (MOS {mos})",
      "panel.quality.fair": "Sound quality: fair (MOS {mos})",
      "panel.quality.poor": "Sound quality: poor (MOS {mos})",
      "panel.history.call_back": "Call back",
      "panel.history.call_back_to": "Call back {name}",
      "panel.missed.count": "Missed: {count}",
      "panel.missed.mark": "Mark the missed calls as seen",
      "panel.presence.ready": "ready",
      "panel.presence.busy": "busy",
      "panel.presence.break": "on a break",
      "panel.presence.dnd": "do not disturb",
      "panel.presence.offline": "offline",
    },
    ru: {
      "app.name": "Oktell Panel",
      "popup.title": "Входящий звонок",
      "popup.incoming": "Входящий звонок",
      "popup.answer": "Ответить",
      "popup.decline": "Отклонить",

      "settings.title": "Настройки",
      "settings.accounts": "Серверы и учётные записи",
      "settings.oktell": "Oktell",
      "settings.oktell.urls": "Серверы (по одному в строке)",
      "settings.oktell.login": "Логин",
      "settings.sip": "SIP-телефон",
      "settings.sip.uri": "Адрес (sip:101@pbx.local)",
      "settings.sip.registrar": "Регистратор (необязательно)",
      "settings.sip.auth_user": "Пользователь для авторизации (необязательно)",
      "settings.sip.transport": "Транспорт",
      "settings.creatio": "Creatio",
      "settings.creatio.url": "Адрес сайта",
      "settings.creatio.user": "Пользователь",
      "settings.creatio.open_card": "Открывать карточку абонента",
      "settings.open_card.ring": "при звонке",
      "settings.open_card.answer": "при ответе",
      "settings.open_card.never": "только по запросу",
      "settings.password": "Пароль",
      "settings.password.saved": "сохранён",
      "settings.password.none": "не сохранён",
      "settings.password.no_account": "сначала сохраните учётную запись",
      "settings.password.unavailable": "хранилище паролей недоступно",
      "settings.audio": "Звуковые устройства",
      "settings.audio.input": "Микрофон",
      "settings.audio.output": "Гарнитура",
      "settings.audio.ringer": "Звонок",
      "settings.audio.default": "Системное по умолчанию",
      "settings.audio.unavailable": "Список устройств недоступен: {reason}",
      "settings.behaviour": "Поведение",
      "settings.behaviour.ring_popup": "Показывать окно входящего звонка (иначе уведомление)",
      "settings.behaviour.auto_answer_intercom": "Автоматически отвечать на интерком",
      "settings.behaviour.start_hidden": "Запускать свёрнутой в трей",
      "settings.behaviour.autostart": "Запускать вместе с сеансом",
      "settings.hotkeys": "Горячие клавиши",
      "settings.hotkeys.hint": "Например Ctrl+Alt+A или F9; пусто — выключено.",
      "settings.hotkeys.answer": "Ответить",
      "settings.hotkeys.hangup": "Положить трубку",
      "settings.hotkeys.hold": "Удержание / возврат",
      "settings.hotkeys.mute": "Выключить микрофон",
      "settings.hotkey.active": "работает",
      "settings.hotkey.off": "выключена",
      "settings.hotkey.taken": "недоступна: {detail}",
      "settings.hotkey.unsupported": "пока недоступна",
      "settings.language": "Язык",
      "settings.language.auto": "Язык системы",
      "settings.language.en": "English",
      "settings.language.ru": "Русский",
      "settings.save": "Сохранить",
      "settings.close": "Закрыть",
      "settings.file": "Файл настроек: {file}",
      "settings.saving": "Сохранение…",
      "settings.saved": "Сохранено.",
      "settings.saved.restart": "Сохранено. Перезапустите панель, чтобы применить: {parts}.",
      "settings.restart.accounts": "серверы и учётные записи",
      "settings.restart.audio": "звуковые устройства",
      "settings.restart.call_behaviour": "поведение при звонках",
      "settings.error": "Не сохранено: {message}",
      "settings.password.error": "Пароль {system} не сохранён: {message}",
      "settings.load.error": "Не удалось прочитать настройки: {message}",
      "panel.swap": "Переключить",
      "panel.connect": "Соединить",
      "panel.conference": "Конференция",
      "panel.conference.add": "Добавить в конференцию",
      "panel.conference.leave": "Выйти из конференции",
      "panel.keypad": "Клавиатура",
      "panel.keypad.label": "Тональный набор (DTMF)",
      "panel.transfer": "Перевести…",
      "panel.transfer.to": "Перевести на",
      "panel.transfer.search": "Имя или номер",
      "panel.transfer.matches": "Найдено в справочнике",
      "panel.transfer.blind": "Перевести сразу",
      "panel.transfer.consult": "Сначала переговорить",
      "panel.held": "На удержании",
      "panel.held.for": "на удержании {time}",
      "panel.remote_hold": "собеседник удерживает",
      "panel.mute": "Выключить микрофон",
      "panel.settings": "Настройки",
      "panel.unmute": "Включить микрофон",
      "panel.backlog.waiting": "Записи звонков ждут Creatio: {count}",
      "panel.backlog.rejected": "отклонено Creatio: {count}",
      "panel.backlog.waiting_because": "Записи звонков ждут Creatio: {count} — {reason}",
      "panel.backlog.export": "Выгрузить отклонённые записи",
      "panel.backlog.exported": "Отклонённые записи звонков сохранены в {path}.",
      "panel.history.offline": "Список звонков Creatio недоступен, показаны звонки, сохранённые на этом компьютере: {reason}",
      "panel.history.from_creatio": "Из Creatio",
      "panel.quality.good": "Качество связи: хорошее (MOS {mos})",
      "panel.quality.fair": "Качество связи: среднее (MOS {mos})",
      "panel.quality.poor": "Качество связи: плохое (MOS {mos})",
      "panel.history.call_back": "Перезвонить",
      "panel.history.call_back_to": "Перезвонить: {name}",
      "panel.missed.count": "Пропущено: {count}",
      "panel.missed.mark": "Отметить пропущенные как просмотренные",
      "panel.presence.ready": "свободен",
      "panel.presence.busy": "занят",
      "panel.presence.break": "перерыв",
      "panel.presence.dnd": "не беспокоить",
      "panel.presence.offline": "не в сети",
    },
  };

  const SUPPORTED = ["ru", "en"];
  const listeners = [];
  let chosen = "auto";

  function systemLanguage() {
    const languages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (const tag of languages) {
      const base = String(tag || "").toLowerCase().split("-")[0];
      if (SUPPORTED.includes(base)) {
        return base;
      }
    }
    return "en";
  }

  function language() {
    return SUPPORTED.includes(chosen) ? chosen : systemLanguage();
  }

  function t(key, params) {
    const text = dictionaries[language()][key] ?? dictionaries.en[key] ?? key;
    if (!params) {
      return text;
    }
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
    );
  }

  const ATTRIBUTES = [
    ["i18nPlaceholder", "placeholder"],
    ["i18nTitle", "title"],
    ["i18nAriaLabel", "aria-label"],
  ];

  function apply(root) {
    const scope = root || document;
    for (const element of scope.querySelectorAll("[data-i18n]")) {
      element.textContent = t(element.dataset.i18n);
    }
    for (const [data, attribute] of ATTRIBUTES) {
      const selector = `[data-${data.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}]`;
      for (const element of scope.querySelectorAll(selector)) {
        element.setAttribute(attribute, t(element.dataset[data]));
      }
    }
    document.documentElement.lang = language();
  }

  function changed() {
    apply(document);
    for (const render of listeners) {
      try {
        render(language());
      } catch (err) {
        console.error("re-rendering after a language change failed", err);
      }
    }
  }

  function setChoice(choice) {
    chosen = ["auto", ...SUPPORTED].includes(choice) ? choice : "auto";
    changed();
  }

  function extend(more) {
    for (const lang of SUPPORTED) {
      Object.assign(dictionaries[lang], (more && more[lang]) || {});
    }
  }

  const tauri = window.__TAURI__;
  function choose(choice) {
    return tauri.core.invoke("set_language", { language: choice });
  }

  window.i18n = {
    t,
    language,
    choice: () => chosen,
    choose,
    apply,
    extend,
    onChange(render) {
      listeners.push(render);
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => apply(document));
  } else {
    apply(document);
  }
  if (tauri) {
    tauri.event
      .listen("language", (event) => setChoice(event.payload))
      .catch((err) => console.error("cannot follow language changes", err));
    tauri.core
      .invoke("ui_language")
      .then(setChoice)
      .catch((err) => {
        console.error("cannot read the chosen language", err);
        changed();
      });
  }
})();
