//! argon2id hashing of token secrets. Each call costs ~18 ms of CPU and ~19 MiB, so it
//! always runs on tokio's blocking pool, never on an async worker.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task failed: {0}")]
    Task(String),
}

/// Hashes a secret with argon2id (default parameters: m=19 MiB, t=2, p=1) and a
/// random salt; returns the PHC string.
pub async fn hash_secret(secret: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| HashError::Task(e.to_string()))?
}

/// Verifies a secret against a stored PHC string. A malformed stored hash verifies as
/// false, never as true.
pub async fn verify_secret(secret: String, phc: String) -> Result<bool, HashError> {
    tokio::task::spawn_blocking(move || Ok(Argon2::default().verify_password(secret.as_bytes(), phc.as_str()).is_ok()))
        .await
        .map_err(|e| HashError::Task(e.to_string()))?
}
