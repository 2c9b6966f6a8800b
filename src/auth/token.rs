//! Opaque agent tokens, in the manner of GitHub's `ghp_` tokens:
//!
//! ```text
//! ndcag_ <token id: 22 base62> <secret: 43 base62> <checksum: 6 base62>
//! ```
//!
//! The prefix makes leaked tokens easy to recognise (secret scanners, log greps); the
//! token id finds the stored hash without a scan; the secret carries 256 bits; the
//! CRC32 checksum rejects a mistyped or truncated token before any database work.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const PREFIX: &str = "ndcag_";
const ID_LEN: usize = 22;
const SECRET_LEN: usize = 43; // 43 × log2(62) ≈ 256 bits
const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + SECRET_LEN + CHECKSUM_LEN;

/// A parsed (well-formed, checksum-valid) token. `Debug` never shows the secret, and
/// there is no `Display`: the full token is only produced by [`AgentToken::expose`].
#[derive(Clone)]
pub struct AgentToken {
    id: Uuid,
    secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("the token does not start with `{PREFIX}`")]
    Prefix,
    #[error("the token has the wrong length (expected {TOKEN_LEN} characters)")]
    Length,
    #[error("the token contains characters other than letters and digits")]
    Characters,
    #[error("the token's checksum does not match: it was mistyped or truncated")]
    Checksum,
}

/// The 6-character checksum that ends a token, of everything before it (public for
/// the fuzz target, which builds checksum-valid candidates).
#[doc(hidden)]
pub fn checksum(body: &str) -> String {
    let crc = crc32fast::hash(body.as_bytes());
    format!("{:0>width$}", base62::encode(crc), width = CHECKSUM_LEN)
}

impl AgentToken {
    /// A new token with a fresh id and secret.
    pub fn generate() -> Self {
        let secret: String = rand::rng().sample_iter(&Alphanumeric).take(SECRET_LEN).map(char::from).collect();
        Self { id: Uuid::new_v4(), secret }
    }

    pub fn parse(raw: &str) -> Result<Self, TokenFormatError> {
        let rest = raw.strip_prefix(PREFIX).ok_or(TokenFormatError::Prefix)?;
        if raw.len() != TOKEN_LEN {
            return Err(TokenFormatError::Length);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TokenFormatError::Characters);
        }
        let (body, sum) = raw.split_at(TOKEN_LEN - CHECKSUM_LEN);
        if checksum(body) != sum {
            return Err(TokenFormatError::Checksum);
        }
        let id_part = &rest[..ID_LEN];
        let secret = &rest[ID_LEN..ID_LEN + SECRET_LEN];
        let id = base62::decode(id_part).map_err(|_| TokenFormatError::Characters)?;
        Ok(Self { id: Uuid::from_u128(id), secret: secret.to_string() })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The secret part, for hashing and verification only.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A fast digest of the secret, so a cache can recognise an already verified secret
    /// without keeping the secret itself.
    pub fn secret_digest(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    /// The full token string. Shown exactly once, when issued.
    pub fn expose(&self) -> String {
        let body = format!("{PREFIX}{:0>ID_LEN$}{}", base62::encode(self.id.as_u128()), self.secret);
        let sum = checksum(&body);
        body + &sum
    }
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgentToken({PREFIX}… id {})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = AgentToken::generate();
        let s = t.expose();
        assert_eq!(s.len(), TOKEN_LEN);
        let p = AgentToken::parse(&s).unwrap();
        assert_eq!(p.id(), t.id());
        assert_eq!(p.secret(), t.secret());
    }

    #[test]
    fn rejects_every_single_character_typo() {
        let s = AgentToken::generate().expose();
        for i in PREFIX.len()..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(b).unwrap();
            assert!(AgentToken::parse(&typo).is_err(), "typo at {i} accepted");
        }
    }

    #[test]
    fn names_the_problem() {
        let s = AgentToken::generate().expose();
        assert_eq!(AgentToken::parse("ghp_abc").unwrap_err(), TokenFormatError::Prefix);
        assert_eq!(AgentToken::parse(&s[..s.len() - 1]).unwrap_err(), TokenFormatError::Length);
        let bad = format!("{}-{}", &s[..10], &s[11..]);
        assert_eq!(AgentToken::parse(&bad).unwrap_err(), TokenFormatError::Characters);
        let last = s.chars().last().unwrap();
        let swapped = format!("{}{}", &s[..s.len() - 1], if last == 'x' { 'y' } else { 'x' });
        assert_eq!(AgentToken::parse(&swapped).unwrap_err(), TokenFormatError::Checksum);
    }

    #[test]
    fn debug_hides_the_secret() {
        let t = AgentToken::generate();
        assert!(!format!("{t:?}").contains(t.secret()));
    }
}
