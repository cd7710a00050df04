//! Passwords for Oktell, SIP and Creatio, kept out of the configuration file.
//!
//! The OS keyring is the default. Machines without a Secret Service (a kiosk session, CI) may choose a file
//! instead, but only by saying so in the configuration (`[secrets] store = "file"`): a keyring that fails is
//! reported, never silently replaced by plaintext.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::SecretStoreKind;

/// The keyring service name every entry is filed under.
pub const KEYRING_SERVICE: &str = "oktell-panel";

/// Which password an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKey {
    /// The Oktell password of a login.
    Oktell {
        /// The Oktell login.
        login: String,
    },
    /// The SIP digest password of an address of record.
    Sip {
        /// The SIP URI.
        uri: String,
    },
    /// The Creatio password of a user.
    Creatio {
        /// The Creatio user name.
        user: String,
    },
}

impl SecretKey {
    /// The account name under [`KEYRING_SERVICE`], e.g. `oktell:op1`.
    pub fn account(&self) -> String {
        match self {
            SecretKey::Oktell { login } => format!("oktell:{login}"),
            SecretKey::Sip { uri } => format!("sip:{uri}"),
            SecretKey::Creatio { user } => format!("creatio:{user}"),
        }
    }
}

/// A password. It never appears in `Debug` output, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The clear text, for the one place that hashes or sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a password could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS keyring did not answer (no Secret Service running, locked, refused).
    #[error(
        "the OS keyring is not available ({detail}); start a Secret Service (e.g. gnome-keyring) or set \
         `[secrets] store = \"file\"` in the configuration to keep passwords in {file}, readable only by you"
    )]
    KeyringUnavailable {
        /// The keyring's own explanation.
        detail: String,
        /// The file that the `file` store would use.
        file: PathBuf,
    },
    /// The secrets file could not be read or written.
    #[error("cannot use the secrets file {path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// Reads and writes passwords.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The password for `key`, or `None` when none is stored.
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError>;
    /// Stores the password for `key`, replacing any previous one.
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), SecretError>;
    /// Forgets the password for `key`; forgetting an absent one is not an error.
    fn delete(&self, key: &SecretKey) -> Result<(), SecretError>;
}

/// Opens the store the configuration asks for. `secrets_file` is where the `file` store keeps its data, and what
/// a keyring error suggests as the alternative.
pub fn open(kind: SecretStoreKind, secrets_file: &Path) -> Box<dyn SecretStore> {
    match kind {
        SecretStoreKind::Keyring => Box::new(KeyringStore {
            fallback_hint: secrets_file.to_path_buf(),
        }),
        SecretStoreKind::File => Box::new(FileStore::new(secrets_file)),
    }
}

/// The OS keyring.
#[derive(Debug)]
pub struct KeyringStore {
    fallback_hint: PathBuf,
}

impl KeyringStore {
    fn entry(&self, key: &SecretKey) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(KEYRING_SERVICE, &key.account()).map_err(|err| self.unavailable(&err))
    }

    fn unavailable(&self, err: &keyring::Error) -> SecretError {
        SecretError::KeyringUnavailable {
            detail: err.to_string(),
            file: self.fallback_hint.clone(),
        }
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        match self.entry(key)?.get_password() {
            Ok(password) => Ok(Some(Secret(password))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(self.unavailable(&err)),
        }
    }

    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), SecretError> {
        self.entry(key)?
            .set_password(secret.expose())
            .map_err(|err| self.unavailable(&err))
    }

    fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(self.unavailable(&err)),
        }
    }
}

/// Passwords in a TOML file with mode 0600, chosen explicitly for machines without a keyring.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store backed by `path` (created on the first `set`).
    pub fn new(path: &Path) -> FileStore {
        FileStore {
            path: path.to_path_buf(),
        }
    }

    fn error(&self, detail: impl fmt::Display) -> SecretError {
        SecretError::File {
            path: self.path.clone(),
            detail: detail.to_string(),
        }
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => toml::from_str(&text).map_err(|err| self.error(format!("not a valid secrets file: {err}"))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) => Err(self.error(err)),
        }
    }

    fn write_all(&self, entries: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let text = toml::to_string(entries).map_err(|err| self.error(err))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|err| self.error(err))?;
        }
        let partial = self.path.with_extension("toml.partial");
        write_private(&partial, text.as_bytes()).map_err(|err| self.error(err))?;
        std::fs::rename(&partial, &self.path).map_err(|err| self.error(err))
    }
}

/// Writes a file that only its owner can read, with the mode set at creation so there is no readable moment.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl SecretStore for FileStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        Ok(self.read_all()?.remove(&key.account()).map(Secret))
    }

    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), SecretError> {
        let mut entries = self.read_all()?;
        entries.insert(key.account(), secret.expose().to_owned());
        self.write_all(&entries)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
        let mut entries = self.read_all()?;
        if entries.remove(&key.account()).is_some() {
            self.write_all(&entries)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn the_file_store_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("secrets.toml");
        let store = FileStore::new(&path);
        let oktell = SecretKey::Oktell { login: "op1".into() };
        let sip = SecretKey::Sip {
            uri: "sip:101@pbx".into(),
        };

        assert_eq!(store.get(&oktell).unwrap(), None);
        store.set(&oktell, &Secret::new("demo")).unwrap();
        store.set(&sip, &Secret::new("p101")).unwrap();
        assert_eq!(store.get(&oktell).unwrap(), Some(Secret::new("demo")));

        let reopened = FileStore::new(&path);
        assert_eq!(reopened.get(&sip).unwrap(), Some(Secret::new("p101")));
        reopened.delete(&sip).unwrap();
        reopened.delete(&sip).unwrap();
        assert_eq!(store.get(&sip).unwrap(), None);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secrets file mode {mode:o} is readable by others");
        }
    }

    #[test]
    fn a_corrupt_secrets_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "not = [toml").unwrap();
        let err = FileStore::new(&path)
            .get(&SecretKey::Creatio { user: "op1".into() })
            .unwrap_err();
        assert!(matches!(err, SecretError::File { .. }), "{err}");
    }

    #[test]
    fn a_keyring_failure_explains_the_file_alternative() {
        let err = SecretError::KeyringUnavailable {
            detail: "no Secret Service".into(),
            file: "/x/secrets.toml".into(),
        };
        let text = err.to_string();
        assert!(text.contains("store = \"file\""), "{text}");
        assert!(text.contains("/x/secrets.toml"), "{text}");
    }
}
