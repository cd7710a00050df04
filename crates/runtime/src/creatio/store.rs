//! The outbox on disk: one SQLite file in the data folder that mirrors [`creatio::outbox::Outbox`].
//!
//! The outbox is the only record of calls Creatio has not acknowledged yet, so the file is written the careful way:
//! WAL journal with `synchronous=FULL` (a commit is on disk before the request it announces leaves), one transaction
//! per batch of [`Outbox::take_changes`](creatio::outbox::Outbox::take_changes), and nothing ever replaced on its
//! own. A file that is not ours, is damaged, or was written by a newer panel is an error with a sentence the
//! operator can act on; the panel then stops writing calls rather than start an empty outbox over the old one.
//!
//! Each record is kept whole as JSON (the core's serde form), with its id, call and state beside it in columns so
//! the file can be inspected with the `sqlite3` tool. Beside the outbox, the file keeps the operator's recent calls
//! (`call_history`, folded from the recorded writes), which the history list shows while Creatio is offline. The schema carries a version (`user_version`) and an
//! application id, and [`OutboxStore::open`] migrates older files forward.

use std::path::{Path, PathBuf};

use creatio::calls::CallWrite;
use creatio::history::HistoryEntry;
use creatio::outbox::{Change, Record, RecordId, RecordState};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::Serialize;
use tracing::{debug, info};
use uuid::Uuid;

/// The outbox's file name inside the data folder ([`crate::paths::AppPaths::data_dir`]).
pub const OUTBOX_FILE: &str = "creatio-outbox.sqlite";

/// `PRAGMA application_id`: "OKPO" (Oktell Panel Outbox), so a foreign SQLite file is recognised.
const APPLICATION_ID: i32 = 0x4F4B_504F;
/// The schema this build writes; [`migrate`] brings older files up to it. Version 2 added the local call history.
const SCHEMA_VERSION: i32 = 2;
/// How many calls the local history keeps (newest by start): enough for any offline history list.
const HISTORY_KEPT: i64 = 500;
/// How long to wait for another connection's lock (a second panel on the same file, a backup tool).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the outbox file cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is not an SQLite database, or SQLite found it damaged.
    #[error(
        "the call outbox {path} is damaged ({detail}); the panel left it untouched: move it aside to start a new \
         outbox, or keep it for support to recover the unsent calls"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite or the record decoder said.
        detail: String,
    },
    /// A valid SQLite database that some other program wrote.
    #[error("{path} is not an Oktell Panel call outbox (it belongs to another program); the panel left it untouched")]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// A newer panel wrote the file; this one would misread it.
    #[error(
        "the call outbox {path} was written by a newer Oktell Panel (schema {found}, this one knows {known}); \
         update the panel on this workstation"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The file's schema version.
        found: i32,
        /// The newest version this build understands.
        known: i32,
    },
    /// The data folder cannot be created.
    #[error("the folder {path} for the call outbox cannot be created: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or writing failed (disk full, permissions, locked by another process).
    #[error("the call outbox {path} cannot be {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// "opened", "read", "written".
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// The open outbox file.
#[derive(Debug)]
pub struct OutboxStore {
    path: PathBuf,
    connection: Connection,
}

