use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::string_enum;

string_enum!(Outcome { Allowed => "allowed", Denied => "denied", Failed => "failed" });

string_enum!(
    /// Who made the call: Tasker's backend with the internal token, an agent with its
    /// token, an operator at the command line, or a person signed in to the console.
    AuditActor { Internal => "internal", Agent => "agent", Operator => "operator", Console => "console" }
);

/// One audit event. Holds references (ids, keys, codes), never a secret or a payload.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditRecord {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The client's `X-Request-Id` (for correlation), or the gateway's id when it sent
    /// none.
    pub request_id: String,
    /// The id the gateway generated for the request; absent on rows from before it was
    /// recorded.
    pub gateway_request_id: Option<String>,
    pub actor: AuditActor,
    pub owner_user_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub action: String,
    pub project_ref: Option<String>,
    pub card_ref: Option<String>,
    pub idempotency_key: Option<String>,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub duration_ms: i64,
}
