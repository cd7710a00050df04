// The panel renders the PanelView it gets from the core and sends commands; it keeps no call state of its own.
// Every text that came from outside is set with textContent, never as HTML.
"use strict";

const { invoke } = window.__TAURI__.core;

const HEALTH_WORDS = {
  off: "not configured",
  idle: "not connected",
  up: "connected",
  down: "unavailable",
};
const SYSTEM_NAMES = { oktell: "Oktell", sip: "Phone", creatio: "Creatio" };

function render(view) {
  document.getElementById("mode").hidden = view.mode !== "demo";
  const list = document.getElementById("systems");
  list.replaceChildren(
    ...view.systems.map((health) => {
      const item = document.createElement("li");
      item.className = `system ${health.state}`;
      item.dataset.system = health.system;
      const name = document.createElement("span");
      name.className = "system-name";
      name.textContent = SYSTEM_NAMES[health.system] ?? health.system;
      const state = document.createElement("span");
      state.className = "system-state";
      state.textContent = HEALTH_WORDS[health.state] ?? health.state;
      item.title = health.detail;
      item.append(name, state);
      return item;
    }),
  );
  if (view.dial) {
    document.getElementById("dial-number").value = view.dial;
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

document.getElementById("diagnostics-button").addEventListener("click", () => {
  showDiagnostics().catch((err) => console.error("diagnostics failed", err));
});
document.getElementById("dial").addEventListener("submit", (event) => event.preventDefault());

invoke("get_view").then(render).catch((err) => console.error("cannot read the panel view", err));
