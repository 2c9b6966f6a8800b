//! The internal token Tasker's backend and Launcher present on internal routes.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const MIN_LEN: usize = 32;

#[derive(Clone)]
pub struct InternalToken {
    digest: [u8; 32],
    value: String,
}

impl InternalToken {
    pub fn new(value: String) -> Self {
        Self { digest: Sha256::digest(value.as_bytes()).into(), value }
    }

    /// Compares in constant time. Both sides are hashed first, so neither the content
    /// nor the length of the expected token leaks through timing.
    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.ct_eq(&self.digest).into()
    }

    /// The value, for writing the generated local-dev token file only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// A random token for local development: 48 alphanumeric characters.
    pub fn generate() -> Self {
        use rand::Rng;
        let v: String = rand::rng().sample_iter(&rand::distr::Alphanumeric).take(48).map(char::from).collect();
        Self::new(v)
    }
}

impl fmt::Debug for InternalToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InternalToken(***)")
    }
}

/// Which internal token a caller presented: the shared one, or one of the separate
/// tokens Launcher and Tasker's backend may each be given (each allowed only its own
/// routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalRole {
    Shared,
    Launcher,
    TaskerBackend,
}

/// The internal tokens the gateway accepts.
#[derive(Debug, Clone, Default)]
pub struct InternalTokens {
    pub shared: Option<InternalToken>,
    pub launcher: Option<InternalToken>,
    pub tasker_backend: Option<InternalToken>,
}

impl InternalTokens {
    /// Only the shared token (one token for every internal caller).
    pub fn shared(token: InternalToken) -> Self {
        Self { shared: Some(token), ..Self::default() }
    }

    /// The role of a presented token; every configured token is compared, so the
    /// time taken does not tell which one matched.
    pub fn role_of(&self, presented: &str) -> Option<InternalRole> {
        let check = |t: &Option<InternalToken>, role| t.as_ref().is_some_and(|t| t.matches(presented)).then_some(role);
        let found = [
            check(&self.shared, InternalRole::Shared),
            check(&self.launcher, InternalRole::Launcher),
            check(&self.tasker_backend, InternalRole::TaskerBackend),
        ];
        found.into_iter().flatten().next()
    }
}
