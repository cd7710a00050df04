// The panel renders the PanelView it gets from the core and sends commands; it keeps no call state of its own.
// Every text that came from outside is set with textContent, never as HTML.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const SYSTEM_NAMES = { oktell: "Oktell", sip: "Phone", creatio: "Creatio" };
// Start-up health (configured servers, no live panel yet) and live health share one list.
const HEALTH_WORDS = {
  off: "not configured",
  idle: "not connected",
  up: "connected",
  down: "unavailable",
  ok: "connected",
  connecting: "connecting",
  not_configured: "not configured",
  behind: "records waiting",
};
const AGENT_WORDS = {
  offline: "Offline",
  ready: "Ready",
  ready_call_center: "Ready (call centre)",
  ready_call_center_manual: "Ready (call centre, manual)",
  break: "Break",
  dnd: "Do not disturb",
  redirect: "Redirecting",
  no_phone: "No phone",
};
const CALL_STATE_WORDS = {
  ringing: "Ringing",
  ring_back: "Ringing back",
  dialling: "Dialling",
  talking: "Talking",
  held: "On hold",
};
const OUTCOME_WORDS = { answered: "answered", missed: "missed", declined: "declined", failed: "failed" };
const CALL_ACTIONS = ["answer", "decline", "hold", "resume", "hangup", "open_card"];

let shownRev = 0;

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
      name.textContent = SYSTEM_NAMES[system] ?? system;
      const words = document.createElement("span");
      words.className = "system-state";
      words.textContent = HEALTH_WORDS[state] ?? state;
      item.title = detail ?? "";
      item.append(name, words);
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
  const words = AGENT_WORDS[agent.status] ?? agent.status;
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
  const choices = [["", "Change status…"], ["ready", "Ready"]];
  for (const reason of agent.break_reasons) {
    choices.push([`break:${reason.id}`, `Break: ${reason.name}`]);
  }
  if (agent.break_reasons.length === 0) {
    choices.push(["break", "Break"]);
  }
  choices.push(["dnd", "Do not disturb"]);
  // Rebuilt only when the choices change: the view arrives every second during a call, and rebuilding would
  // close the list under the operator's pointer.
  const signature = JSON.stringify(choices);
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...choices.map(([value, text]) => option(value, text)));
    select.dataset.signature = signature;
  }
}

function renderCall(view) {
  // A call on hold is no longer the current one, but it is still the operator's to resume.
  const call = view.call ?? view.held[0] ?? null;
  document.getElementById("call-empty").hidden = call !== null;
  document.getElementById("call-card").hidden = call === null;
  for (const action of CALL_ACTIONS) {
    document.getElementById(`action-${action}`).hidden = call === null || !view.actions.includes(action);
  }
  if (call === null) {
    return;
  }
  const party = call.party;
  document.getElementById("call-name").textContent = party.display;
  const number = party.number_display && party.number_display !== party.display ? party.number_display : "";
  document.getElementById("call-number").textContent = number;
  const direction = call.direction === "outgoing" ? "Outgoing" : "Incoming";
  const state = CALL_STATE_WORDS[call.state] ?? call.state;
  const timer = call.state === "talking" ? duration(call.talk_secs) : duration(call.elapsed_secs);
  document.getElementById("call-state").textContent = `${direction} · ${state} · ${timer}`;
}

function renderHistory(view) {
  const list = document.getElementById("history");
  document.getElementById("history-empty").hidden = view.history.length > 0;
  list.replaceChildren(
    ...view.history.map((entry) => {
      const item = document.createElement("li");
      item.className = String(entry.outcome);
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = `${entry.direction === "outgoing" ? "→" : "←"} ${entry.party.display}`;
      const outcome = document.createElement("span");
      outcome.className = "outcome";
      const words = OUTCOME_WORDS[entry.outcome] ?? String(entry.outcome);
      const when = new Date(entry.started_unix_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      outcome.textContent = entry.talk_secs > 0 ? `${when} · ${words} · ${duration(entry.talk_secs)}` : `${when} · ${words}`;
      item.append(who, outcome);
      return item;
    }),
  );
}

function render(view) {
  if (view === null || view.rev < shownRev) {
    return;
  }
  shownRev = view.rev;
  renderAgent(view);
  renderSystems([
    { system: "oktell", ...view.health.oktell, detail: view.health.oktell.message },
    { system: "sip", ...view.health.sip, detail: view.health.sip.message },
    { system: "creatio", ...view.health.creatio, detail: view.health.creatio.message },
  ]);
  const notice = document.getElementById("notice");
  notice.hidden = !view.notice;
  notice.textContent = view.notice ?? "";
  renderCall(view);
  renderHistory(view);
  document.getElementById("dial-button").disabled = !view.actions.includes("dial");
}

async function send(command) {
  try {
    await invoke("command", { command });
  } catch (err) {
    // The refusal's sentence also arrives in the view's notice; this covers "not ready" and malformed commands.
    const notice = document.getElementById("notice");
    notice.textContent = err && err.message ? err.message : String(err);
    notice.hidden = false;
  }
}

async function showDiagnostics() {
  const box = document.getElementById("diagnostics");
  const facts = await invoke("diagnostics");
  const rows = [
    ["Version", facts.version],
    ["Platform", facts.platform],
    ["Configuration", facts.config_file],
    ["Logs", facts.log_dir ?? "stderr only"],
    ["Tray icon", facts.tray ? "yes" : "no (closing the panel quits)"],
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
document.getElementById("dial").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = document.getElementById("dial-number").value.trim();
  send({ action: "dial", number });
});

listen("view", (event) => render(event.payload)).catch((err) => console.error("cannot follow the panel", err));
invoke("startup")
  .then(renderStartup)
  .then(() => invoke("get_view"))
  .then(render)
  .catch((err) => console.error("cannot read the panel view", err));
