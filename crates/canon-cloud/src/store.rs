//! The store: one SQLite database, in a file or in memory.
//!
//! # Durability
//!
//! A file store runs in WAL mode with `synchronous = FULL`: each commit
//! appends to the write-ahead log and fsyncs it before the call returns.
//! WAL alone (with `synchronous = NORMAL`) already keeps committed writes
//! across a crash of the process, such as `kill -9`, because the log is in
//! the operating system's cache; `FULL` also keeps them across a crash of
//! the machine. An emulator that tells a client "created" must not forget
//! it, and one fsync per write costs far less than the HTTP round trip
//! around it, so the emulator pays it. Reads and no-op settles write
//! nothing and sync nothing.
//!
//! The in-memory store ([`Store::in_memory`]) keeps nothing after it is
//! dropped.
//!
//! # Concurrency
//!
//! The store holds one connection behind a `Mutex`, which makes it `Send +
//! Sync` and serialises every operation. At an emulator's scale (one
//! client suite, thousands of requests per second at most) that is
//! simpler and no slower than a pool: every operation is one short
//! transaction of a few indexed statements (`BEGIN IMMEDIATE` in a file,
//! which other connections may share; `BEGIN DEFERRED` in memory, which
//! they cannot). Handlers that must not block an async executor can call
//! into the domain from `spawn_blocking`.
//!
//! # What is due
//!
//! Every domain transaction settles the transitions that are due, at its
//! start and at its end. Most of the time nothing is, so the store keeps
//! in memory a lower bound of the instants at which something could be:
//! the earliest `due_at` of any resource, or "now" while an operation is
//! open. A settle runs only when the clock has reached that bound.
//!
//! The bound is kept by SQLite itself: temporary triggers (in this
//! connection only, never in the file) lower it whenever a resource is
//! given a due time or an operation is opened or reopened, whatever the
//! statement that did it. A settle that runs raises it again from the
//! tables. It starts unknown (so the first transaction after opening a
//! store reads it from the tables), and it goes back to unknown when a
//! transaction rolls back, or when a file store was changed by another
//! connection (`PRAGMA data_version`): when unsure, settle.
//!
//! # What was read of the API keys
//!
//! The [`Cloud`](crate::Cloud) keeps the keys it verified in memory, each
//! with the store's *key generation* at which it was read. Temporary
//! triggers move the generation on at every write to the table of keys,
//! and a file store moves it on when another connection changed the file;
//! a key revoked or changed, through whichever connection, is therefore
//! refused or read again on the next request.
//!
//! # Schema
//!
//! The schema is created and migrated when the store is opened, tracked by
//! `PRAGMA user_version`; a database from a newer emulator is refused
//! rather than misread. Foreign keys are on.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};

use crate::clock::Timestamp;
use crate::repo::Res;

/// The SQLite database behind a [`Cloud`](crate::Cloud).
pub struct Store {
    connection: Mutex<Open>,
    path: Option<PathBuf>,
    due: Arc<DueBound>,
    keys: Arc<AtomicU64>,
}

/// The connection, and the last `PRAGMA data_version` it read (file
/// stores only).
struct Open {
    connection: Connection,
    data_version: Option<i64>,
}

/// A lower bound, in milliseconds since the epoch, of the instants at
/// which a settle could have anything to do: nothing is due before it.
/// `i64::MIN` when unknown or while an operation is open.
///
/// Every access happens under the store's lock (the triggers fire inside
/// a statement of the locked connection), so relaxed ordering suffices.
#[derive(Debug)]
pub(crate) struct DueBound(AtomicI64);

impl DueBound {
    const UNKNOWN: i64 = i64::MIN;

    /// Whether something may be due at `now`.
    pub(crate) fn may_be_due(&self, now: Timestamp) -> bool {
        now.as_millis() >= self.0.load(Ordering::Relaxed)
    }

    /// Records what a settle read from the tables.
    pub(crate) fn set(&self, bound: i64) {
        self.0.store(bound, Ordering::Relaxed);
    }

    /// Something may be due from `at` on.
    fn lower(&self, at: i64) {
        self.0.fetch_min(at, Ordering::Relaxed);
    }

