//! `migrate` and the operator commands. They act on the database directly (for local
//! dev and break-glass use), through the same services and audit as the API.

use std::process::ExitCode;

use chrono::{Duration, Utc};
use uuid::Uuid;

use std::sync::Arc;

use super::{EXIT_CONFIG, EXIT_FAILED, open_database, open_existing_database};
use crate::auth::InternalToken;
use crate::codex;
use crate::config::args::{AgentCommand, Command, OwnerCommand, TokenCommand};
use crate::config::{self, OperatorSettings, TaskerSetting};
use crate::model::{Agent, Grant, OwnerStatus, ProjectIdentifier, Scope};
use crate::reference_tasker::{self, RunningTasker};
use crate::service::agents::GrantRequest;
use crate::service::owners::OwnerProjection;
use crate::service::tokens::IssuedToken;
use crate::service::{Ctx, ServiceError, Services, Within};
use crate::storage::Db;
use crate::tasker::client::TaskerConfig;
use crate::telemetry;

pub(super) enum Failure {
    Usage(String),
    Failed(String),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure::Failed(format!("{} ({})", e, e.code()))
    }
}

fn uuid_arg(flag: &str, raw: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(raw.trim()).map_err(|_| Failure::Usage(format!("--{flag} `{raw}` is not a UUID")))
}

