//! One diesel connection type over both backends, and how it is established.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use super::{Backend, DatabaseUrl};

/// A connection to either backend. Queries are written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// SQLite settings applied to every new connection: a busy timeout so a second writer
/// waits instead of failing, WAL so readers never block the writer, and foreign keys.
/// The timeout comes first: switching a new file to WAL takes a lock, and a process
/// opening the same new file at that moment must wait for it, not fail.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;";

/// Establishes a connection for the backend named by the URL's scheme. Unlike
/// `MultiConnection::establish`, this never tries another backend: a PostgreSQL URL
/// that cannot be reached is an error, not a SQLite file named after the URL.
pub fn establish(url: &DatabaseUrl) -> ConnectionResult<DbConn> {
    match url.backend() {
        Backend::Postgres => PgConnection::establish(url.connect_string()).map(DbConn::Postgres),
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(url.connect_string())?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs `f` in a write transaction. On SQLite the write lock is taken up front
    /// (`BEGIN IMMEDIATE`), so two concurrent writers queue on the busy timeout rather
    /// than one failing with "database is locked" when it upgrades a read lock.
    pub fn write_tx<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        match self {
            DbConn::Sqlite(inner) => {
                AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            }
            DbConn::Postgres(_) => {
                <DbConn as Connection>::TransactionManager::begin_transaction(self)?;
            }
        }
        // The transaction depth lives in the inner connection, so the multi-connection's
        // manager commits or rolls back what was begun above.
        match f(self) {
            Ok(value) => {
                <DbConn as Connection>::TransactionManager::commit_transaction(self)?;
                Ok(value)
            }
            Err(e) => {
                <DbConn as Connection>::TransactionManager::rollback_transaction(self)?;
                Err(e)
            }
        }
    }
}
