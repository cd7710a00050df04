//! The Oktell WebSocket protocol as the server speaks it: framing ([`wire`]), one session per
//! socket ([`connection`]), the request methods (`methods`) and event delivery (`events`).

pub mod connection;
pub(crate) mod events;
pub(crate) mod methods;
pub mod wire;