pub fn run(settings: OperatorSettings, command: Command) -> ExitCode {
    telemetry::init(&settings.base.log);
    let result = actix_web::rt::System::new().block_on(async move {
        let base = &settings.base;
        // Said before anything else, so a command run in the wrong place is obvious.
        eprintln!("database: {}", super::describe_database(base));
        let creates = matches!(command, Command::Migrate | Command::DemoSetup(_));
        let db = if creates { open_database(base, 2).await } else { open_existing_database(base, 2).await }
            .map_err(Failure::Failed)?;
        let tasker = if grants_projects(&command) { Some(tasker(&settings.tasker, &db).await) } else { None };
        let tasker = match tasker.transpose() {
            Ok(t) => t,
            Err(e) => {
                db.close();
                return Err(Failure::Failed(e));
            }
        };
        let config = tasker.as_ref().map(|(c, _)| c);
        let services = Services { db: &db, sessions: None, work_sessions: None, tasker: config };
        let result = dispatch(&services, command).await;
        if let Some((_, Some(reference))) = tasker {
            reference.handle.stop(true).await;
        }
        db.close();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Commands that create grants, which Tasker must confirm.
fn grants_projects(command: &Command) -> bool {
    matches!(command, Command::Agent(AgentCommand::Create { projects, .. }) if !projects.is_empty())
        || matches!(command, Command::DemoSetup(_))
}

/// The Tasker `serve` would use with the same settings: TASKER_URL, else the reference
/// Tasker on this database (its demo workspace seeded, as local `serve` does), started
/// here on a free loopback port for the command's duration.
async fn tasker(setting: &TaskerSetting, db: &Db) -> Result<(Arc<TaskerConfig>, Option<RunningTasker>), String> {
    match setting {
        TaskerSetting::Remote { url, token } => Ok((Arc::new(TaskerConfig::new(url.clone(), token.clone())), None)),
        TaskerSetting::Embedded => {
            reference_tasker::seed::seed_demo(db).await.map_err(|e| format!("seeding the reference Tasker: {e}"))?;
            let token = InternalToken::generate();
            let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let running = reference_tasker::start(db.clone(), token.expose(), loopback)
                .await
                .map_err(|e| format!("cannot start the reference Tasker: {e}"))?;
            Ok((Arc::new(TaskerConfig::new(format!("http://{}", running.addr), token)), Some(running)))
        }
    }
}

async fn dispatch(services: &Services<'_>, command: Command) -> Result<(), Failure> {
    let ctx = Ctx::operator();
    match command {
        Command::Serve(_) | Command::ReferenceTasker(_) | Command::TaskerCheck(_) => unreachable!("dispatched before"),
        Command::Migrate => {
            println!("database schema is current");
            Ok(())
        }
        Command::Owner(c) => owner(services, &ctx, c).await,
        Command::Agent(c) => agent(services, &ctx, c).await,
        Command::Token(c) => token(services, &ctx, c).await,
        Command::DemoSetup(args) => super::demo::run(services, &ctx, args).await,
        Command::ConsoleLink(args) => super::console_link::run(services, &ctx, args).await,
    }
}

async fn owner(services: &Services<'_>, ctx: &Ctx, c: OwnerCommand) -> Result<(), Failure> {
    match c {
        OwnerCommand::Upsert { user_id, name, status, no_codex_agents } => {
            let user_id = uuid_arg("user-id", &user_id)?;
            let status: OwnerStatus = status.parse().map_err(|e| Failure::Usage(format!("--status {e}")))?;
            let owner = services
                .upsert_owner(
                    ctx,
                    OwnerProjection {
                        user_id,
                        display_name: name,
                        status,
                        codex_agents: !no_codex_agents,
                        client_id: None,
                        reporting_mode: None,
                    },
                )
                .await?;
            println!(
                "owner {} ({}): status {}, codex_agents {}",
                owner.user_id, owner.display_name, owner.status, owner.codex_agents
            );
            Ok(())
        }
        OwnerCommand::Show { user_id } => {
            let user_id = uuid_arg("user-id", &user_id)?;
            let owner = services.owner(user_id).await?;
            let access = services.owner_access(user_id).await?;
            println!(
                "owner {} ({}): status {}, codex_agents {}",
                owner.user_id, owner.display_name, owner.status, owner.codex_agents
            );
            match access.reason {
                None => println!("may use Codex agents: yes"),
                Some(r) => println!("may use Codex agents: no ({}: {})", r, r.message()),
            }
            Ok(())
        }
    }
}

/// The URL `serve` gives agents with the same settings ([`config::agent_url`]), checked
/// before anything is written.
pub(super) fn gateway_url(public_url: Option<&str>, bind: Option<&str>) -> Result<String, Failure> {
    let (url, bind) = config::agent_url(public_url, bind).map_err(|p| Failure::Usage(p.to_string()))?;
    if public_url.is_none_or(|u| u.trim().is_empty()) && bind.ip().is_unspecified() {
        eprintln!(
            "note: the gateway binds {bind}; set NODEDC_AGENT_GATEWAY_PUBLIC_URL (or --public-url) to the URL agents use"
        );
    }
    Ok(url)
}

/// `PROJECT_UUID:IDENTIFIER`, e.g. `0d6c…:WEB`.
fn project_arg(raw: &str) -> Result<(Uuid, ProjectIdentifier), Failure> {
    let (id, ident) = raw
        .split_once(':')
        .ok_or_else(|| Failure::Usage(format!("--project `{raw}` is not PROJECT_UUID:IDENTIFIER")))?;
    let id = uuid_arg("project", id)?;
    let ident = ProjectIdentifier::parse(ident).map_err(|e| Failure::Usage(format!("--project {e}")))?;
    Ok((id, ident))
}

pub(super) fn print_grants(grants: &[Grant]) {
    for g in grants {
        let scopes: Vec<&str> = g.scopes.iter().map(|s| s.as_str()).collect();
        println!("  project {} ({}): {}", g.project_identifier, g.project_id, scopes.join(" "));
    }
}

async fn agent(services: &Services<'_>, ctx: &Ctx, c: AgentCommand) -> Result<(), Failure> {
    match c {
        AgentCommand::Create { owner, name, description, projects, scopes } => {
            let owner = uuid_arg("owner", &owner)?;
            let scopes: Option<Vec<Scope>> = if scopes.is_empty() {
                None
            } else {
                Some(
                    scopes
                        .iter()
                        .map(|s| s.parse::<Scope>().map_err(|e| Failure::Usage(format!("--scope {e}"))))
                        .collect::<Result<_, _>>()?,
                )
            };
            let grants = projects
                .iter()
                .map(|p| {
                    let (project_id, project_identifier) = project_arg(p)?;
                    Ok(GrantRequest { project_id, project_identifier, scopes: scopes.clone() })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let view = services
                .create_agent(ctx, owner, crate::service::agents::NewAgent { name, description, grants })
                .await?;
            println!("agent {} ({}) created for owner {}", view.agent.id, view.agent.name, owner);
            print_grants(&view.grants);
            Ok(())
        }
        AgentCommand::List { owner } => {
            let within = match owner {
                Some(o) => Within::Owner(uuid_arg("owner", &o)?),
                None => Within::AnyOwner,
            };
            let agents = services.list_agents(within).await?;
            if agents.is_empty() {
                println!("no agents");
            }
            for a in agents {
                let seen = a.last_seen_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into());
                println!("{}  {:<24} owner {}  {:<7}  last seen {}", a.id, a.name, a.owner_user_id, a.status, seen);
            }
            Ok(())
        }
        AgentCommand::Revoke { agent } => {
            let id = uuid_arg("agent", &agent)?;
            let a = services.revoke_agent(ctx, Within::AnyOwner, id).await?;
            println!("agent {} ({}) is {}; all its tokens are revoked", a.id, a.name, a.status);
            Ok(())
        }
    }
}

/// A new token, the only time it is shown, with the Codex configuration that reads it
/// from the environment (stdout only: it is never logged).
pub(super) fn print_issued(issued: &IssuedToken, agent: &Agent, public_url: &str) {
    let setup = codex::setup(&agent.name, agent.id, public_url);
    println!("token {} issued for agent {} ({}).", issued.info.id, agent.name, agent.id);
    println!("This is the only time it is shown:\n");
    println!("  export {}={}\n", setup.bearer_token_env_var, issued.token.expose());
    println!("Codex configuration (~/.codex/config.toml):\n");
    println!("{}", setup.config_toml);
    println!("or: {}", setup.add_command);
}

async fn token(services: &Services<'_>, ctx: &Ctx, c: TokenCommand) -> Result<(), Failure> {
    match c {
        TokenCommand::Issue { agent, label, expires_in_days, public_url, bind } => {
            let agent_id = uuid_arg("agent", &agent)?;
            let url = gateway_url(public_url.as_deref(), bind.as_deref())?;
            let expires_at = match expires_in_days {
                None => None,
                Some(d @ 1..=3650) => Some(Utc::now() + Duration::days(i64::from(d))),
                Some(d) => {
                    return Err(Failure::Usage(format!("--expires-in-days {d} is out of range 1..=3650")));
                }
            };
            let issued = services.issue_token(ctx, Within::AnyOwner, agent_id, &label, expires_at).await?;
            let view = services.agent(Within::AnyOwner, agent_id).await?;
            print_issued(&issued, &view.agent, &url);
            Ok(())
        }
        TokenCommand::List { agent } => {
            let agent_id = uuid_arg("agent", &agent)?;
            let tokens = services.list_tokens(Within::AnyOwner, agent_id).await?;
            if tokens.is_empty() {
                println!("no tokens");
            }
            let now = Utc::now();
            for t in tokens {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if !t.is_usable(now) {
                    "expired"
                } else {
                    "active"
                };
                let used = t.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into());
                println!(
                    "{}  {:<20} {:<7}  created {}  last used {}",
                    t.id,
                    t.label,
                    state,
                    t.created_at.to_rfc3339(),
                    used
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { token } => {
            let id = uuid_arg("token", &token)?;
            let t = services.revoke_token(ctx, Within::AnyOwner, None, id).await?;
            println!("token {} ({}) revoked", t.id, t.label);
            Ok(())
        }
    }
}
