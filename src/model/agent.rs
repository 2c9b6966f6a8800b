use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::string_enum;

string_enum!(AgentStatus { Active => "active", Revoked => "revoked" });

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Agent {
    pub id: Uuid,
    pub owner_user_id: Uuid,
    pub name: String,
    pub description: String,
    pub status: AgentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// This agent's own rate budgets (calls per minute); `None`: the gateway default.
    pub read_per_minute: Option<u32>,
    pub write_per_minute: Option<u32>,
}
