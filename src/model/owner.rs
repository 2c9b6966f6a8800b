use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::string_enum;

string_enum!(
    /// The owner's standing in Launcher.
    OwnerStatus { Active => "active", Blocked => "blocked", Annulled => "annulled" }
);

string_enum!(
    /// Whether an owner's agents must report work sessions: `voluntary` (the session
    /// tools are there, nothing requires them) or `required` (a Tasker write needs an
    /// open work session). It governs only what passes through the gateway.
    ReportingMode { Voluntary => "voluntary", Required => "required" }
);

/// A Launcher user as projected into the gateway.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Owner {
    pub user_id: Uuid,
    pub display_name: String,
    pub status: OwnerStatus,
    pub codex_agents: bool,
    /// The enterprise client (organisation) the owner belongs to, if any.
    pub client_id: Option<Uuid>,
    pub reporting_mode: ReportingMode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An enterprise client (organisation) as projected from Launcher: its own
/// `codex_agents` switch covers every owner in it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Client {
    pub id: Uuid,
    pub display_name: String,
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
        ClientEntitlementMissing => "client_entitlement_missing",
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
            AccessDenial::ClientEntitlementMissing => {
                "the owner's client (organisation) does not have the `codex_agents` entitlement"
            }
        }
    }
}

/// The answer to "may this owner use Codex agents?".
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OwnerAccess {
    pub owner_user_id: Uuid,
    pub allowed: bool,
    pub reason: Option<AccessDenial>,
    pub message: Option<&'static str>,
}

impl Owner {
    /// The owner's standing, given its client's entitlement (`None`: no client).
    pub fn standing(&self, client_codex_agents: Option<bool>) -> Standing {
        Standing { status: self.status, codex_agents: self.codex_agents, client_codex_agents }
    }
}

/// What access depends on: the owner's status and entitlement, and its client's
/// entitlement when it belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub status: OwnerStatus,
    pub codex_agents: bool,
    /// `None`: the owner belongs to no client.
    pub client_codex_agents: Option<bool>,
}

/// One rule for every place that decides access: status first, then the owner's
/// entitlement, then its client's.
pub fn access_denial(owner: Option<Standing>) -> Option<AccessDenial> {
    let Some(s) = owner else {
        return Some(AccessDenial::OwnerUnknown);
    };
    match s.status {
        OwnerStatus::Blocked => return Some(AccessDenial::OwnerBlocked),
        OwnerStatus::Annulled => return Some(AccessDenial::OwnerAnnulled),
        OwnerStatus::Active => {}
    }
    if !s.codex_agents {
        return Some(AccessDenial::EntitlementMissing);
    }
    (s.client_codex_agents == Some(false)).then_some(AccessDenial::ClientEntitlementMissing)
}

impl OwnerAccess {
    pub fn new(owner_user_id: Uuid, denial: Option<AccessDenial>) -> Self {
        Self { owner_user_id, allowed: denial.is_none(), reason: denial, message: denial.map(AccessDenial::message) }
    }
}
