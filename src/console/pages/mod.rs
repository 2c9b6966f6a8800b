//! The console's pages: the owner view and the admin view, and what they share.

pub mod admin;
pub mod owner;

use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageError;
use super::layout::{self, when};
use crate::model::AuditRecord;
use crate::service::{Entity, ServiceError};

/// An id from the URL: anything that is not a UUID is simply not found.
pub fn path_id(raw: &str, entity: Entity) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| PageError::from(ServiceError::NotFound(entity)))
}

/// A query parameter or form field: blank is absent.
pub fn filled(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

pub fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_string()
}

/// The chip of an audit outcome.
pub fn outcome_chip(outcome: &str) -> Markup {
    layout::chip(outcome, outcome)
}

/// Audit rows as a timeline table; `owner_col` adds the owner for the admin view.
pub fn audit_table(rows: &[AuditRecord], owner_name: impl Fn(Option<Uuid>) -> Option<String>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No audit events match." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Outcome" }
                        th scope="col" { "Project · card" } th scope="col" { "Actor" } th scope="col" { "Owner" }
                        th scope="col" { "Agent" } th.num scope="col" { "ms" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { (when(r.occurred_at)) }
                                td { code { (r.action) } }
                                td { (outcome_chip(r.outcome.as_str())) @if let Some(c) = &r.error_code { " " code { (c) } } }
                                td { (r.project_ref.as_deref().unwrap_or("–")) @if let Some(c) = &r.card_ref { " · " (c) } }
                                td { (r.actor.as_str()) }
                                td { @match (r.owner_user_id, owner_name(r.owner_user_id)) {
                                    (Some(_), Some(n)) => (n),
                                    (Some(o), None) => code title=(o) { (short(o)) },
                                    (None, _) => "–",
                                } }
                                td { @match r.agent_id { Some(a) => code title=(a) { (short(a)) }, None => "–" } }
                                td.num { (r.duration_ms) }
                            }
                        }
                    }
                }
            }
        }
    }
}
