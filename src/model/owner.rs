use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::string_enum;

string_enum!(
    /// The owner's standing in Launcher.
    OwnerStatus { Active => "active", Blocked => "blocked", Annulled => "annulled" }
);

/// A Launcher user as projected into the gateway.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    pub user_id: Uuid,
    pub display_name: String,
    pub status: OwnerStatus,
    pub codex_agents: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

string_enum!(
    /// Why an owner may not use Codex agents.
    AccessDenial {
        OwnerUnknown => "owner_unknown",
        OwnerBlocked => "owner_blocked",
        OwnerAnnulled => "owner_annulled",
        EntitlementMissing => "entitlement_missing",
    }
);

impl AccessDenial {
    pub fn message(self) -> &'static str {
        match self {
            AccessDenial::OwnerUnknown => {
                "the owner has not been provisioned from Launcher (no entitlement projection)"
            }
            AccessDenial::OwnerBlocked => "the owner is blocked in Launcher",
            AccessDenial::OwnerAnnulled => "the owner's account has been annulled in Launcher",
            AccessDenial::EntitlementMissing => "the owner does not have the `codex_agents` entitlement",
        }
    }
}

/// The answer to "may this owner use Codex agents?".
#[derive(Debug, Clone, Serialize)]
pub struct OwnerAccess {
    pub owner_user_id: Uuid,
    pub allowed: bool,
    pub reason: Option<AccessDenial>,
    pub message: Option<&'static str>,
}

impl Owner {
    pub fn denial(&self) -> Option<AccessDenial> {
        access_denial(Some((self.status, self.codex_agents)))
    }
}

/// One rule for every place that decides access: status first, then entitlement.
pub fn access_denial(owner: Option<(OwnerStatus, bool)>) -> Option<AccessDenial> {
    match owner {
        None => Some(AccessDenial::OwnerUnknown),
        Some((OwnerStatus::Blocked, _)) => Some(AccessDenial::OwnerBlocked),
        Some((OwnerStatus::Annulled, _)) => Some(AccessDenial::OwnerAnnulled),
        Some((OwnerStatus::Active, false)) => Some(AccessDenial::EntitlementMissing),
        Some((OwnerStatus::Active, true)) => None,
    }
}

impl OwnerAccess {
    pub fn new(owner_user_id: Uuid, denial: Option<AccessDenial>) -> Self {
        Self { owner_user_id, allowed: denial.is_none(), reason: denial, message: denial.map(AccessDenial::message) }
    }
}
