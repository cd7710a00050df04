// The ringing popup: shows who is calling and offers answer/decline once the call model drives it.
"use strict";

const { invoke } = window.__TAURI__.core;

invoke("get_view").catch((err) => console.error("cannot read the panel view", err));
