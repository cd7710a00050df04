// The settings window: the configuration as a form, saved through the app's settings commands. Passwords are sent
// once to be stored and never come back: the form only shows whether one is saved. All text goes in through
// textContent or attributes.
"use strict";

const { invoke } = window.__TAURI__.core;
const { t } = window.i18n;

const $ = (id) => document.getElementById(id);

/** The last state the window showed, kept so a language change can re-render it. */
const shown = { passwords: [], hotkeys: [], status: null, file: "" };

const TEXT_FIELDS = {
  "oktell-login": ["oktell", "login"],
  "sip-uri": ["sip", "uri"],
  "sip-registrar": ["sip", "registrar"],
  "sip-auth-user": ["sip", "auth_user"],
  "sip-transport": ["sip", "transport"],
  "creatio-url": ["creatio", "url"],
  "creatio-user": ["creatio", "user"],
  "creatio-open-card": ["creatio", "open_card"],
  "audio-input": ["audio", "input"],
  "audio-output": ["audio", "output"],
  "audio-ringer": ["audio", "ringer"],
  "hotkey-answer": ["hotkeys", "answer"],
  "hotkey-hangup": ["hotkeys", "hangup"],
  "hotkey-hold": ["hotkeys", "hold"],
  "hotkey-mute": ["hotkeys", "mute"],
};

const CHECKS = {
  "behaviour-ring-popup": "ring_popup",
  "behaviour-auto-answer-intercom": "auto_answer_intercom",
  "behaviour-start-hidden": "start_hidden",
  "behaviour-autostart": "autostart",
};

/** The settings window's own words: the audio check. */
window.i18n.extend({
  en: {
    "settings.audio.test": "Test",
    "settings.audio.level": "Speak: the bar should move ({device}).",
    "settings.audio.level.off": "No level from the microphone: {reason}",
    "settings.audio.testing": "Playing the ringtone on {device}…",
    "settings.audio.tested": "The ringtone played on {device}. Did you hear it?",
    "settings.audio.test.failed": "No sound could be played: {reason}",
    "settings.audio.default.name": "the system default",
  },
  ru: {
    "settings.audio.test": "Проверить",
    "settings.audio.level": "Скажите что-нибудь: полоска должна двигаться ({device}).",
    "settings.audio.level.off": "Нет сигнала микрофона: {reason}",
    "settings.audio.testing": "Звучит мелодия звонка: {device}…",
    "settings.audio.tested": "Мелодия прозвучала: {device}. Вы её слышали?",
    "settings.audio.test.failed": "Не удалось воспроизвести звук: {reason}",
    "settings.audio.default.name": "устройство по умолчанию",
  },
});

/** The audio check's last notes, kept so a language change can re-word them. */
const audio = { level: null, test: null };

function renderAudio() {
  const levelNote = $("audio-level-note");
  levelNote.textContent = audio.level ? t(audio.level.key, audio.level.params) : "";
  const testNote = $("audio-test-note");
  testNote.hidden = audio.test === null;
  testNote.textContent = audio.test ? t(audio.test.key, audio.test.params) : "";
}

function deviceName(select) {
  return select.value || t("settings.audio.default.name");
}

/** Starts (or moves) the level meter to the microphone chosen in the form. */
async function startMeter() {
  $("audio-level").value = -60;
  try {
    const device = await invoke("audio_meter_start", { device: $("audio-input").value || null });
    audio.level = { key: "settings.audio.level", params: { device } };
  } catch (err) {
    audio.level = { key: "settings.audio.level.off", params: { reason: err.message || String(err) } };
  }
  renderAudio();
}

async function testSound(button) {
  const select = $(button.dataset.device);
  button.disabled = true;
  audio.test = { key: "settings.audio.testing", params: { device: deviceName(select) } };
  renderAudio();
  try {
    const device = await invoke("audio_test_sound", { role: button.dataset.role, device: select.value || null });
    audio.test = { key: "settings.audio.tested", params: { device } };
  } catch (err) {
    audio.test = { key: "settings.audio.test.failed", params: { reason: err.message || String(err) } };
  } finally {
    button.disabled = false;
  }
  renderAudio();
}

function setStatus(key, params, isError) {
  shown.status = key ? { key, params, isError } : null;
  renderStatus();
}

function renderStatus() {
  const status = $("status");
  status.textContent = shown.status ? t(shown.status.key, shown.status.params) : "";
  status.classList.toggle("error", Boolean(shown.status && shown.status.isError));
}

function renderPasswords() {
  for (const entry of shown.passwords) {
    const input = $(`${entry.system}-password`);
    input.value = "";
    input.placeholder = t(`settings.password.${entry.state}`);
    input.title = entry.detail || "";
    input.disabled = entry.state === "no_account";
  }
}

function renderHotkeys() {
  for (const status of shown.hotkeys) {
    const note = $(`hotkey-${status.action}-state`);
    note.textContent = t(`settings.hotkey.${status.state}`, { detail: status.detail || "" });
  }
}

