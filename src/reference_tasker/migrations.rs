//! The reference Tasker's own tables, kept out of the gateway's migrations: they are
//! applied only where the reference Tasker runs, so a database used with a real Tasker
//! never has them.

use diesel_migrations::embed_migrations;

use crate::storage::migrations::MigrationSet;

pub const MIGRATIONS: MigrationSet = MigrationSet {
    postgres: embed_migrations!("migrations/reference-tasker/postgres"),
    sqlite: embed_migrations!("migrations/reference-tasker/sqlite"),
};
