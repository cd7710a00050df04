// The ringing popup: who is calling, and Answer/Decline while the model allows them; while another call is in
// progress (call waiting), Hold for that call too, and answering holds it by itself. It shows the view's `popup`
// call; the shell shows and hides the window itself. Foreign text goes in with textContent only.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

let shownRev = 0;
let lastView = null;

function render(view) {
  if (view === null || view.rev < shownRev) {
    return;
  }
  shownRev = view.rev;
  lastView = view;
  const call = view.popup;
  const party = call ? call.party : null;
  const name = party && party.unknown ? window.i18n.t("party.unknown") : party ? party.display : null;
  document.getElementById("caller-name").textContent = name ?? window.i18n.t("popup.incoming");
  const number = party && party.number_display && party.number_display !== party.display ? party.number_display : "";
  document.getElementById("caller-company").textContent = party?.contact?.company ?? "";
  document.getElementById("caller-number").textContent = number;
  for (const action of ["answer", "decline"]) {
    const allowed = call !== null && view.actions.includes(action);
    const button = document.getElementById(action);
    button.disabled = !allowed;
  }
  const waiting = call !== null && view.call !== null && view.call.id !== call.id;
  document.getElementById("hold").hidden = !(waiting && view.actions.includes("hold"));
  document.getElementById("answer").title = waiting ? window.i18n.t("popup.answer.waiting") : "";
}

for (const action of ["answer", "decline", "hold"]) {
  document.getElementById(action).addEventListener("click", () => {
    invoke("command", { command: { action } }).catch((err) => console.error(`${action} failed`, err));
  });
}

window.i18n.onChange(() => {
  if (lastView !== null) {
    shownRev = 0;
    render(lastView);
  }
});

listen("view", (event) => render(event.payload)).catch((err) => console.error("cannot follow the panel", err));
invoke("get_view")
  .then(render)
  .catch((err) => console.error("cannot read the panel view", err));
