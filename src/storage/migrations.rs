//! Embedded migrations, one set per backend, and the schema-version check.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Db, DbConn, StorageError};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

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
    let (known, applied) = match conn {
        DbConn::Postgres(c) => (known_versions::<Pg>(&POSTGRES)?, applied(c)?),
        DbConn::Sqlite(c) => (known_versions::<Sqlite>(&SQLITE)?, applied(c)?),
    };
    let newer: Vec<String> = applied.difference(&known).cloned().collect();
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

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|v| v.to_string()).collect()
}

impl Db {
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        self.run(run).await
    }

    pub async fn schema_status(&self) -> Result<SchemaStatus, StorageError> {
        self.run(status).await
    }
}
