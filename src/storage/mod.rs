//! Persistence: one diesel model over PostgreSQL (production) and SQLite (embedded
//! default), the backend chosen by the database URL's scheme.

mod connection;
pub mod migrations;
mod pool;
pub mod schema;

pub mod activity;
pub mod agents;
pub mod audit;
pub mod clients;
pub mod console;
pub mod grants;
pub mod idempotency;
pub mod mcp_sessions;
pub mod owners;
pub mod page;
pub mod reporting;
pub mod tokens;
pub mod work_sessions;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use deadpool::managed::{PoolError, Timeouts};
use deadpool_diesel::Runtime;

pub use connection::DbConn;
use pool::{DbManager, DbPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        })
    }
}

/// A validated database URL. `Display` never shows a password.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver is given: the URL for PostgreSQL, the file path for SQLite.
    connect: String,
}

impl DatabaseUrl {
    /// Accepts `postgres://…`, `postgresql://…`, `sqlite://PATH` and `sqlite:PATH`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let Some((scheme, rest)) = raw.split_once(':') else {
            return Err("has no scheme".into());
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(raw).map_err(|e| format!("is not a valid PostgreSQL URL ({e})"))?;
                if parsed.host_str().is_none_or(str::is_empty) && !raw.contains("host=") {
                    return Err("has no host".into());
                }
                Ok(Self { backend: Backend::Postgres, connect: raw.to_string() })
            }
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err("names no file".into());
                }
                if path.contains(":memory:") || path.starts_with("file:") {
                    return Err("must name a database file (in-memory and URI forms are not supported)".into());
                }
                Ok(Self { backend: Backend::Sqlite, connect: path.to_string() })
            }
            other => Err(format!("has the unknown scheme `{other}`; expected postgres://, postgresql:// or sqlite://")),
        }
    }

    pub fn sqlite_file(path: &Path) -> Self {
        Self { backend: Backend::Sqlite, connect: path.to_string_lossy().into_owned() }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn connect_string(&self) -> &str {
        &self.connect
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.backend == Backend::Sqlite).then(|| PathBuf::from(&self.connect))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.connect),
            Backend::Postgres => match url::Url::parse(&self.connect) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    write!(f, "{u}")
                }
                Err(_) => f.write_str("postgres://(unparsable)"),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database task failed: {0}")]
    Interact(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("the database schema is newer than this binary (unknown migrations: {0}); upgrade the gateway")]
    SchemaTooNew(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StorageError {
    pub fn corrupt(what: impl fmt::Display) -> Self {
        StorageError::Corrupt(what.to_string())
    }

    /// The same error for another caller of a shared read (diesel's errors are not
    /// `Clone`: a query error is passed on as its message).
    pub fn copy_for_waiter(&self) -> Self {
        match self {
            StorageError::Unavailable(s) => StorageError::Unavailable(s.clone()),
            StorageError::Query(e) => StorageError::Interact(format!("database query failed: {e}")),
            StorageError::Interact(s) => StorageError::Interact(s.clone()),
            StorageError::Migration(s) => StorageError::Migration(s.clone()),
            StorageError::SchemaTooNew(s) => StorageError::SchemaTooNew(s.clone()),
            StorageError::Corrupt(s) => StorageError::Corrupt(s.clone()),
        }
    }

    /// True when the error is a uniqueness violation (a concurrent duplicate insert).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// The database handle every part of the gateway shares.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// Other migration sets this database may hold (see `migrations`).
    known: std::sync::Arc<Vec<&'static migrations::MigrationSet>>,
}

impl Db {
    /// Builds the pool and opens one connection, so an unreachable database is reported
    /// at start-up rather than at the first request.
    pub async fn connect(url: &DatabaseUrl, max_size: usize) -> Result<Self, StorageError> {
        if let Some(path) = url.sqlite_path()
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(StorageError::Unavailable(format!("SQLite directory {} does not exist", dir.display())));
        }
        let pool = DbPool::builder(DbManager::new(url.clone()))
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(Duration::from_secs(10)),
                create: Some(Duration::from_secs(5)),
                recycle: Some(Duration::from_secs(5)),
            })
            .build()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let db = Self { pool, backend: url.backend(), known: Default::default() };
        db.run(|_| Ok::<_, StorageError>(())).await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This handle also recognises `set`'s versions as part of this binary's schema.
    pub fn knowing(mut self, set: &'static migrations::MigrationSet) -> Self {
        std::sync::Arc::make_mut(&mut self.known).push(set);
        self
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let conn = self.pool.get().await.map_err(|e| E::from(pool_error(e)))?;
        conn.interact(f).await.map_err(|e| E::from(StorageError::Interact(e.to_string())))?
    }

    /// Runs `f` in a write transaction (see [`DbConn::write_tx`]).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| conn.write_tx(f)).await
    }

    /// The pool's state: (max, size, available, waiting).
    pub fn pool_status(&self) -> [(&'static str, i64); 4] {
        let s = self.pool.status();
        [
            ("max", s.max_size as i64),
            ("size", s.size as i64),
            ("available", s.available as i64),
            ("waiting", s.waiting as i64),
        ]
    }

    pub fn close(&self) {
        self.pool.close();
    }
}

fn pool_error(e: PoolError<deadpool_diesel::Error>) -> StorageError {
    StorageError::Unavailable(match e {
        PoolError::Timeout(_) => "timed out waiting for a database connection".to_string(),
        PoolError::Backend(e) => e.to_string(),
        other => other.to_string(),
    })
}

/// Current UTC time at the precision both backends store (microseconds), so a value
/// read back equals the value written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// Parses a UUID read from a text column.
pub(crate) fn stored_uuid(raw: &str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(raw).map_err(|_| StorageError::corrupt(format!("`{raw}` is not a UUID")))
}
