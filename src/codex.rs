//! Codex CLI configuration for an agent. It names the environment variable that holds
//! the token and never contains the token itself, so it can be written to files.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CodexSetup {
    /// The `[mcp_servers.NAME]` key.
    pub server_name: String,
    /// The environment variable Codex reads the bearer token from.
    pub bearer_token_env_var: String,
    pub url: String,
    /// Ready to paste into `~/.codex/config.toml`.
    pub config_toml: String,
    /// The equivalent `codex mcp add` command line.
    pub add_command: String,
}

/// `Web Bot` → `web_bot`: the characters Codex accepts in a server name. `None` when
/// the name has no ASCII letter or digit to build one from.
pub fn slug(name: &str) -> Option<String> {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_matches('_').to_string();
    (!s.is_empty()).then_some(s)
}

/// The Codex setup of one agent. Names without ASCII letters or digits get one from
/// the agent's id, so two agents never share a server name or token variable.
pub fn setup(agent_name: &str, agent_id: uuid::Uuid, public_url: &str) -> CodexSetup {
    let slug = slug(agent_name).unwrap_or_else(|| format!("agent_{}", &agent_id.simple().to_string()[..8]));
    let server_name = format!("nodedc_{slug}");
    let bearer_token_env_var = format!("NODEDC_AGENT_TOKEN_{}", slug.to_ascii_uppercase());
    let url = format!("{}/mcp", public_url.trim_end_matches('/'));
    let config_toml =
        format!("[mcp_servers.{server_name}]\nurl = \"{url}\"\nbearer_token_env_var = \"{bearer_token_env_var}\"\n");
    let add_command = format!("codex mcp add {server_name} --url {url} --bearer-token-env-var {bearer_token_env_var}");
    CodexSetup { server_name, bearer_token_env_var, url, config_toml, add_command }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_codex_safe() {
        let s = super::setup("Web Bot #1", uuid::Uuid::nil(), "http://127.0.0.1:8787/");
        assert_eq!(s.server_name, "nodedc_web_bot_1");
        assert_eq!(s.bearer_token_env_var, "NODEDC_AGENT_TOKEN_WEB_BOT_1");
        assert_eq!(s.url, "http://127.0.0.1:8787/mcp");
        assert!(s.config_toml.starts_with("[mcp_servers.nodedc_web_bot_1]\n"));
        let id = uuid::Uuid::parse_str("6e1c5d8f-f43f-4572-ae1e-d89745462ce5").unwrap();
        assert_eq!(super::setup("Агент веб", id, "http://x").server_name, "nodedc_agent_6e1c5d8f");
    }
}
