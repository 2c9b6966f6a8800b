//! Credentials: the agent token format, secret hashing, and the internal token.

pub mod hash;
pub mod internal;
pub mod token;

pub use internal::{InternalRole, InternalToken, InternalTokens};
pub use token::{AgentToken, TokenFormatError};
