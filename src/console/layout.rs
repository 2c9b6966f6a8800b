//! The page frame every console page shares (header, navigation, sign-out, skip
//! link) and the small pieces pages repeat: times, status chips, CSRF fields.
//! Everything is rendered on the server; the one script (`assets/console.js`) only
//! adds copying, relative-time updates and the dashboards' refresh.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::Console;
use crate::model::AccessDenial;
use crate::service::reporting::AgentStatus;
use crate::storage::console::Subject;

/// The tabs of each view: (label, path).
const OWNER_TABS: &[(&str, &str)] = &[("Agents", "/console/owner")];
const ADMIN_TABS: &[(&str, &str)] =
    &[("Fleet", "/console/admin"), ("Audit", "/console/admin/audit"), ("Owners", "/console/admin/owners")];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · NODE.DC agents" }
            link rel="stylesheet" href=(assets::url("console.css"));
            script src=(assets::url("console.js")) defer {}
        }
    }
}

fn brand() -> Markup {
    html! { a.brand href="/console/" { span.brand-mark aria-hidden="true" { "◆" } " NODE.DC " span.brand-sub { "agents" } } }
}

/// A signed-in page: `who` names the person, `tab` is the current tab's path.
pub fn page(title: &str, console: &Console, who: &str, tab: &str, body: Markup) -> Markup {
    let tabs = match console.row.subject {
        Subject::Owner(_) => OWNER_TABS,
        Subject::Admin(_) => ADMIN_TABS,
    };
    let role = match console.row.subject {
        Subject::Owner(_) => "owner",
        Subject::Admin(_) => "admin",
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    (brand())
                    nav aria-label="Console" {
                        ul {
                            @for (label, path) in tabs {
                                li { a href=(path) aria-current=[(*path == tab).then_some("page")] { (label) } }
                            }
                        }
                    }
                    div.who {
                        span { (who) " " span.role { "(" (role) ")" } }
                        (sign_out(&console.csrf))
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

fn sign_out(csrf: &str) -> Markup {
    html! {
        form.inline method="post" action="/console/sign-out" {
            (csrf_field(csrf))
            button.link type="submit" { "Sign out" }
        }
    }
}

/// A page outside a session (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { (brand()) }
                main #main.narrow tabindex="-1" { (body) }
            }
        }
    }
}

/// The feature card's rule: an owner who may not use Codex agents sees why, and
/// nothing else.
pub fn denied(owner_name: &str, denial: AccessDenial, csrf: &str) -> Markup {
    let what = match denial {
        AccessDenial::OwnerBlocked | AccessDenial::OwnerAnnulled => "Your account cannot use Codex agents",
        _ => "Codex agents are not enabled for you",
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(what))
            body {
                header.top {
                    (brand())
                    div.who { span { (owner_name) } (sign_out(csrf)) }
                }
                main #main.narrow tabindex="-1" {
                    section.card.notice aria-labelledby="denied-title" {
                        h1 #denied-title { (what) }
                        p.lead { (why(denial)) }
                        p { "Codex agents are a feature your administrator turns on in Launcher (the " code { "codex_agents" } " entitlement). Ask them if you need it." }
                        p.meta { "Reason: " code { (denial.as_str()) } }
                    }
                }
            }
        }
    }
}

/// The denial, said to the owner.
fn why(denial: AccessDenial) -> &'static str {
    match denial {
        AccessDenial::OwnerUnknown => {
            "Your account has not been set up for Codex agents: Launcher has not told the gateway about you yet."
        }
        AccessDenial::OwnerBlocked => "Your account is blocked in Launcher.",
        AccessDenial::OwnerAnnulled => "Your account has been annulled in Launcher.",
        AccessDenial::EntitlementMissing => "You do not have the codex_agents entitlement.",
        AccessDenial::ClientEntitlementMissing => "Your organisation does not have the codex_agents entitlement.",
    }
}

pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A time: relative text ("3 min ago"), the exact UTC time on hover and in
/// `datetime` (the script keeps the relative text current).
pub fn when(t: DateTime<Utc>) -> Markup {
    let exact = t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    html! { time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) title=(exact) data-rel { (relative(t, Utc::now())) } }
}

pub fn when_opt(t: Option<DateTime<Utc>>, none: &str) -> Markup {
    match t {
        Some(t) => when(t),
        None => html! { span.muted { (none) } },
    }
}

pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = if secs < 0 { (-secs, true) } else { (secs, false) };
    let text = match n {
        0..=44 => return "just now".to_string(),
        45..=5399 => format!("{} min", (n + 30) / 60),
        5400..=129_599 => format!("{} h", (n + 1800) / 3600),
        _ => format!("{} d", (n + 43_200) / 86_400),
    };
    if future { format!("in {text}") } else { format!("{text} ago") }
}

/// A chip: `kind` picks its colour, the text says what it means (colour is never the
/// only signal).
pub fn chip(kind: &str, text: &str) -> Markup {
    html! { span class=(format!("chip chip-{kind}")) { (text) } }
}

/// The lifecycle chip (active or revoked) and, for an active agent, the reporting one.
pub fn status_chips(status: AgentStatus) -> Markup {
    let reporting = match status {
        AgentStatus::Revoked => None,
        AgentStatus::Connected => Some("connected"),
        AgentStatus::Idle => Some("idle"),
        AgentStatus::Stale => Some("stale"),
        AgentStatus::Offline => Some("offline"),
    };
    html! {
        span.chips {
            @match reporting {
                None => (chip("revoked", "revoked")),
                Some(r) => { (chip("active", "active")) " " (chip(r, r)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(super::relative(now - Duration::seconds(10), now), "just now");
        assert_eq!(super::relative(now - Duration::seconds(125), now), "2 min ago");
        assert_eq!(super::relative(now - Duration::hours(3), now), "3 h ago");
        assert_eq!(super::relative(now - Duration::days(2), now), "2 d ago");
        assert_eq!(super::relative(now + Duration::minutes(5), now), "in 5 min");
    }
}
