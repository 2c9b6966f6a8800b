//! Command-line arguments. Every setting is also an environment variable with the
//! prefix `NODEDC_AGENT_GATEWAY_`. Values that need validation are taken as text and
//! checked together in [`super::validate`], so every problem is reported at once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "nodedc-agent-gateway", version, about = "NODE.DC Agent Gateway")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database URL: postgres://USER@HOST:PORT/DB or sqlite://PATH. Default: SQLite in
    /// the data directory.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database URL (instead of DATABASE_URL; for container secrets,
    /// since the URL may hold a password).
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,

    /// Operator commands: create (or migrate) the database when it does not exist yet.
    /// Without it they refuse, so a command run in the wrong directory does not act on a
    /// new empty database. `serve`, `migrate` and `demo-setup` always create it.
    #[arg(long, global = true)]
    pub init: bool,

    /// Tasker's base URL (its adapter lives under /api/internal/nodedc/agent). Unset:
    /// the reference Tasker runs inside the gateway on a loopback port (local mode only).
    /// Operator commands check new grants against it too.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_TASKER_URL")]
    pub tasker_url: Option<String>,

    /// The NODE.DC internal token Tasker's adapter expects; at least 32 characters.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_TASKER_TOKEN", hide_env_values = true)]
    pub tasker_token: Option<String>,

    /// File holding Tasker's token (instead of TASKER_TOKEN; for container secrets).
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_TASKER_TOKEN_FILE")]
    pub tasker_token_file: Option<PathBuf>,

    /// Directory for the embedded SQLite database and the generated local-dev files.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Log format: text or json.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_LOG_FORMAT")]
    pub log_format: Option<String>,

    /// Log filter, e.g. `info` or `info,nodedc_agent_gateway=debug`.
    #[arg(long, global = true, env = "NODEDC_AGENT_GATEWAY_LOG_LEVEL")]
    pub log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (runs pending migrations first).
    Serve(Box<ServeArgs>),
    /// Run pending database migrations and exit.
    Migrate,
    /// Run the reference Tasker alone (the adapter contract and a read-only board page).
    ReferenceTasker(ReferenceTaskerArgs),
    /// Run the adapter contract's checks against a Tasker (writes only check cards).
    TaskerCheck(TaskerCheckArgs),
    /// Operator commands for owners (act on the database directly; for local dev).
    #[command(subcommand)]
    Owner(OwnerCommand),
    /// Operator commands for agents (act on the database directly; for local dev).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Operator commands for agent tokens (act on the database directly; for local dev).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Set up the demo workspace for Codex: the demo owner Alice, an agent on project
    /// WEB and a new token, printed once with the Codex configuration. Safe to re-run.
    DemoSetup(DemoSetupArgs),
    /// Print a single-use console sign-in link (valid 60 seconds) for an owner or an
    /// admin (acts on the database directly; for local dev).
    ConsoleLink(ConsoleLinkArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// `local` (loopback only; generates an internal token if none is set; runs the
    /// reference Tasker when no TASKER_URL) or `production` (requires BIND, a strong
    /// internal token, and TASKER_URL with TASKER_TOKEN).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_MODE")]
    pub mode: Option<String>,

    /// Address to listen on, IP:PORT.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_BIND")]
    pub bind: Option<String>,

    /// Base URL agents use to reach the gateway (for generated Codex configuration).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Bearer token for the internal (owner lifecycle, entitlement) API; at least 32
    /// characters.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", hide_env_values = true)]
    pub internal_token: Option<String>,

    /// File holding the internal token (instead of the variable; for container secrets).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN_FILE")]
    pub internal_token_file: Option<PathBuf>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<String>,

    /// A separate address, IP:PORT, serving `GET /metrics` without a token (for a
    /// Prometheus scraper on a private network). Unset: `/metrics` is only on the main
    /// port, behind the internal token.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Database connections in the pool.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_DB_POOL_SIZE")]
    pub db_pool_size: Option<String>,

    /// `true` behind a reverse proxy that appends the client address to
    /// `X-Forwarded-For`: the per-address failure limits then use the last entry. Leave
    /// `false` when clients connect directly (the header could be forged).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<String>,

    /// HTTP worker threads (default: number of CPUs).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_WORKERS")]
    pub workers: Option<String>,

    /// Where the embedded reference Tasker listens (only without TASKER_URL), IP:PORT.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_REFERENCE_TASKER_BIND")]
    pub reference_tasker_bind: Option<String>,

    /// Default read budget per agent: calls per minute, and how many may come at once.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_RATE_READ_PER_MINUTE")]
    pub rate_read_per_minute: Option<String>,
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_RATE_READ_BURST")]
    pub rate_read_burst: Option<String>,
    /// Default write budget per agent (an agent can have its own, set by its owner).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_RATE_WRITE_PER_MINUTE")]
    pub rate_write_per_minute: Option<String>,
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_RATE_WRITE_BURST")]
    pub rate_write_burst: Option<String>,

    /// Extra browser origins allowed to call /mcp, comma-separated (the public URL's
    /// origin always is).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_ALLOWED_ORIGINS")]
    pub allowed_origins: Option<String>,

    /// Seconds before a call to Tasker times out.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_TASKER_TIMEOUT_SECS")]
    pub tasker_timeout_secs: Option<String>,

    /// Launcher's own internal token (optional): allowed the entitlement projection and
    /// the admin reporting routes only. At least 32 characters.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_LAUNCHER_TOKEN", hide_env_values = true)]
    pub launcher_token: Option<String>,
    /// File holding Launcher's token.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_LAUNCHER_TOKEN_FILE")]
    pub launcher_token_file: Option<PathBuf>,

    /// Tasker's backend's own internal token (optional): allowed the owner lifecycle
    /// and the per-owner reporting routes only. At least 32 characters.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_TASKER_BACKEND_TOKEN", hide_env_values = true)]
    pub tasker_backend_token: Option<String>,
    /// File holding Tasker's backend's token.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_TASKER_BACKEND_TOKEN_FILE")]
    pub tasker_backend_token_file: Option<PathBuf>,

    /// Seconds without a report or a tool call after which a work session is stale.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_REPORT_STALE_AFTER_SECS")]
    pub report_stale_after_secs: Option<String>,

    /// Seconds without a report or a tool call after which a work session is abandoned.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_REPORT_ABANDON_AFTER_SECS")]
    pub report_abandon_after_secs: Option<String>,

    /// Seconds an MCP session may go unused before it is over (then purged). Default:
    /// 86400 (24 hours).
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_MCP_SESSION_IDLE_SECS")]
    pub mcp_session_idle_secs: Option<String>,

    /// Days audit events are kept; older ones are purged. Default: kept forever.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReferenceTaskerArgs {
    /// Address to listen on, IP:PORT.
    #[arg(long, env = "NODEDC_REFERENCE_TASKER_BIND", default_value = "127.0.0.1:8788")]
    pub bind: String,
    /// The token callers must present; unset: generated into DATA_DIR/reference-tasker-token.
    #[arg(long, env = "NODEDC_REFERENCE_TASKER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Do not create the demo workspace on an empty database.
    #[arg(long)]
    pub no_seed: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoSetupArgs {
    /// Gateway base URL for the printed Codex configuration. Unset: http:// + BIND.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The address the gateway listens on, IP:PORT (gives the URL when PUBLIC_URL is
    /// unset). Default: 127.0.0.1:8787.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_BIND")]
    pub bind: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["owner", "admin"])))]
