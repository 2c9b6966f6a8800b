//! Console sign-in: single-use links made for Tasker's backend or Launcher (or the
//! `console-link` command), and the console sessions they start. Only digests are
//! stored; the link token and the session secret exist in the answer that hands
//! them over and nowhere else. Making a link, signing in and signing out are audited.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::audit::{self, Subject as AuditSubject};
use super::{Ctx, Entity, ServiceError, Services};
use crate::storage::console::{SessionRow, Subject};
use crate::storage::{self};

/// How long a sign-in link may wait to be used.
pub const LINK_TTL: Duration = Duration::seconds(60);
/// A console session ends after this long without use.
pub const IDLE: Duration = Duration::hours(8);
/// A session's last use is written at most this often (a page view is not a write).
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// 256 random bits, hex: a link token or a session secret.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// The SHA-256 of a secret, hex: what the database holds.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A link just made: its token (shown once, in the answer) and its expiry.
pub struct IssuedLink {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A session just started: its id (names it in audit rows) and the secret the
/// cookie carries.
pub struct StartedSession {
    pub id: Uuid,
    pub secret: String,
    pub subject: Subject,
}

fn audit_subject(subject: &Subject) -> AuditSubject {
    match subject {
        Subject::Owner(o) => AuditSubject::owner(*o),
        Subject::Admin(_) => AuditSubject::default(),
    }
}

impl Services<'_> {
    /// A single-use sign-in link for an owner (who must have been projected) or an
    /// admin.
    pub async fn create_console_link(&self, ctx: &Ctx, subject: Subject) -> Result<IssuedLink, ServiceError> {
        let s = audit_subject(&subject);
        let change = async {
            let token = new_secret();
            let digest = digest(&token);
            let now = storage::now();
            let expires = now + LINK_TTL;
            let ctx2 = ctx.clone();
            let s2 = s.clone();
            self.db
                .write(move |conn| {
                    if let Subject::Owner(o) = &subject
                        && storage::owners::find(conn, *o)?.is_none()
                    {
                        return Err(ServiceError::NotFound(Entity::Owner));
                    }
                    storage::console::insert_link(conn, &digest, &subject, now, expires)?;
                    audit::allowed(conn, &ctx2, "console.link", s2)?;
                    Ok(())
                })
                .await?;
            Ok(IssuedLink { token, expires_at: expires.and_utc() })
        };
        audit::audited(self.db, ctx, "console.link", s.clone(), change).await
    }

    /// Uses a link (once, within its minute) and starts a session; `None` for a link
    /// that is unknown, expired or used.
    pub async fn console_sign_in(&self, ctx: &Ctx, link: &str) -> Result<Option<StartedSession>, ServiceError> {
        let link_digest = digest(link);
        let secret = new_secret();
        let session_digest = digest(&secret);
        let id = Uuid::new_v4();
        let ctx = ctx.clone();
        self.db
            .write(move |conn| {
                let now = storage::now();
                let Some(subject) = storage::console::use_link(conn, &link_digest, now)? else {
                    return Ok(None);
                };
                storage::console::insert_session(conn, id, &session_digest, &subject, now)?;
                audit::allowed(conn, &ctx, "console.sign_in", audit_subject(&subject))?;
                Ok::<_, ServiceError>(Some(StartedSession { id, secret, subject }))
            })
            .await
    }

    /// The live session this secret opens, its last use noted (at most once a minute,
    /// and not for the pages' own refreshes: an open tab is not use).
    pub async fn console_session(&self, secret: &str, in_use: bool) -> Result<Option<SessionRow>, ServiceError> {
        let d = digest(secret);
        let now = storage::now();
        let found = self.db.run(move |c| storage::console::find_session(c, &d, now - IDLE)).await?;
        if let Some(s) = &found
            && in_use
            && now - s.last_used_at >= TOUCH_EVERY
        {
            let id = s.id;
            self.db.run(move |c| storage::console::touch_session(c, id, now)).await?;
        }
        Ok(found)
    }

    /// Ends a session (sign-out).
    pub async fn console_sign_out(&self, ctx: &Ctx, session: &SessionRow) -> Result<(), ServiceError> {
        let (id, s) = (session.id, audit_subject(&session.subject));
        let ctx = ctx.clone();
        self.db
            .write(move |conn| {
                storage::console::end_session(conn, id, storage::now())?;
                audit::allowed(conn, &ctx, "console.sign_out", s)?;
                Ok(())
            })
            .await
    }
}
