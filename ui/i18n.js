// The UI's words in Russian and English. Every window loads this file first
// (`<script src="i18n.js" defer></script>` before its own script) and gets `window.i18n`:
//
//   i18n.t(key, params)    the text of `key` in the current language; `{name}` in it is replaced by
//                          String(params.name); an unknown key falls back to English, then to the key itself.
//   i18n.sentence(said)    the text of a call-model sentence {key, params, text} (see `sentence` below).
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
      "party.unknown": "Unknown number",
      "popup.incoming": "Incoming call",
      "popup.answer": "Answer",
      "popup.decline": "Decline",
      "popup.hold": "Hold current",
      "popup.hold.title": "Put the call in progress on hold",
      "popup.answer.waiting": "Answering puts the call in progress on hold",

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
      "panel.backlog.export": "Export refused records",
      "panel.backlog.exported": "The refused call records were saved to {path}.",
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
      "panel.not_ready": "The panel is not connected yet.",
      "panel.system.oktell": "Oktell",
      "panel.system.sip": "Phone",
      "panel.system.creatio": "Creatio",
      "panel.health.off": "not configured",
      "panel.health.idle": "not connected",
      "panel.health.up": "connected",
      "panel.health.down": "unavailable",
      "panel.health.ok": "connected",
      "panel.health.connecting": "connecting",
      "panel.health.not_configured": "not configured",
      "panel.health.behind": "records waiting",
      "panel.agent.offline": "Offline",
      "panel.agent.ready": "Ready",
      "panel.agent.ready_call_center": "Ready (call centre)",
      "panel.agent.ready_call_center_manual": "Ready (call centre, manual)",
      "panel.agent.break": "Break",
      "panel.agent.dnd": "Do not disturb",
      "panel.agent.redirect": "Redirecting",
      "panel.agent.no_phone": "No phone",
      "panel.status.change": "Change status…",
      "panel.status.break_for": "Break: {reason}",
      "panel.call_state.ringing": "Ringing",
      "panel.call_state.ring_back": "Ringing back",
      "panel.call_state.dialling": "Dialling",
      "panel.call_state.talking": "Talking",
      "panel.call_state.held": "On hold",
      "panel.direction.incoming": "Incoming",
      "panel.direction.outgoing": "Outgoing",
      "panel.outcome.answered": "answered",
      "panel.outcome.missed": "missed",
      "panel.outcome.declined": "declined",
      "panel.outcome.not_connected": "not connected",
      "panel.diag.version": "Version",
      "panel.diag.platform": "Platform",
      "panel.diag.config": "Configuration",
      "panel.diag.logs": "Logs",
      "panel.diag.logs.stderr": "stderr only",
      "panel.diag.tray": "Tray icon",
      "panel.diag.tray.yes": "yes",
      "panel.diag.tray.no": "no (closing the panel quits)",
      // The call model's sentences (crates/call/src/sentence.rs declares every key and its parameters; a test holds
      // this file against it). A plural text is an object of forms picked by {count}.
      "refusal.no_ringing_call": "There is no ringing call to answer.",
      "refusal.already_answering": "The call is already being answered.",
      "refusal.no_call": "There is no call right now.",
      "refusal.still_ringing": "The call is still ringing: answer or decline it.",
      "refusal.not_talking": "{what} works only during a conversation.",
      "refusal.nothing_on_hold": "No call is on hold.",
      "refusal.already_holding": "A call is already on hold: swap, connect or end the calls first.",
      "refusal.active_call": "Another call is in progress; swap to switch to the held call.",
      "refusal.hold_in_progress": "The hold or resume is still being set up; wait a moment.",
      "refusal.oktell_down": "The PBX connection is being restored; {what} is not available until it is back.",
      "refusal.needs_oktell": "{what} needs the Oktell PBX; the SIP phone alone cannot do it.",
      "refusal.no_phone": "No phone is available: the softphone is not registered and Oktell is not connected.",
      "refusal.no_softphone_leg": "Tones can be sent only in a call on this softphone.",
      "refusal.bad_digits": "Only the digits 0-9, *, # and A-D can be sent as tones.",
      "refusal.empty_number": "Enter a number to call.",
      "refusal.busy": "Finish or hold the current call before dialling another number.",
      "refusal.cannot_consult": "Consultation calls are possible only during a conversation with nobody on hold.",
      "refusal.not_in_conference": "There is no conference right now.",
      "refusal.already_in_conference": "A conference is already in progress.",
      "refusal.no_card": "The caller has not been found in Creatio.",
      "refusal.no_popup": "No incoming call window is open.",
      "refusal.status_unavailable": "The agent status can be changed only while connected to Oktell.",
      "feature.answer": "answering",
      "feature.decline": "declining",
      "feature.hang_up": "hanging up",
      "feature.dial": "dialling",
      "feature.hold": "hold",
      "feature.resume": "resuming",
      "feature.swap": "swapping calls",
      "feature.transfer": "transfer",
      "feature.connect": "connecting two calls",
      "feature.conference": "a conference",
      "feature.mute": "mute",
      "feature.tones": "sending tones",
      "notice.pbx_cannot": "The PBX cannot do that now: {error}.",
      "notice.oktell_login_failed": "Oktell login failed: {error}.",
      "notice.oktell_sync_failed": "Oktell could not load the account: {error}.",
      "notice.pbx_refused": "The PBX refused the request: {failure}.",
      "notice.dial_failed": "The call could not be placed: {reason}.",
      "notice.hold_refused": "The other side refused to hold the call (SIP {status}).",
      "notice.resume_refused": "The other side refused to resume the call (SIP {status}).",
      "notice.transfer_failed_status": "The transfer did not go through (SIP {status}); the call stays with you.",
      "notice.transfer_failed": "The transfer did not go through; the call stays with you.",
      "notice.call_not_accepted": "The call was not accepted: {status} {reason}.",
      "health.oktell.connecting": "Connecting to Oktell…",
      "health.oktell.reconnecting":
        "The Oktell connection was lost; reconnecting (attempt {attempt}). Calls in progress continue.",
      "health.oktell.logging_out": "Logging out of Oktell.",
      "health.oktell.logged_out": "Logged out of Oktell.",
      "health.oktell.login_refused": "Oktell refused the login: {error}.",
      "health.oktell.incompatible": "This Oktell server cannot be used: {error}.",
      "health.oktell.unavailable": "{reason}",
      "health.sip.registering": "Registering the softphone…",
      "health.sip.registration_failed": "The softphone could not register ({reason}); retrying in {retry_secs} s.",
      "health.sip.not_running": "The softphone is not running: {reason}.",
      "health.sip.unregistered": "The softphone is not registered.",
      "health.creatio.outage": "{reason}.",
      "health.creatio.waiting": {
        one: "{count} call record is waiting to be saved in Creatio.",
        other: "{count} call records are waiting to be saved in Creatio.",
      },
      "health.creatio.waiting_because": {
        one: "{count} call record is waiting to be saved in Creatio — {reason}.",
        other: "{count} call records are waiting to be saved in Creatio — {reason}.",
      },
      "health.creatio.rejected": {
        one: "{count} call record was refused by Creatio.",
        other: "{count} call records were refused by Creatio.",
      },
      "health.creatio.history_offline":
        "Creatio's call list is not available, showing the calls saved on this computer: {reason}",
      "audio.preferred_unavailable": "{role}: {preferred} is not available; using {using}.",
      "audio.fell_back": "{role}: {lost} was disconnected; using {using}.",
      "audio.no_device": "{role}: no device is available ({reason}).",
      "audio.failed": "The audio devices failed; the call goes on without sound: {reason}.",
      "audio.role.microphone": "Microphone",
      "audio.role.headset": "Headset",
      "audio.role.ringer": "Ringer",
    },
    ru: {
      "app.name": "Oktell Panel",
      "popup.title": "Входящий звонок",
      "party.unknown": "Номер не определён",
      "popup.incoming": "Входящий звонок",
      "popup.answer": "Ответить",
      "popup.decline": "Отклонить",
      "popup.hold": "Удержать текущий",
      "popup.hold.title": "Поставить текущий разговор на удержание",
      "popup.answer.waiting": "При ответе текущий разговор встанет на удержание",

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
      "panel.backlog.export": "Выгрузить отклонённые записи",
      "panel.backlog.exported": "Отклонённые записи звонков сохранены в {path}.",
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
      "panel.not_ready": "Панель ещё не подключена.",
      "panel.system.oktell": "Oktell",
      "panel.system.sip": "Телефон",
      "panel.system.creatio": "Creatio",
      "panel.health.off": "не настроен",
      "panel.health.idle": "не подключён",
      "panel.health.up": "подключён",
      "panel.health.down": "недоступен",
      "panel.health.ok": "подключён",
      "panel.health.connecting": "подключение",
      "panel.health.not_configured": "не настроен",
      "panel.health.behind": "есть неотправленные записи",
      "panel.agent.offline": "Не в сети",
      "panel.agent.ready": "Готов",
      "panel.agent.ready_call_center": "Готов (колл-центр)",
      "panel.agent.ready_call_center_manual": "Готов (колл-центр, вручную)",
      "panel.agent.break": "Перерыв",
      "panel.agent.dnd": "Не беспокоить",
      "panel.agent.redirect": "Переадресация",
      "panel.agent.no_phone": "Нет телефона",
      "panel.status.change": "Сменить статус…",
      "panel.status.break_for": "Перерыв: {reason}",
      "panel.call_state.ringing": "Звонит",
      "panel.call_state.ring_back": "Обратный вызов",
      "panel.call_state.dialling": "Набор номера",
      "panel.call_state.talking": "Разговор",
      "panel.call_state.held": "На удержании",
      "panel.direction.incoming": "Входящий",
      "panel.direction.outgoing": "Исходящий",
      "panel.outcome.answered": "принят",
      "panel.outcome.missed": "пропущен",
      "panel.outcome.declined": "отклонён",
      "panel.outcome.not_connected": "не состоялся",
      "panel.diag.version": "Версия",
      "panel.diag.platform": "Платформа",
      "panel.diag.config": "Файл настроек",
      "panel.diag.logs": "Журналы",
      "panel.diag.logs.stderr": "только stderr",
      "panel.diag.tray": "Значок в трее",
      "panel.diag.tray.yes": "есть",
      "panel.diag.tray.no": "нет (закрытие панели завершает программу)",
      "refusal.no_ringing_call": "Нет входящего звонка, на который можно ответить.",
      "refusal.already_answering": "Звонок уже принимается.",
      "refusal.no_call": "Сейчас нет звонка.",
      "refusal.still_ringing": "Звонок ещё не принят: ответьте или отклоните его.",
      "refusal.not_talking": "{what} можно только во время разговора.",
      "refusal.nothing_on_hold": "На удержании нет звонка.",
      "refusal.already_holding":
        "Один звонок уже на удержании: сначала переключитесь между звонками, соедините или завершите их.",
      "refusal.active_call": "Идёт другой разговор; чтобы вернуться к звонку на удержании, нажмите «Переключить».",
      "refusal.hold_in_progress": "Удержание или возврат звонка ещё выполняется; подождите немного.",
      "refusal.oktell_down": "Связь с АТС восстанавливается; {what} можно будет, когда она вернётся.",
      "refusal.needs_oktell": "{what} можно только через АТС Oktell: одного SIP-телефона для этого недостаточно.",
      "refusal.no_phone": "Телефон недоступен: софтфон не зарегистрирован, а Oktell не подключён.",
      "refusal.no_softphone_leg": "Тональный набор возможен только в звонке через этот софтфон.",
      "refusal.bad_digits": "Тональным набором можно отправить только цифры 0–9, *, # и A–D.",
      "refusal.empty_number": "Введите номер для звонка.",
      "refusal.busy": "Чтобы набрать другой номер, завершите текущий звонок или поставьте его на удержание.",
      "refusal.cannot_consult": "Консультация возможна только во время разговора, когда никто не ждёт на удержании.",
      "refusal.not_in_conference": "Сейчас нет конференции.",
      "refusal.already_in_conference": "Конференция уже идёт.",
      "refusal.no_card": "Абонент не найден в Creatio.",
      "refusal.no_popup": "Окно входящего звонка не открыто.",
      "refusal.status_unavailable": "Статус оператора можно изменить только при подключении к Oktell.",
      "feature.answer": "ответить на звонок",
      "feature.decline": "отклонить звонок",
      "feature.hang_up": "завершить звонок",
      "feature.dial": "позвонить",
      "feature.hold": "поставить звонок на удержание",
      "feature.resume": "вернуть звонок с удержания",
      "feature.swap": "переключиться между звонками",
      "feature.transfer": "перевести звонок",
      "feature.connect": "соединить два звонка",
      "feature.conference": "собрать конференцию",
      "feature.mute": "выключить микрофон",
      "feature.tones": "воспользоваться тональным набором",
      "notice.pbx_cannot": "АТС сейчас не может это выполнить: {error}.",
      "notice.oktell_login_failed": "Не удалось войти в Oktell: {error}.",
      "notice.oktell_sync_failed": "Oktell не смог загрузить учётную запись: {error}.",
      "notice.pbx_refused": "АТС отклонила запрос: {failure}.",
      "notice.dial_failed": "Не удалось позвонить: {reason}.",
      "notice.hold_refused": "Другая сторона не приняла удержание звонка (SIP {status}).",
      "notice.resume_refused": "Другая сторона не приняла возврат звонка с удержания (SIP {status}).",
      "notice.transfer_failed_status": "Перевести звонок не удалось (SIP {status}); звонок остаётся у вас.",
      "notice.transfer_failed": "Перевести звонок не удалось; звонок остаётся у вас.",
      "notice.call_not_accepted": "Звонок не принят: {status} {reason}.",
      "health.oktell.connecting": "Подключение к Oktell…",
      "health.oktell.reconnecting":
        "Связь с Oktell потеряна; переподключение (попытка {attempt}). Текущие звонки продолжаются.",
      "health.oktell.logging_out": "Выход из Oktell.",
      "health.oktell.logged_out": "Выполнен выход из Oktell.",
      "health.oktell.login_refused": "Oktell отклонил вход: {error}.",
      "health.oktell.incompatible": "С этим сервером Oktell работать нельзя: {error}.",
      "health.oktell.unavailable": "Oktell недоступен: {reason}",
      "health.sip.registering": "Регистрация софтфона…",
      "health.sip.registration_failed": "Софтфон не смог зарегистрироваться ({reason}); повтор через {retry_secs} с.",
      "health.sip.not_running": "Софтфон не работает: {reason}.",
      "health.sip.unregistered": "Софтфон не зарегистрирован.",
      "health.creatio.outage": "Сбой Creatio: {reason}.",
      "health.creatio.waiting": {
        one: "{count} запись о звонке ждёт сохранения в Creatio.",
        few: "{count} записи о звонках ждут сохранения в Creatio.",
        many: "{count} записей о звонках ждут сохранения в Creatio.",
        other: "{count} записи о звонках ждут сохранения в Creatio.",
      },
      "health.creatio.waiting_because": {
        one: "{count} запись о звонке ждёт сохранения в Creatio — {reason}.",
        few: "{count} записи о звонках ждут сохранения в Creatio — {reason}.",
        many: "{count} записей о звонках ждут сохранения в Creatio — {reason}.",
        other: "{count} записи о звонках ждут сохранения в Creatio — {reason}.",
      },
      "health.creatio.rejected": {
        one: "Creatio отклонила {count} запись о звонке.",
        few: "Creatio отклонила {count} записи о звонках.",
        many: "Creatio отклонила {count} записей о звонках.",
        other: "Creatio отклонила {count} записи о звонках.",
      },
      "health.creatio.history_offline":
        "Список звонков Creatio недоступен, показаны звонки, сохранённые на этом компьютере: {reason}",
      "audio.preferred_unavailable": "{role}: устройство «{preferred}» недоступно, используется «{using}».",
      "audio.fell_back": "{role}: устройство «{lost}» отключено, теперь используется «{using}».",
      "audio.no_device": "{role}: нет доступного устройства ({reason}).",
      "audio.failed": "Звуковые устройства не работают, звонок продолжается без звука: {reason}.",
      "audio.role.microphone": "Микрофон",
      "audio.role.headset": "Гарнитура",
      "audio.role.ringer": "Звонок",
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

  // A plural text is an object of CLDR forms ({one, few, many, other}); `count` picks one.
  function pluralForm(forms, count) {
    let form = "other";
    try {
      form = new Intl.PluralRules(language()).select(Number(count));
    } catch (err) {
      form = Number(count) === 1 ? "one" : "other";
    }
    return forms[form] ?? forms.other ?? "";
  }

  function t(key, params) {
    let text = dictionaries[language()][key] ?? dictionaries.en[key] ?? key;
    if (typeof text === "object") {
      text = pluralForm(text, params?.count);
    }
    if (!params) {
      return text;
    }
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
    );
  }

  // A sentence of the call model ({key, params, text}): its key's text in the current language, with terms
  // ({term: key}) translated too; a term that starts the sentence gets a capital letter. Other parameters (device
  // names, causes from outside) go in as they are. A key this file does not know shows the model's English text.
  function sentence(said) {
    if (!said) {
      return "";
    }
    const known = dictionaries[language()][said.key] ?? dictionaries.en[said.key];
    if (known === undefined) {
      return String(said.text ?? said.key ?? "");
    }
    const given = said.params ?? {};
    const template = t(said.key, "count" in given ? { count: given.count } : undefined);
    const leading = /^\{(\w+)\}/.exec(template)?.[1];
    const params = {};
    for (const [name, value] of Object.entries(given)) {
      if (value !== null && typeof value === "object" && "term" in value) {
        const word = t(value.term);
        params[name] = name === leading ? word.charAt(0).toLocaleUpperCase(language()) + word.slice(1) : word;
      } else {
        params[name] = value;
      }
    }
    return t(said.key, params);
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
    sentence,
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
