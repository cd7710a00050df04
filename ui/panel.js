// The panel renders the PanelView it gets from the core and sends commands; it keeps no call state of its own.
// Every text that came from outside is set with textContent, never as HTML.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

// Every word of this window comes from i18n.js (ru and en).
const t = (key, params) => window.i18n.t(key, params);
// A party's main line: its name or number, or the words for nobody.
const shown = (party) => (party.unknown ? t("party.unknown") : party.display);
// The word for one of the core's state names (`panel.<group>.<value>`); a name this window does not know yet
// shows as it came.
const word = (group, value) => {
  const key = `panel.${group}.${value}`;
  const text = t(key);
  return text === key ? String(value) : text;
};
// A sentence of the call model in the current language; `fallback` (the view's English text) when there is none.
const say = (said, fallback) => (said ? window.i18n.sentence(said) : (fallback ?? ""));
const PRESENCE_KEYS = ["ready", "busy", "break", "dnd", "offline"];
const CALL_ACTIONS = [
  "answer",
  "decline",
  "hold",
  "resume",
  "toggle_mute",
  "swap",
  "connect",
  "conference_start",
  "conference_add_held",
  "conference_leave",
  "hangup",
  "open_card",
];
const KEYPAD_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
// How many directory matches the transfer search lists.
const MATCH_LIMIT = 8;

let shownRev = 0;
// The last view shown: the transfer search filters its directory as the operator types.
let lastView = null;

function duration(secs) {
  const minutes = Math.floor(secs / 60);
  const seconds = String(secs % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

function renderSystems(rows) {
  document.getElementById("systems").replaceChildren(
    ...rows.map(({ system, state, detail }) => {
      const item = document.createElement("li");
      item.className = `system ${state}`;
      item.dataset.system = system;
      const name = document.createElement("span");
      name.className = "system-name";
      name.textContent = word("system", system);
      const words = document.createElement("span");
      words.className = "system-state";
      words.textContent = word("health", state);
      item.title = detail ?? "";
      item.append(name, words);
      // The reason a system is not working is shown, not hidden in a tooltip: it says what to do next.
      if (detail && ["down", "connecting"].includes(state)) {
        const reason = document.createElement("span");
        reason.className = "system-detail";
        reason.textContent = detail;
        item.append(reason);
      }
      return item;
    }),
  );
}

function renderStartup(startup) {
  document.getElementById("mode").hidden = startup.mode !== "demo";
  if (shownRev === 0) {
    renderSystems(startup.systems.map((h) => ({ system: h.system, state: h.state, detail: h.detail })));
  }
  if (startup.dial) {
    document.getElementById("dial-number").value = startup.dial;
  }
}

function renderAgent(view) {
  const agent = view.agent;
  const dot = document.getElementById("agent-dot");
  dot.className = `dot ${view.tray}`;
  const words = word("agent", agent.status);
  document.getElementById("agent-status").textContent = agent.break_reason ? `${words}: ${agent.break_reason}` : words;

  const select = document.getElementById("status-select");
  const allowed = view.actions.includes("set_status");
  select.hidden = !allowed;
  if (!allowed) {
    return;
  }
  const option = (value, text) => {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    return element;
  };
  const choices = [
    ["", t("panel.status.change")],
    ["ready", word("agent", "ready")],
    ["ready_call_center", word("agent", "ready_call_center")],
  ];
  for (const reason of agent.break_reasons) {
    choices.push([`break:${reason.id}`, t("panel.status.break_for", { reason: reason.name })]);
  }
  if (agent.break_reasons.length === 0) {
    choices.push(["break", word("agent", "break")]);
  }
  choices.push(["dnd", word("agent", "dnd")]);
  // Rebuilt only when the choices change: the view arrives every second during a call, and rebuilding would
  // close the list under the operator's pointer.
  const signature = JSON.stringify(choices);
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...choices.map(([value, text]) => option(value, text)));
    select.dataset.signature = signature;
  }
}

// The sentence saying where the last export of refused records went (or why it failed), until the next one.
let exportNote = null;

async function exportRejected() {
  try {
    const path = await invoke("export_rejected");
    exportNote = t("panel.backlog.exported", { path });
  } catch (err) {
    exportNote = err && err.message ? err.message : String(err);
  }
  if (lastView !== null) {
    render(lastView);
  }
}

