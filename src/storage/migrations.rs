//! Embedded migrations, one set per backend, and the schema-version check.
//!
//! The gateway's own tables are one set. The reference Tasker's tables are another,
//! applied only where the reference Tasker runs (local dev, tests), so a production
//! database holds no `tasker_*` tables; the schema check knows both sets' versions.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Db, DbConn, StorageError};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const REFERENCE_POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/reference-tasker/postgres");
const REFERENCE_SQLITE: EmbeddedMigrations = embed_migrations!("migrations/reference-tasker/sqlite");

/// Arbitrary constant key so two gateways starting together do not migrate at once.
const PG_MIGRATION_LOCK: i64 = 0x4e44_4341_4757; // "NDCAGW"

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaStatus {
    Current,
    /// Migrations the binary has that the database has not run.
    Pending(Vec<String>),
    /// Migrations the database has run that this binary does not know.
    Newer(Vec<String>),
}

fn known_versions<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Result<BTreeSet<String>, StorageError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let migrations: Vec<Box<dyn Migration<DB>>> =
        MigrationSource::<DB>::migrations(source).map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
}

/// Compares the migrations the database has applied with those embedded here.
pub fn status(conn: &mut DbConn) -> Result<SchemaStatus, StorageError> {
    let (known, reference, applied) = match conn {
        DbConn::Postgres(c) => {
            (known_versions::<Pg>(&POSTGRES)?, known_versions::<Pg>(&REFERENCE_POSTGRES)?, applied(c)?)
        }
        DbConn::Sqlite(c) => {
            (known_versions::<Sqlite>(&SQLITE)?, known_versions::<Sqlite>(&REFERENCE_SQLITE)?, applied(c)?)
        }
    };
    let newer: Vec<String> =
        applied.iter().filter(|v| !known.contains(*v) && !reference.contains(*v)).cloned().collect();
    if !newer.is_empty() {
        return Ok(SchemaStatus::Newer(newer));
    }
    let pending: Vec<String> = known.difference(&applied).cloned().collect();
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

/// Runs pending migrations; refuses a schema newer than this binary. Returns the
/// versions applied.
pub fn run(conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
    }
    let result = run_locked(conn);
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
    }
    result
}

fn run_locked(conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
    if let SchemaStatus::Newer(newer) = status(conn)? {
        return Err(StorageError::SchemaTooNew(newer.join(", ")));
    }
    let applied = match conn {
        DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES).map(versions),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(versions),
    };
    applied.map_err(|e| StorageError::Migration(e.to_string()))
}

/// Applies the reference Tasker's tables (idempotent).
pub fn run_reference_tasker(conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
    }
    let applied = match conn {
        DbConn::Postgres(c) => c.run_pending_migrations(REFERENCE_POSTGRES).map(versions),
        DbConn::Sqlite(c) => c.run_pending_migrations(REFERENCE_SQLITE).map(versions),
    }
    .map_err(|e| StorageError::Migration(e.to_string()));
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
    }
    applied
}

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|v| v.to_string()).collect()
}

impl Db {
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        self.run(run).await
    }

    /// Creates the reference Tasker's tables if they are missing.
    pub async fn migrate_reference_tasker(&self) -> Result<Vec<String>, StorageError> {
        self.run(run_reference_tasker).await
    }

    pub async fn schema_status(&self) -> Result<SchemaStatus, StorageError> {
        self.run(status).await
    }
}
