//! Agents' last tool activity and hourly call counts, written in batches by the
//! WorkSessions actor (never on a call's path).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{activity_hourly as ah, agents};
use super::{DbConn, StorageError};

/// An agent's latest tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastActivity {
    pub at: NaiveDateTime,
    pub tool: String,
    pub card: Option<String>,
}

/// Records each agent's latest tool call (an older one never overwrites a newer).
pub fn record_last(conn: &mut DbConn, latest: &[(Uuid, LastActivity)]) -> Result<(), StorageError> {
    for (agent, a) in latest {
        diesel::update(agents::table.find(agent.to_string()))
            .filter(agents::last_activity_at.is_null().or(agents::last_activity_at.le(a.at)))
            .set((agents::last_activity_at.eq(a.at), agents::last_tool.eq(&a.tool), agents::last_card.eq(&a.card)))
            .execute(conn)?;
    }
    Ok(())
}

/// One hour's calls of one agent's tool with one outcome, in one project.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey {
    pub hour: NaiveDateTime,
    pub agent_id: Uuid,
    pub owner_user_id: Uuid,
    /// The project identifier, or empty when the call named none.
    pub project: String,
    pub tool: String,
    pub outcome: String,
}

/// Adds calls to the hourly counts.
pub fn add_counts(conn: &mut DbConn, counts: &[(CountKey, i64)]) -> Result<(), StorageError> {
    for (k, n) in counts {
        let (agent, owner) = (k.agent_id.to_string(), k.owner_user_id.to_string());
        let row = ah::table
            .filter(ah::hour_start.eq(k.hour))
            .filter(ah::agent_id.eq(&agent))
            .filter(ah::project_ref.eq(&k.project))
            .filter(ah::tool.eq(&k.tool))
            .filter(ah::outcome.eq(&k.outcome));
        if diesel::update(row).set(ah::calls.eq(ah::calls + *n)).execute(conn)? == 1 {
            continue;
        }
        // A savepoint: another replica's insert of the same row wins, then we add to it.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(ah::table)
                .values((
                    ah::hour_start.eq(k.hour),
                    ah::agent_id.eq(&agent),
                    ah::owner_user_id.eq(&owner),
                    ah::project_ref.eq(&k.project),
                    ah::tool.eq(&k.tool),
                    ah::outcome.eq(&k.outcome),
                    ah::calls.eq(*n),
                ))
                .execute(c)
        });
        match inserted.map_err(StorageError::from) {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {
                diesel::update(row).set(ah::calls.eq(ah::calls + *n)).execute(conn)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