function renderBacklog(creatio) {
  const backlog = document.getElementById("backlog");
  const parts = [creatio.waiting_sentence, creatio.rejected_sentence].filter(Boolean).map((said) => say(said));
  const note = exportNote;
  backlog.hidden = parts.length === 0 && note === null;
  // Rebuilt only when the words change: the view arrives every second during a call, and rebuilding would drop
  // a click on the export button.
  const signature = JSON.stringify([parts, creatio.rejected > 0, note]);
  if (backlog.dataset.signature === signature) {
    return;
  }
  backlog.dataset.signature = signature;
  const children = [document.createTextNode(parts.join(" "))];
  if (creatio.rejected > 0) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "export-rejected";
    button.textContent = t("panel.backlog.export");
    button.addEventListener("click", () => exportRejected());
    children.push(document.createTextNode(" "), button);
  }
  if (note !== null) {
    children.push(document.createTextNode(` ${note}`));
  }
  backlog.replaceChildren(...children);
}

// The Creatio line of the header: the outage, then the waiting and refused records.
function creatioDetail(creatio) {
  const said = [creatio.outage_sentence, creatio.waiting_sentence, creatio.rejected_sentence].filter(Boolean);
  return said.length > 0 ? said.map((s) => say(s)).join(" ") : creatio.message;
}

// What is wrong with the call's audio devices, one line each: the call goes on, but the operator hears it
// elsewhere, or not at all.
function renderAudioWarnings(call) {
  const list = document.getElementById("call-audio");
  const warnings = call?.audio_warnings ?? [];
  list.hidden = warnings.length === 0;
  list.replaceChildren(
    ...warnings.map((said) => {
      const item = document.createElement("li");
      item.textContent = say(said);
      return item;
    }),
  );
}

function qualityWords(tenths) {
  const mos = (tenths / 10).toFixed(1);
  // 4.0 and up is toll quality; below 3.6 most callers notice.
  const level = tenths >= 40 ? "good" : tenths >= 36 ? "fair" : "poor";
  return { level, text: t(`panel.quality.${level}`, { mos }) };
}

function partyItem(party, extra) {
  const item = document.createElement("li");
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = shown(party);
  item.append(who);
  const number = party.number_display && party.number_display !== party.display ? party.number_display : "";
  const details = [number, extra].filter(Boolean).join(" · ");
  if (details) {
    const more = document.createElement("span");
    more.className = "muted";
    more.textContent = details;
    item.append(more);
  }
  return item;
}

function renderHeld(view) {
  // The held call is shown as the call card while nothing else is current.
  const held = view.call === null ? view.held.slice(1) : view.held;
  document.getElementById("held-section").hidden = held.length === 0;
  document
    .getElementById("held")
    .replaceChildren(...held.map((call) => partyItem(call.party, t("panel.held.for", { time: duration(call.elapsed_secs) }))));
  const conference = view.conference;
  document.getElementById("conference-section").hidden = conference === null;
  document.getElementById("conference").replaceChildren(...(conference?.parties ?? []).map((p) => partyItem(p, "")));
}

function setPanelOpen(toggleId, panelId, open) {
  document.getElementById(panelId).hidden = !open;
  document.getElementById(toggleId).setAttribute("aria-expanded", String(open));
}

function renderCall(view) {
  // A call on hold is no longer the current one, but it is still the operator's to resume.
  const call = view.call ?? view.held[0] ?? null;
  document.getElementById("call-empty").hidden = call !== null;
  document.getElementById("call-card").hidden = call === null;
  for (const action of CALL_ACTIONS) {
    document.getElementById(`action-${action}`).hidden = call === null || !view.actions.includes(action);
  }
  const canDtmf = call !== null && view.actions.includes("dtmf");
  document.getElementById("keypad-toggle").hidden = !canDtmf;
  if (!canDtmf) {
    setPanelOpen("keypad-toggle", "keypad", false);
  }
  const canTransfer = view.actions.includes("transfer");
  const canConsult = view.actions.includes("consult");
  document.getElementById("transfer-toggle").hidden = call === null || !(canTransfer || canConsult);
  document.getElementById("transfer-blind").hidden = !canTransfer;
  document.getElementById("transfer-consult").hidden = !canConsult;
  if (call === null || !(canTransfer || canConsult)) {
    setPanelOpen("transfer-toggle", "transfer", false);
  }
  const quality = document.getElementById("call-quality");
  quality.hidden = call === null || call.quality_mos_tenths === null || call.quality_mos_tenths === undefined;
  renderAudioWarnings(call);
  if (call === null) {
    return;
  }
  if (!quality.hidden) {
    const { level, text } = qualityWords(call.quality_mos_tenths);
    quality.className = `quality ${level}`;
    quality.textContent = text;
  }
  // One button both ways: the view's `muted` says which way the next press goes.
  const mute = document.getElementById("action-toggle_mute");
  mute.textContent = t(call.muted === true ? "panel.unmute" : "panel.mute");
  mute.setAttribute("aria-pressed", String(call.muted === true));
  const party = call.party;
  document.getElementById("call-name").textContent = shown(party);
  document.getElementById("call-company").textContent = party.contact?.company ?? "";
  const number = party.number_display && party.number_display !== party.display ? party.number_display : "";
  document.getElementById("call-number").textContent = number;
  const direction = word("direction", call.direction === "outgoing" ? "outgoing" : "incoming");
  const state = word("call_state", call.state);
  const timer = call.state === "talking" ? duration(call.talk_secs) : duration(call.elapsed_secs);
  const remoteHold = call.held_by_remote ? ` · ${t("panel.remote_hold")}` : "";
  document.getElementById("call-state").textContent = `${direction} · ${state} · ${timer}${remoteHold}`;
}

