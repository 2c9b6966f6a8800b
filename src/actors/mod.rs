//! The supervised actors that own the gateway's live state.

pub mod janitor;
pub mod rate_buckets;
pub mod shown_once;
pub mod tasker_writer;
pub mod token_sessions;
pub mod work_sessions;

pub use token_sessions::TokenSessions;