impl OutboxStore {
    /// Opens the outbox at `path`, creating it (and its folder) if it is missing, checking that an existing file
    /// is ours and intact, and migrating an older schema.
    pub fn open(path: &Path) -> Result<OutboxStore, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let connection = Connection::open(path).map_err(|e| classify(path, "opened", e))?;
        let store = OutboxStore {
            path: path.to_path_buf(),
            connection,
        };
        store.configure()?;
        store.check_integrity()?;
        store.migrate()?;
        info!(path = %store.path.display(), "call outbox open");
        Ok(store)
    }

    /// How long a commit waits for a lock another process holds (a backup tool, a second panel) before it fails;
    /// the driver then keeps the changes and sends nothing until a later commit succeeds.
    pub fn set_lock_wait(&self, wait: std::time::Duration) -> Result<(), StoreError> {
        self.connection
            .busy_timeout(wait)
            .map_err(|e| classify(&self.path, "opened", e))
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> Result<(), StoreError> {
        let c = &self.connection;
        let fail = |e| classify(&self.path, "opened", e);
        c.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        // The first statement that reads the header: a file that is not SQLite fails here.
        let mode: String = c
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            debug!(%mode, "SQLite kept another journal mode");
        }
        c.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
        c.pragma_update(None, "foreign_keys", true).map_err(fail)?;
        Ok(())
    }

    fn check_integrity(&self) -> Result<(), StoreError> {
        let verdict: String = self
            .connection
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| classify(&self.path, "read", e))?;
        if verdict != "ok" {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: verdict,
            });
        }
        Ok(())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let c = &self.connection;
        let read = |e| classify(&self.path, "read", e);
        let application_id: i32 = c
            .query_row("PRAGMA application_id", [], |row| row.get(0))
            .map_err(read)?;
        let version: i32 = c.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(read)?;
        let tables: i64 = c
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |row| {
                row.get(0)
            })
            .map_err(read)?;
        match (application_id, version) {
            (APPLICATION_ID, v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Newer {
                    path: self.path.clone(),
                    found: v,
                    known: SCHEMA_VERSION,
                });
            }
            (APPLICATION_ID, _) => {}
            (0, 0) if tables == 0 => {}
            _ => {
                return Err(StoreError::Foreign {
                    path: self.path.clone(),
                });
            }
        }
        migrate(c, version).map_err(|e| classify(&self.path, "written", e))
    }

    /// Every stored record in delivery order, for [`Outbox::restore`](creatio::outbox::Outbox::restore).
    pub fn load(&self) -> Result<Vec<Record>, StoreError> {
        let read = |e| classify(&self.path, "read", e);
        let mut statement = self
            .connection
            .prepare("SELECT id, body FROM record ORDER BY id")
            .map_err(read)?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
            .map_err(read)?;
        let mut records = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(read)?;
            let record: Record = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("record {id} cannot be read: {e}"),
            })?;
            if i64::try_from(record.id.0).ok() != Some(id) {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("record {id} carries the id {}", record.id),
                });
            }
            records.push(record);
        }
        Ok(records)
    }

    /// Applies one batch of outbox changes atomically: after a crash the file holds either all of them or none.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let write = |e| classify(&path, "written", e);
        let transaction = self.connection.transaction().map_err(write)?;
        {
            let mut upsert = transaction
                .prepare_cached(
                    "INSERT INTO record (id, call_id, state, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, state = excluded.state,
                     body = excluded.body",
                )
                .map_err(write)?;
            let mut remove = transaction
                .prepare_cached("DELETE FROM record WHERE id = ?1")
                .map_err(write)?;
            for change in changes {
                match change {
                    Change::Upsert(record) => {
                        let body = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
                            path: path.clone(),
                            detail: format!("record {} cannot be encoded: {e}", record.id),
                        })?;
                        upsert
                            .execute(params![
                                sql_id(&path, record.id)?,
                                record.write.call_id().to_string(),
                                state_name(&record.state),
                                body
                            ])
                            .map_err(write)?;
                    }
                    Change::Remove(id) => {
                        remove.execute(params![sql_id(&path, *id)?]).map_err(write)?;
                    }
                }
            }
        }
        transaction.commit().map_err(write)?;
        debug!(changes = changes.len(), "outbox changes committed");
        Ok(())
    }

    /// The records Creatio refused, oldest first: what was to be written, why it was refused and how often it was
    /// tried.
    pub fn rejected(&self) -> Result<Vec<RejectedRecord>, StoreError> {
        Ok(self
            .load()?
            .into_iter()
            .filter_map(|record| match &record.state {
                RecordState::Rejected { reason } => Some(RejectedRecord {
                    record: record.id.0,
                    call_id: record.write.call_id().to_string(),
                    reason: reason.clone(),
                    attempts: record.attempts,
                    write: record.write.clone(),
                }),
                _ => None,
            })
            .collect())
    }

    /// [`OutboxStore::rejected`] as pretty JSON for the UI's "export" button, so someone can enter the calls by hand
    /// or send them to support.
    pub fn export_rejected(&self) -> Result<String, StoreError> {
        serde_json::to_string_pretty(&self.rejected()?).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("the rejected records cannot be encoded: {e}"),
        })
    }

    /// Folds recorded writes into the local call history, in one transaction, and keeps only the newest calls.
    /// `name_of` names the contacts and accounts the panel identified.
    pub fn remember_calls(
        &mut self,
        writes: &[CallWrite],
        name_of: impl Fn(Uuid) -> Option<String>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let write_error = |e| classify(&path, "written", e);
        let transaction = self.connection.transaction().map_err(write_error)?;
        for write in writes {
            let call_id = write.call_id().to_string();
            let stored: Option<String> = transaction
                .query_row("SELECT body FROM call_history WHERE call_id = ?1", [&call_id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(write_error)?;
            let known = stored.and_then(|body| serde_json::from_str::<HistoryEntry>(&body).ok());
            let Some(entry) = HistoryEntry::apply(known, write, &name_of) else {
                continue;
            };
            let body = serde_json::to_string(&entry).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                detail: format!("the history of call {call_id} cannot be encoded: {e}"),
            })?;
            transaction
                .execute(
                    "INSERT INTO call_history (call_id, started, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (call_id) DO UPDATE SET started = excluded.started, body = excluded.body",
                    params![call_id, entry.started.to_string(), body],
                )
                .map_err(write_error)?;
        }
        transaction
            .execute(
                "DELETE FROM call_history WHERE call_id NOT IN
                 (SELECT call_id FROM call_history ORDER BY started DESC LIMIT ?1)",
                [HISTORY_KEPT],
            )
            .map_err(write_error)?;
        transaction.commit().map_err(write_error)
    }

    /// The newest `limit` calls of the local history. An entry this build cannot read is skipped, not fatal: the
    /// history is a convenience, the outbox is what must not be lost.
    pub fn recent_calls(&self, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let read = |e| classify(&self.path, "read", e);
        let mut statement = self
            .connection
            .prepare_cached("SELECT body FROM call_history ORDER BY started DESC LIMIT ?1")
            .map_err(read)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map([limit], |row| row.get::<_, String>(0))
            .map_err(read)?;
        let mut entries = Vec::new();
        for body in rows {
            match serde_json::from_str(&body.map_err(read)?) {
                Ok(entry) => entries.push(entry),
                Err(error) => debug!(%error, "an unreadable local history entry skipped"),
            }
        }
        Ok(entries)
    }
}