function renderAll() {
  renderAudio();
  renderPasswords();
  renderHotkeys();
  renderStatus();
  $("config-file").textContent = shown.file ? t("settings.file", { file: shown.file }) : "";
  $("language").value = window.i18n.choice();
  for (const select of document.querySelectorAll("select[data-direction]")) {
    const first = select.options[0];
    if (first && first.value === "") {
      first.textContent = t("settings.audio.default");
    }
  }
}

/** Fills a device list, keeping the configured device even when it is not connected now. */
function fillDevices(select, devices, current) {
  select.replaceChildren();
  const names = devices.filter((d) => d.direction === select.dataset.direction).map((d) => d.name);
  if (current && !names.includes(current)) {
    names.push(current);
  }
  const fallback = document.createElement("option");
  fallback.value = "";
  fallback.textContent = t("settings.audio.default");
  select.append(fallback);
  for (const name of names) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
  select.value = current || "";
}

function show(view, devices) {
  const form = view.form;
  $("oktell-urls").value = form.oktell.urls.join("\n");
  for (const select of document.querySelectorAll("select[data-direction]")) {
    const [section, key] = TEXT_FIELDS[select.id];
    fillDevices(select, devices, form[section][key]);
  }
  for (const [id, [section, key]] of Object.entries(TEXT_FIELDS)) {
    if (!$(id).dataset.direction) {
      $(id).value = form[section][key];
    }
  }
  for (const [id, key] of Object.entries(CHECKS)) {
    $(id).checked = form.behaviour[key];
  }
  shown.passwords = view.passwords;
  shown.hotkeys = view.hotkeys;
  shown.file = view.config_file;
  shown.language = form.behaviour.language;
  renderAll();
}

function readForm() {
  const form = { oktell: {}, sip: {}, creatio: {}, audio: {}, behaviour: {}, hotkeys: {} };
  form.oktell.urls = $("oktell-urls")
    .value.split(/[\n,]/)
    .map((url) => url.trim())
    .filter((url) => url !== "");
  for (const [id, [section, key]] of Object.entries(TEXT_FIELDS)) {
    form[section][key] = $(id).value.trim();
  }
  for (const [id, key] of Object.entries(CHECKS)) {
    form.behaviour[key] = $(id).checked;
  }
  form.behaviour.language = window.i18n.choice();
  return form;
}

async function load() {
  let devices = [];
  const [view, listed] = await Promise.all([
    invoke("settings_load"),
    invoke("audio_devices").catch((err) => ({ error: err })),
  ]);
  const problem = $("audio-problem");
  if (Array.isArray(listed)) {
    devices = listed;
    problem.hidden = true;
  } else {
    problem.textContent = t("settings.audio.unavailable", { reason: listed.error.message || String(listed.error) });
    problem.hidden = false;
  }
  show(view, devices);
  await startMeter();
}

async function save() {
  const button = $("save");
  button.disabled = true;
  setStatus("settings.saving");
  try {
    let outcome;
    try {
      outcome = await invoke("settings_save", { form: readForm() });
    } catch (err) {
      setStatus("settings.error", { message: err.message || String(err) }, true);
      return;
    }
    for (const input of document.querySelectorAll("input[data-system]")) {
      if (input.value === "") {
        continue;
      }
      try {
        await invoke("settings_save_password", { system: input.dataset.system, password: input.value });
      } catch (err) {
        setStatus("settings.password.error", { system: input.dataset.system, message: err.message || String(err) }, true);
        return;
      }
    }
    const view = await invoke("settings_load");
    shown.passwords = view.passwords;
    shown.hotkeys = outcome.hotkeys;
    renderPasswords();
    renderHotkeys();
    if (outcome.restart.length > 0) {
      const parts = outcome.restart.map((part) => t(`settings.restart.${part}`)).join(", ");
      setStatus("settings.saved.restart", { parts });
    } else {
      setStatus("settings.saved");
    }
  } finally {
    button.disabled = false;
  }
}

$("save").addEventListener("click", () => {
  save().catch((err) => setStatus("settings.error", { message: String(err) }, true));
});
$("close").addEventListener("click", () => {
  window.__TAURI__.window.getCurrentWindow().close().catch((err) => console.error("cannot close", err));
});
$("language").addEventListener("change", (event) => {
  window.i18n.choose(event.target.value).catch((err) => {
    setStatus("settings.error", { message: err.message || String(err) }, true);
  });
});
$("audio-input").addEventListener("change", () => {
  startMeter().catch((err) => console.error("meter", err));
});
for (const button of [$("test-headset"), $("test-ringer")]) {
  button.addEventListener("click", () => {
    testSound(button).catch((err) => console.error("test sound", err));
  });
}
window.__TAURI__.event
  .listen("audio-level", (event) => {
    $("audio-level").value = Math.max(-60, Math.min(0, event.payload.rms_dbfs));
  })
  .catch((err) => console.error("cannot follow the microphone level", err));
window.addEventListener("beforeunload", () => {
  invoke("audio_meter_stop").catch(() => {});
});
window.i18n.onChange(renderAll);

load().catch((err) => setStatus("settings.load.error", { message: err.message || String(err) }, true));