    fn forget(&self) {
        self.set(DueBound::UNKNOWN);
    }
}

/// The function the triggers call.
const DUE_FUNCTION: &str = "canon_due_from";

/// The function the triggers on API keys call.
const KEYS_FUNCTION: &str = "canon_keys_changed";

/// The triggers that move the key generation on at every write to the
/// table of API keys (cascades from a deleted project included).
const KEY_TRIGGERS: &str = "
CREATE TEMP TRIGGER canon_keys_insert AFTER INSERT ON main.api_keys BEGIN SELECT canon_keys_changed(); END;
CREATE TEMP TRIGGER canon_keys_update AFTER UPDATE ON main.api_keys BEGIN SELECT canon_keys_changed(); END;
CREATE TEMP TRIGGER canon_keys_delete AFTER DELETE ON main.api_keys BEGIN SELECT canon_keys_changed(); END;
";

/// For each table of resources with states, the triggers that lower the
/// bound to a due time given to a row.
macro_rules! due_triggers {
    ($($table:literal),*) => {
        concat!($(
            "CREATE TEMP TRIGGER canon_due_", $table, "_insert AFTER INSERT ON main.", $table,
            " WHEN NEW.due_at IS NOT NULL BEGIN SELECT canon_due_from(NEW.due_at); END;\n",
            "CREATE TEMP TRIGGER canon_due_", $table, "_update AFTER UPDATE OF due_at ON main.", $table,
            " WHEN NEW.due_at IS NOT NULL BEGIN SELECT canon_due_from(NEW.due_at); END;\n",
        )*)
    };
}

/// The triggers: a resource given a due time lowers the bound to it; an
/// operation opened or reopened lowers it to "always" (`i64::MIN`).
const DUE_TRIGGERS: &str = concat!(
    due_triggers!("vms", "disks", "clusters", "images"),
    "CREATE TEMP TRIGGER canon_due_operations_insert AFTER INSERT ON main.operations
    WHEN NEW.state IN ('PENDING', 'RUNNING')
    BEGIN SELECT canon_due_from(-9223372036854775807 - 1); END;
CREATE TEMP TRIGGER canon_due_operations_update AFTER UPDATE OF state ON main.operations
    WHEN NEW.state IN ('PENDING', 'RUNNING')
    BEGIN SELECT canon_due_from(-9223372036854775807 - 1); END;
"
);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Why a store could not be opened.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    detail: String,
}

/// The kinds of [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database could not be opened or configured.
    Open,
    /// The schema could not be created or migrated.
    Migrate,
    /// The database was written by a newer version of the emulator.
    NewerSchema,
}

impl StoreError {
    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    fn new(kind: StoreErrorKind, detail: impl fmt::Display) -> StoreError {
        StoreError { kind, detail: detail.to_string() }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Open => "cannot open the store",
            StoreErrorKind::Migrate => "cannot migrate the store's schema",
            StoreErrorKind::NewerSchema => "the store was written by a newer emulator",
        };
        write!(f, "{what}: {}", self.detail)
    }
}

impl std::error::Error for StoreError {}

/// The schema, one migration per entry; `user_version` is the number of
/// migrations applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    billing_account_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE gpu_models (
    id TEXT PRIMARY KEY,
    vendor_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    memory_gib INTEGER NOT NULL
) STRICT;

CREATE TABLE data_centers (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    country TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    supplier_name TEXT NOT NULL,
    renewable_energy INTEGER NOT NULL
) STRICT;

CREATE TABLE machine_types (
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    id TEXT NOT NULL,
    gpu_model_id TEXT REFERENCES gpu_models(id),
    gpus INTEGER NOT NULL,
    vcpus INTEGER NOT NULL,
    memory_gib INTEGER NOT NULL,
    cpu_model TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    PRIMARY KEY (data_center_id, id)
) STRICT;

CREATE TABLE maintenance_windows (
    data_center_id TEXT PRIMARY KEY REFERENCES data_centers(id),
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE quotas (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    gpu_model_id TEXT NOT NULL REFERENCES gpu_models(id),
    gpu_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, data_center_id, gpu_model_id)
) STRICT;

