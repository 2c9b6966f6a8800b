//! Embedded migrations, one set per backend, and the schema-version check.
//!
//! The gateway's own tables are one [`MigrationSet`] ([`GATEWAY`]). Another part of the
//! binary may keep its own set in the same database (the reference Tasker does, so a
//! production database used with a real Tasker holds no `tasker_*` tables); a [`Db`]
//! told about such a set with [`Db::knowing`] does not mistake its versions for a newer
//! gateway schema.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Db, DbConn, StorageError};

/// One set of migrations, written once per backend.
pub struct MigrationSet {
    pub postgres: EmbeddedMigrations,
    pub sqlite: EmbeddedMigrations,
}

/// The gateway's own tables.
pub const GATEWAY: MigrationSet =
    MigrationSet { postgres: embed_migrations!("migrations/postgres"), sqlite: embed_migrations!("migrations/sqlite") };

/// Arbitrary constant key so two processes starting together do not migrate at once.
const PG_MIGRATION_LOCK: i64 = 0x4e44_4341_4757; // "NDCAGW"

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaStatus {
    Current,
    /// Migrations the binary has that the database has not run.
    Pending(Vec<String>),
    /// Migrations the database has run that this binary does not know.
    Newer(Vec<String>),
}

fn versions_of<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Result<BTreeSet<String>, StorageError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let migrations: Vec<Box<dyn Migration<DB>>> =
        MigrationSource::<DB>::migrations(source).map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
}

impl MigrationSet {
    /// The versions this set holds for the connection's backend.
    fn versions(&self, conn: &DbConn) -> Result<BTreeSet<String>, StorageError> {
        match conn {
            DbConn::Postgres(_) => versions_of::<Pg>(&self.postgres),
            DbConn::Sqlite(_) => versions_of::<Sqlite>(&self.sqlite),
        }
    }

    /// Runs this set's pending migrations under the migration lock; returns the versions
    /// applied. (No schema check: see [`run`] for the gateway's.)
    pub fn apply(&self, conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
        locked(conn, |conn| self.apply_unlocked(conn))
    }

    /// This set's versions the database has not applied (a reference Tasker's
    /// readiness: its tables exist as this binary expects).
    pub fn pending(&self, conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
        let ours = self.versions(conn)?;
        let applied = match conn {
            DbConn::Postgres(c) => applied(c)?,
            DbConn::Sqlite(c) => applied(c)?,
        };
        Ok(ours.difference(&applied).cloned().collect())
    }

    fn apply_unlocked(&self, conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
        let applied = match conn {
            DbConn::Postgres(c) => c.run_pending_migrations(Borrowed(&self.postgres)).map(versions),
            DbConn::Sqlite(c) => c.run_pending_migrations(Borrowed(&self.sqlite)).map(versions),
        };
        applied.map_err(|e| StorageError::Migration(e.to_string()))
    }
}

/// `run_pending_migrations` takes its source by value, and embedded sets are not `Clone`.
struct Borrowed<'a>(&'a EmbeddedMigrations);

impl<DB: diesel::backend::Backend> MigrationSource<DB> for Borrowed<'_> {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        MigrationSource::<DB>::migrations(self.0)
    }
}

/// Compares the migrations the database has applied with the gateway's, ignoring the
/// versions of the `known` other sets.
pub fn status(conn: &mut DbConn, known: &[&MigrationSet]) -> Result<SchemaStatus, StorageError> {
    let ours = GATEWAY.versions(conn)?;
    let mut others = BTreeSet::new();
    for set in known {
        others.extend(set.versions(conn)?);
    }
    let applied = match conn {
        DbConn::Postgres(c) => applied(c)?,
        DbConn::Sqlite(c) => applied(c)?,
    };
    let newer: Vec<String> = applied.iter().filter(|v| !ours.contains(*v) && !others.contains(*v)).cloned().collect();
    if !newer.is_empty() {
        return Ok(SchemaStatus::Newer(newer));
    }
    let pending: Vec<String> = ours.difference(&applied).cloned().collect();
    if pending.is_empty() { Ok(SchemaStatus::Current) } else { Ok(SchemaStatus::Pending(pending)) }
}

fn applied<DB, C>(conn: &mut C) -> Result<BTreeSet<String>, StorageError>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
{
    conn.applied_migrations()
        .map(|v| v.into_iter().map(|v| v.to_string()).collect())
        .map_err(|e| StorageError::Migration(e.to_string()))
}

/// Holds a migration lock around `f`: PostgreSQL's advisory lock, or on SQLite one
/// write transaction (each migration then runs in a savepoint). Without it, two
/// processes opening a new database at once both find the migrations pending, and the
/// second fails on tables the first has just made; with it, the second waits, then
/// finds them applied.
fn locked<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, StorageError>) -> Result<T, StorageError> {
    if let DbConn::Sqlite(_) = conn {
        return conn.write_tx(f);
    }
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
    }
    let result = f(conn);
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
    }
    result
}

/// Runs the gateway's pending migrations; refuses a schema newer than this binary.
/// Returns the versions applied.
pub fn run(conn: &mut DbConn, known: &[&MigrationSet]) -> Result<Vec<String>, StorageError> {
    locked(conn, |conn| {
        if let SchemaStatus::Newer(newer) = status(conn, known)? {
            return Err(StorageError::SchemaTooNew(newer.join(", ")));
        }
        GATEWAY.apply_unlocked(conn)
    })
}

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|v| v.to_string()).collect()
}

/// True when the database has applied at least one of the gateway's migrations (so it
/// is a gateway database, perhaps behind). Creates nothing, not even diesel's table.
pub fn gateway_initialised(conn: &mut DbConn) -> Result<bool, StorageError> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let table_query = match conn {
        DbConn::Postgres(_) => {
            "SELECT COUNT(*) AS n FROM pg_catalog.pg_tables WHERE tablename = '__diesel_schema_migrations' AND schemaname = current_schema()"
        }
        DbConn::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
    };
    let found: Found = match conn {
        DbConn::Postgres(c) => diesel::sql_query(table_query).get_result(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(table_query).get_result(c)?,
    };
    if found.n == 0 {
        return Ok(false);
    }
    let ours = GATEWAY.versions(conn)?.len();
    Ok(GATEWAY.pending(conn)?.len() < ours)
}

impl Db {
    /// See [`gateway_initialised`].
    pub async fn gateway_initialised(&self) -> Result<bool, StorageError> {
        self.run(gateway_initialised).await
    }

    /// Brings the gateway's tables up to date.
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        let known = self.known.clone();
        self.run(move |c| run(c, &known)).await
    }

    /// Applies another migration set (idempotent). Use [`Db::knowing`] so that the
    /// gateway's schema check recognises its versions.
    pub async fn migrate_set(&self, set: &'static MigrationSet) -> Result<Vec<String>, StorageError> {
        self.run(move |c| set.apply(c)).await
    }

    pub async fn schema_status(&self) -> Result<SchemaStatus, StorageError> {
        let known = self.known.clone();
        self.run(move |c| status(c, &known)).await
    }
}
