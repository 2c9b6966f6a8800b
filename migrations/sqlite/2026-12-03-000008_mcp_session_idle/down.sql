ALTER TABLE mcp_sessions DROP COLUMN last_seen_at;