/// One record Creatio refused for good, as the UI lists it and [`OutboxStore::export_rejected`] writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRecord {
    /// The outbox record (what [`crate::creatio::CreatioLink::discard_rejected`] takes).
    pub record: u64,
    /// The `Call.Id`.
    pub call_id: String,
    /// Creatio's reason, as a sentence.
    pub reason: String,
    /// How many times it was sent.
    pub attempts: u32,
    /// What was to be written.
    pub write: CallWrite,
}

/// Brings the schema from `from` to [`SCHEMA_VERSION`], one step per version, in one transaction.
fn migrate(connection: &Connection, from: i32) -> rusqlite::Result<()> {
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    let mut script = String::from("BEGIN IMMEDIATE;\n");
    if from < 1 {
        script.push_str(
            "CREATE TABLE record (
                 id INTEGER PRIMARY KEY,
                 call_id TEXT NOT NULL,
                 state TEXT NOT NULL,
                 body TEXT NOT NULL
             ) STRICT;
             CREATE INDEX record_by_state ON record (state);\n",
        );
    }
    if from < 2 {
        script.push_str(
            "CREATE TABLE call_history (
                 call_id TEXT PRIMARY KEY,
                 started TEXT NOT NULL,
                 body TEXT NOT NULL
             ) STRICT;
             CREATE INDEX call_history_by_start ON call_history (started);\n",
        );
    }
    script.push_str(&format!(
        "PRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
    ));
    info!(from, to = SCHEMA_VERSION, "migrating the call outbox schema");
    connection.execute_batch(&script)
}

/// SQLite keys are signed; record ids count up from 1 and never near 2^63, but a wrong one must not wrap.
fn sql_id(path: &Path, id: RecordId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("record id {id} is out of range"),
    })
}

fn state_name(state: &RecordState) -> &'static str {
    match state {
        RecordState::Pending => "pending",
        RecordState::Sending => "sending",
        RecordState::Confirming => "confirming",
        RecordState::Rejected { .. } => "rejected",
    }
}

/// Sorts SQLite's errors: damage and "not a database" are [`StoreError::Corrupt`]; the rest are I/O.
fn classify(path: &Path, action: &'static str, error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: error.to_string(),
        },
        _ => StoreError::Io {
            path: path.to_path_buf(),
            action,
            source: error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_commit_waits_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
        let synchronous: i64 = store
            .connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
        let mode: String = store
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
