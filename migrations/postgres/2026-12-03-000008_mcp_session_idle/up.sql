-- When a session was last used (written in batches, like a token's last use): a
-- session idle longer than MCP_SESSION_IDLE_SECS is over. NULL: not used since it opened.
ALTER TABLE mcp_sessions ADD COLUMN last_seen_at TIMESTAMP;