function renderMatches() {
  const list = document.getElementById("transfer-matches");
  const query = document.getElementById("transfer-search").value.trim().toLowerCase();
  const digits = query.replace(/\D/g, "");
  const directory = lastView?.directory ?? [];
  const matches = query
    ? directory
        .filter(
          (entry) =>
            entry.name.toLowerCase().includes(query) ||
            (digits !== "" && (entry.number ?? "").replace(/\D/g, "").includes(digits)),
        )
        .slice(0, MATCH_LIMIT)
    : [];
  list.replaceChildren(
    ...matches.map((entry) => {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = `match ${entry.presence}`;
      const presence = PRESENCE_KEYS.includes(entry.presence) ? t(`panel.presence.${entry.presence}`) : "";
      pick.textContent = [entry.name, entry.number, presence].filter(Boolean).join(" · ");
      pick.disabled = !entry.number;
      pick.addEventListener("click", () => {
        const search = document.getElementById("transfer-search");
        search.value = entry.number ?? "";
        list.replaceChildren();
        search.focus();
      });
      item.append(pick);
      return item;
    }),
  );
}

function renderHistory(view) {
  const list = document.getElementById("history");
  document.getElementById("history-empty").hidden = view.history.length > 0;
  const offline = document.getElementById("history-offline");
  const creatio = view.health.creatio;
  offline.hidden = !creatio.history_offline;
  offline.textContent = creatio.history_offline ? say(creatio.history_offline_sentence, creatio.history_offline) : "";
  const badge = document.getElementById("missed-seen");
  badge.hidden = view.missed_unseen === 0 || !view.actions.includes("mark_missed_seen");
  badge.textContent = t("panel.missed.count", { count: view.missed_unseen });
  badge.title = t("panel.missed.mark");
  const canDial = view.actions.includes("dial");
  list.replaceChildren(
    ...view.history.map((entry) => {
      const item = document.createElement("li");
      item.className = entry.unseen ? `${entry.outcome} unseen` : String(entry.outcome);
      if (entry.source === "creatio") {
        item.classList.add("from-creatio");
        item.title = t("panel.history.from_creatio");
      }
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = `${entry.direction === "outgoing" ? "→" : "←"} ${shown(entry.party)}`;
      const outcome = document.createElement("span");
      outcome.className = "outcome";
      const words = word("outcome", entry.outcome);
      const when = new Date(entry.started_unix_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      // Creatio's calls may be days old: show the date when it is not today.
      const started = new Date(entry.started_unix_ms);
      const day =
        entry.source === "creatio" && started.toDateString() !== new Date().toDateString()
          ? `${started.toLocaleDateString([], { day: "numeric", month: "short" })} `
          : "";
      outcome.textContent = entry.talk_secs > 0 ? `${day}${when} · ${words} · ${duration(entry.talk_secs)}` : `${day}${when} · ${words}`;
      item.append(who, outcome);
      if (canDial && entry.party.number) {
        const back = document.createElement("button");
        back.type = "button";
        back.className = "call-back";
        back.textContent = t("panel.history.call_back");
        back.setAttribute("aria-label", t("panel.history.call_back_to", { name: shown(entry.party) }));
        back.addEventListener("click", () => send({ action: "dial", number: entry.party.number }));
        item.append(back);
      }
      return item;
    }),
  );
}

function render(view) {
  if (view === null || view.rev < shownRev) {
    return;
  }
  shownRev = view.rev;
  lastView = view;
  renderAgent(view);
  renderSystems([
    { system: "oktell", ...view.health.oktell, detail: say(view.health.oktell.sentence, view.health.oktell.message) },
    { system: "sip", ...view.health.sip, detail: say(view.health.sip.sentence, view.health.sip.message) },
    { system: "creatio", ...view.health.creatio, detail: creatioDetail(view.health.creatio) },
  ]);
  const notice = document.getElementById("notice");
  notice.hidden = !view.notice;
  notice.textContent = view.notice ? say(view.notice_sentence, view.notice) : "";
  renderBacklog(view.health.creatio);
  renderCall(view);
  renderHeld(view);
  renderHistory(view);
  document.getElementById("dial-button").disabled = !view.actions.includes("dial");
}

async function send(command) {
  try {
    await invoke("command", { command });
  } catch (err) {
    // A refusal's sentence arrives in the view's notice, in the operator's language; this covers "not ready" and
    // malformed commands.
    if (err && err.code === "rejected" && lastView !== null && lastView.notice) {
      return;
    }
    const notice = document.getElementById("notice");
    notice.textContent = err && err.code === "not_ready" ? t("panel.not_ready") : err && err.message ? err.message : String(err);
    notice.hidden = false;
  }
}

async function showDiagnostics() {
  const box = document.getElementById("diagnostics");
  const facts = await invoke("diagnostics");
  const rows = [
    [t("panel.diag.version"), facts.version],
    [t("panel.diag.platform"), facts.platform],
    [t("panel.diag.config"), facts.config_file],
    [t("panel.diag.logs"), facts.log_dir ?? t("panel.diag.logs.stderr")],
    [t("panel.diag.tray"), facts.tray ? t("panel.diag.tray.yes") : t("panel.diag.tray.no")],
  ];
  box.replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  box.hidden = false;
}

for (const action of CALL_ACTIONS) {
  document.getElementById(`action-${action}`).addEventListener("click", () => send({ action }));
}

function buildKeypad() {
  const keypad = document.getElementById("keypad");
  keypad.replaceChildren(
    ...KEYPAD_KEYS.map((digit) => {
      const key = document.createElement("button");
      key.type = "button";
      key.className = "key";
      key.textContent = digit;
      key.dataset.digit = digit;
      key.addEventListener("click", () => send({ action: "dtmf", digits: digit }));
      return key;
    }),
  );
  // Typing a digit while the keypad has the focus sends it, as on a desk phone.
  keypad.addEventListener("keydown", (event) => {
    if (KEYPAD_KEYS.includes(event.key)) {
      event.preventDefault();
      send({ action: "dtmf", digits: event.key });
    }
  });
}

function togglePanel(toggleId, panelId, focusId) {
  const open = document.getElementById(panelId).hidden;
  setPanelOpen(toggleId, panelId, open);
  if (open) {
    document.getElementById(focusId).focus();
  }
}

buildKeypad();
document.getElementById("keypad-toggle").addEventListener("click", () => togglePanel("keypad-toggle", "keypad", "keypad"));
document.getElementById("keypad").tabIndex = -1;
document
  .getElementById("transfer-toggle")
  .addEventListener("click", () => togglePanel("transfer-toggle", "transfer", "transfer-search"));
document.getElementById("transfer-search").addEventListener("input", renderMatches);
document.getElementById("transfer").addEventListener("submit", (event) => {
  event.preventDefault();
  const to = document.getElementById("transfer-search").value.trim();
  send({ action: "transfer", to });
});
document.getElementById("transfer-consult").addEventListener("click", () => {
  const number = document.getElementById("transfer-search").value.trim();
  send({ action: "consult", number });
});
document.getElementById("missed-seen").addEventListener("click", () => send({ action: "mark_missed_seen" }));
// Escape closes the keypad and the transfer box and gives the focus back to their buttons.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") {
    return;
  }
  for (const [toggle, panel] of [
    ["keypad-toggle", "keypad"],
    ["transfer-toggle", "transfer"],
  ]) {
    if (!document.getElementById(panel).hidden) {
      setPanelOpen(toggle, panel, false);
      document.getElementById(toggle).focus();
    }
  }
});
document.getElementById("status-select").addEventListener("change", (event) => {
  const [status, reason] = event.target.value.split(":");
  if (!status) {
    return;
  }
  const command = { action: "set_status", status };
  if (reason !== undefined) {
    command.reason = Number(reason);
  }
  event.target.value = "";
  send(command);
});
document.getElementById("diagnostics-button").addEventListener("click", () => {
  showDiagnostics().catch((err) => console.error("diagnostics failed", err));
});
document.getElementById("settings-button").addEventListener("click", () => {
  invoke("open_settings").catch((err) => console.error("cannot open the settings", err));
});
document.getElementById("dial").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = document.getElementById("dial-number").value.trim();
  send({ action: "dial", number });
});

// A language change re-renders the text this window builds in code.
window.i18n.onChange(() => {
  if (lastView !== null) {
    render(lastView);
  }
});
// A tel:/sip:/callto: link the panel could not dial by itself (not connected yet, or refused) waits in the dial box.
listen("dial-link", (event) => {
  const box = document.getElementById("dial-number");
  box.value = event.payload.number;
  box.focus();
}).catch((err) => console.error("cannot receive links", err));
listen("view", (event) => render(event.payload)).catch((err) => console.error("cannot follow the panel", err));
invoke("startup")
  .then(renderStartup)
  .then(() => invoke("get_view"))
  .then(render)
  .catch((err) => console.error("cannot read the panel view", err));
