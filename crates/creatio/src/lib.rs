//! Sans-IO Creatio CRM client for the operator panel.
//!
//! The crate builds HTTP requests as plain data and interprets responses given as data; the
//! runtime crate owns the sockets, the clock, randomness and the SQLite store. Reference:
//! `shared/creatio/CREATIO.md` (section numbers in doc comments point there; `[INF]` marks
//! behaviour the reference infers rather than documents, kept tolerant or configurable).
//!
//! * [`wire`]: OData 4 payloads, login and token bodies, the fixed GUIDs.
//! * [`site`]: the configured instance (origin, app path, `/0/odata` or `/odata`).
//! * [`auth`] and [`session`]: forms or OAuth login, cookies and CSRF header, one re-login
//!   and one retry when the session has ended.
//! * [`identify`]: caller identification with Creatio's own number rules, plus a cache.
//! * [`card`] and [`contact`]: card page URLs on the configured site; creating a contact.
//! * [`calls`]: a call's timeline to `Call` record writes.
//! * [`outbox`]: the durable, ordered, idempotent delivery of those writes.
//! * [`history`]: the operator's recent calls from Creatio, merged with the ones still waiting.
//!
//! # Driving it
//!
//! One task owns a [`session::Session`] tagged with the caller of each request, the
//! [`outbox::Outbox`] and the [`identify::Identifier`]. On every wake-up (an HTTP answer, a
//! command, or the outbox deadline), with `now` read once:
//!
//! 1. feed the input: `session.handle_response` / `handle_transport_error`, or
//!    `outbox.enqueue`, or `identifier.start` (submitting the lookup's requests);
//! 2. drain `outbox.poll_request(now)`: write `outbox.take_changes()` to the store in one
//!    transaction, *then* `session.submit(now, tag, request)`;
//! 3. drain `session.poll_transmit()` to the HTTP client, never following redirects;
//! 4. drain `session.poll_event()`: answers go back to the outbox (`handle_response` /
//!    `handle_failure`, then persist `take_changes()` again) or to the lookup;
//! 5. repeat 2–4 until nothing moves, then sleep until `outbox.poll_timeout()`.
//!
//! After a crash, `Outbox::restore` with the stored records continues where it stopped.

pub mod auth;
pub mod calls;
pub mod card;
pub mod contact;
pub mod error;
pub mod history;
pub mod http;
pub mod identify;
pub mod outbox;
pub mod session;
pub mod site;
pub mod wire;