pub struct ConsoleLinkArgs {
    /// The owner (Launcher user id, UUID) whose console to open.
    #[arg(long)]
    pub owner: Option<String>,
    /// The admin, by name, for the admin view.
    #[arg(long)]
    pub admin: Option<String>,
    /// Gateway base URL for the link. Unset: http:// + BIND.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The address the gateway listens on, IP:PORT. Default: 127.0.0.1:8787.
    #[arg(long, env = "NODEDC_AGENT_GATEWAY_BIND")]
    pub bind: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TaskerCheckArgs {
    /// Tasker's base URL (its adapter lives under /api/internal/nodedc/agent).
    #[arg(long)]
    pub url: String,
    /// File holding the NODE.DC internal token Tasker's adapter expects.
    #[arg(long)]
    pub token_file: PathBuf,
    /// The project (UUID) the check may create its cards in; nothing else is written.
    #[arg(long)]
    pub project: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Create or update an owner (the Launcher projection), with the `codex_agents`
    /// entitlement unless --no-codex-agents.
    Upsert {
        /// The owner's Launcher user id (UUID).
        #[arg(long)]
        user_id: String,
        #[arg(long)]
        name: String,
        /// active, blocked or annulled.
        #[arg(long, default_value = "active")]
        status: String,
        #[arg(long)]
        no_codex_agents: bool,
    },
    /// Show an owner and whether it may use Codex agents.
    Show {
        #[arg(long)]
        user_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent. Without --scope its grants are read-only.
    Create {
        /// Owner's Launcher user id (UUID).
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A granted project, PROJECT_UUID:IDENTIFIER (e.g. 0d6c…:WEB); repeatable.
        #[arg(long = "project")]
        projects: Vec<String>,
        /// A scope given on every granted project (e.g. issue:create); repeatable.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List agents, optionally of one owner.
    List {
        #[arg(long)]
        owner: Option<String>,
    },
    /// Revoke an agent and all its tokens.
    Revoke {
        #[arg(long)]
        agent: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for an agent; prints it once, with the Codex configuration.
    Issue {
        #[arg(long)]
        agent: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Gateway base URL for the printed Codex configuration. Unset: http:// + BIND.
        #[arg(long, env = "NODEDC_AGENT_GATEWAY_PUBLIC_URL")]
        public_url: Option<String>,
        /// The address the gateway listens on, IP:PORT (gives the URL when PUBLIC_URL is
        /// unset). Default: 127.0.0.1:8787.
        #[arg(long, env = "NODEDC_AGENT_GATEWAY_BIND")]
        bind: Option<String>,
    },
    /// List an agent's tokens (never their secrets).
    List {
        #[arg(long)]
        agent: String,
    },
    /// Revoke a token.
    Revoke {
        #[arg(long)]
        token: String,
    },
}