CREATE TABLE vms (
    project_id TEXT NOT NULL REFERENCES projects(id),
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    data_center_id TEXT NOT NULL,
    machine_type_id TEXT NOT NULL,
    gpu_model_id TEXT,
    gpus INTEGER NOT NULL,
    vcpus INTEGER NOT NULL,
    memory_gib INTEGER NOT NULL,
    boot_disk_id TEXT NOT NULL,
    boot_disk_size_gib INTEGER NOT NULL,
    image_id TEXT,
    ssh_key_ids TEXT NOT NULL,
    metadata TEXT NOT NULL,
    internal_ip TEXT NOT NULL,
    external_ip TEXT NOT NULL,
    state TEXT NOT NULL,
    next_state TEXT,
    due_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    FOREIGN KEY (data_center_id, machine_type_id) REFERENCES machine_types(data_center_id, id)
) STRICT;
CREATE INDEX vms_due ON vms(due_at) WHERE due_at IS NOT NULL;

CREATE TABLE disks (
    project_id TEXT NOT NULL REFERENCES projects(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    size_gib INTEGER NOT NULL,
    storage_class TEXT NOT NULL,
    disk_type TEXT NOT NULL,
    image_id TEXT,
    vm_id TEXT,
    attach_mode TEXT,
    attached_at INTEGER,
    state TEXT NOT NULL,
    next_state TEXT,
    due_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT;
CREATE INDEX disks_due ON disks(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX disks_vm ON disks(project_id, vm_id) WHERE vm_id IS NOT NULL;

CREATE TABLE clusters (
    project_id TEXT NOT NULL REFERENCES projects(id),
    id TEXT NOT NULL,
    data_center_id TEXT NOT NULL,
    machine_type_id TEXT NOT NULL,
    machine_count INTEGER NOT NULL,
    state TEXT NOT NULL,
    next_state TEXT,
    due_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    FOREIGN KEY (data_center_id, machine_type_id) REFERENCES machine_types(data_center_id, id)
) STRICT;
CREATE INDEX clusters_due ON clusters(due_at) WHERE due_at IS NOT NULL;

CREATE TABLE ssh_keys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    key_type TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, fingerprint)
) STRICT;

CREATE TABLE images (
    project_id TEXT NOT NULL REFERENCES projects(id),
    id TEXT NOT NULL,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    description TEXT NOT NULL,
    source_url TEXT NOT NULL,
    size_gib INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    state TEXT NOT NULL,
    next_state TEXT,
    due_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT;
CREATE INDEX images_due ON images(due_at) WHERE due_at IS NOT NULL;

CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    kind TEXT NOT NULL,
    resources TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    deadline_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    version INTEGER NOT NULL
) STRICT;
CREATE INDEX operations_open ON operations(state) WHERE state IN ('PENDING', 'RUNNING');
"#,
    r#"
-- The keyed hash of the part of an API key before its first `$`, so that a
-- key cut short there by a shell can be told from an unknown one.
CREATE TABLE api_key_prefixes (
    key_id TEXT PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
    prefix_hash BLOB NOT NULL
) STRICT;
CREATE INDEX api_key_prefixes_hash ON api_key_prefixes(prefix_hash);

-- A reseller client's instance name templates (Gcore's
-- `allowed_name_templates`), as a JSON array.
CREATE TABLE name_templates (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    templates TEXT NOT NULL
) STRICT;
"#,
];

