//! The connection pool: deadpool with connections wrapped for blocking use
//! (`interact` runs diesel on a blocking thread, never on an async worker).

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_diesel::{Connection, Runtime};
use deadpool_sync::SyncWrapper;
use diesel::connection::SimpleConnection;

use super::DatabaseUrl;
use super::connection::{DbConn, establish};

/// Our own manager rather than `deadpool_diesel::Manager`: that one establishes through
/// `MultiConnection::establish`, which falls through to SQLite when PostgreSQL fails.
pub struct DbManager {
    url: DatabaseUrl,
}

impl DbManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl managed::Manager for DbManager {
    type Type = Connection<DbConn>;
    type Error = deadpool_diesel::Error;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        let url = self.url.clone();
        SyncWrapper::new(Runtime::Tokio1, move || establish(&url).map_err(Into::into)).await
    }

    async fn recycle(&self, obj: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        if obj.is_mutex_poisoned() {
            return Err(RecycleError::message("connection mutex poisoned"));
        }
        obj.interact(|conn| conn.batch_execute("SELECT 1"))
            .await
            .map_err(|e| RecycleError::message(format!("recycle check panicked: {e}")))?
            .map_err(|e| RecycleError::Backend(e.into()))
    }
}

pub type DbPool = managed::Pool<DbManager>;