impl Store {
    /// Opens (creating if need be) the database file at `path`, in WAL mode
    /// with `synchronous = FULL`, and migrates its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let connection = Connection::open(path).map_err(|e| StoreError::new(StoreErrorKind::Open, e))?;
        let fail = |e: rusqlite::Error| StoreError::new(StoreErrorKind::Open, e);
        connection.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::new(StoreErrorKind::Open, format!("SQLite refused WAL mode (it kept `{mode}`)")));
        }
        connection.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
        Store::finish(connection, Some(path.to_path_buf()))
    }

    /// An ephemeral database in memory.
    pub fn in_memory() -> Result<Store, StoreError> {
        let connection = Connection::open_in_memory().map_err(|e| StoreError::new(StoreErrorKind::Open, e))?;
        Store::finish(connection, None)
    }

    fn finish(mut connection: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        let fail = |e: rusqlite::Error| StoreError::new(StoreErrorKind::Open, e);
        connection.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
        // Every statement the domain runs stays prepared.
        connection.set_prepared_statement_cache_capacity(256);
        migrate(&mut connection)?;
        let due = Arc::new(DueBound(AtomicI64::new(DueBound::UNKNOWN)));
        let lower = Arc::clone(&due);
        connection
            .create_scalar_function(DUE_FUNCTION, 1, FunctionFlags::SQLITE_UTF8, move |context| {
                let at: i64 = context.get(0)?;
                lower.lower(at);
                Ok(at)
            })
            .map_err(fail)?;
        connection.execute_batch(DUE_TRIGGERS).map_err(fail)?;
        let keys = Arc::new(AtomicU64::new(0));
        let changed = Arc::clone(&keys);
        connection
            .create_scalar_function(KEYS_FUNCTION, 0, FunctionFlags::SQLITE_UTF8, move |_| {
                changed.fetch_add(1, Ordering::SeqCst);
                Ok(0)
            })
            .map_err(fail)?;
        connection.execute_batch(KEY_TRIGGERS).map_err(fail)?;
        let data_version = match path {
            Some(_) => Some(connection.query_row("PRAGMA data_version", [], |row| row.get(0)).map_err(fail)?),
            None => None,
        };
        Ok(Store { connection: Mutex::new(Open { connection, data_version }), path, due, keys })
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether the store forgets everything when dropped.
    pub fn is_ephemeral(&self) -> bool {
        self.path.is_none()
    }

    /// The journal mode SQLite reports: `wal` for a file, `memory` in
    /// memory.
    pub fn journal_mode(&self) -> String {
        self.lock().connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // A panic inside a transaction rolled it back when the transaction
        // was dropped (and forgot the due bound), so the connection is
        // consistent: poisoning carries no information here.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bound of what may be due, valid inside [`Store::write`].
    pub(crate) fn due(&self) -> &DueBound {
        &self.due
    }

    /// The generation of the API keys: a number that changes whenever a
    /// key may have been added, changed or removed, by this connection
    /// (triggers on the table, whatever the statement) or, in a file, by
    /// another one (`PRAGMA data_version`, read now). What was read of the
    /// keys at one generation holds while it is current.
    pub(crate) fn key_generation(&self) -> rusqlite::Result<u64> {
        if self.path.is_some() {
            let mut guard = self.lock();
            let open = &mut *guard;
            let version: i64 =
                open.connection.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0))?;
            if open.data_version != Some(version) {
                self.changed_elsewhere();
                open.data_version = Some(version);
            }
        }
        Ok(self.keys.load(Ordering::SeqCst))
    }

    /// The generation of the API keys inside [`Store::write`], which has
    /// already looked for other connections' changes.
    pub(crate) fn key_generation_in_transaction(&self) -> u64 {
        self.keys.load(Ordering::SeqCst)
    }

    /// Another connection changed the file: forget what this one keeps in
    /// memory of it.
    fn changed_elsewhere(&self) {
        self.due.forget();
        self.keys.fetch_add(1, Ordering::SeqCst);
    }

    /// How a transaction begins. A file may have other connections (another
    /// process, a second store on the same path), so a transaction takes
    /// the write lock at once (`BEGIN IMMEDIATE`) rather than upgrade to
    /// it midway, which SQLite refuses when another connection wrote in
    /// between. A database in memory is this connection's alone: nothing
    /// can come between, and `BEGIN DEFERRED` does the same for less.
    fn begin(&self) -> &'static str {
        match self.path {
            Some(_) => "BEGIN IMMEDIATE",
            None => "BEGIN DEFERRED",
        }
    }

    /// Runs `f` in one transaction (see [`Store::begin`]), committed when
    /// `f` returns `Ok` and rolled back otherwise (or when `f` panics).
    ///
    /// `BEGIN` and `COMMIT` run from the statement cache, as every other
    /// statement does, so that a transaction parses no SQL.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> Res<T>) -> Res<T> {
        let mut guard = self.lock();
        let open = &mut *guard;
        // Until the commit, a failure or a panic leaves the bound unknown:
        // a settle inside the transaction may have raised it for rows that
        // the rollback brings back.
        let forget = OnDrop::new(|| self.due.forget());
        let connection = &open.connection;
        connection.prepare_cached(self.begin())?.execute([])?;
        // When `f` fails or panics, or the `COMMIT` fails. Nothing more can
        // be done if the rollback fails: the next `BEGIN` then fails too,
        // and says why.
        let rollback = OnDrop::new(|| {
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
        });
        // Another connection's commits change the data version this one
        // reads (its own do not): what this one keeps in memory may then
        // be stale.
        let changed_elsewhere = match open.data_version {
            Some(seen) => {
                let version: i64 = connection.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0))?;
                (version != seen).then_some(version)
            }
            None => None,
        };
        if changed_elsewhere.is_some() {
            self.changed_elsewhere();
        }
        let value = f(connection)?;
        connection.prepare_cached("COMMIT")?.execute([])?;
        rollback.disarm();
        if changed_elsewhere.is_some() {
            open.data_version = changed_elsewhere;
        }
        forget.disarm();
        Ok(value)
    }
}

/// Runs `undo` when dropped unless [`OnDrop::disarm`] was called first: it
/// undoes a step when what follows it fails or panics.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(undo: F) -> OnDrop<F> {
        OnDrop(Some(undo))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(undo) = self.0.take() {
            undo();
        }
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| StoreError::new(StoreErrorKind::Migrate, e);
    let version: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(fail)?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::new(
            StoreErrorKind::NewerSchema,
            format!("schema version {version}, this emulator knows up to {}", MIGRATIONS.len()),
        ));
    }
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", index + 1).map_err(fail)?;
    }
    tx.commit().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_memory_store_is_migrated_and_ephemeral() {
        let store = Store::in_memory().unwrap();
        assert!(store.is_ephemeral());
        assert_eq!(store.journal_mode(), "memory");
        let version: usize = store.lock().connection.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let fk: i64 = store.lock().connection.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn every_write_to_the_keys_moves_the_key_generation_on() {
        let store = Store::in_memory().unwrap();
        let setup =
            "INSERT INTO projects (id, number, name, billing_account_id, created_at) VALUES ('p', 1, 'p', 'b', 0)";
        store.write(|c| Ok(c.execute(setup, [])?)).unwrap();
        let table = [
            "INSERT INTO api_keys (id, project_id, name, key_hash, scopes, created_at) VALUES ('k', 'p', 'k', x'01', '', 0)",
            "UPDATE api_keys SET scopes = 'read:disks'",
            "INSERT OR REPLACE INTO api_keys (id, project_id, name, key_hash, scopes, created_at) VALUES ('k', 'p', 'k', x'01', '*', 0)",
            "DELETE FROM projects WHERE id = 'p'",
        ];
        for sql in table {
            let before = store.key_generation().unwrap();
            store.write(|c| Ok(c.execute(sql, [])?)).unwrap();
            assert!(store.key_generation().unwrap() > before, "{sql}");
        }
        // Nothing else does.
        let before = store.key_generation().unwrap();
        store.write(|c| Ok(c.execute("INSERT INTO settings (key, value) VALUES ('s', x'00')", [])?)).unwrap();
        assert_eq!(store.key_generation().unwrap(), before);
    }

    #[test]
    fn a_failed_transaction_is_rolled_back_and_the_next_one_begins() {
        let store = Store::in_memory().unwrap();
        let insert = "INSERT INTO settings (key, value) VALUES ('s', x'00')";
        let failed = store.write(|c| {
            c.execute(insert, [])?;
            Err::<(), _>(crate::repo::Fail::Db(rusqlite::Error::QueryReturnedNoRows))
        });
        assert!(failed.is_err());
        let count = |store: &Store| {
            store.write(|c| {
                Ok(c.query_row("SELECT COUNT(*) FROM settings WHERE key = 's'", [], |r| r.get::<_, i64>(0))?)
            })
        };
        assert_eq!(count(&store).unwrap(), 0);
        store.write(|c| Ok(c.execute(insert, [])?)).unwrap();
        assert_eq!(count(&store).unwrap(), 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", MIGRATIONS.len() + 1).unwrap();
        let error = migrate(&mut connection).unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::NewerSchema);
    }
}
