-- MCP sessions (bound to the token that opened them) and per-agent rate budgets.

CREATE TABLE mcp_sessions (
    id                TEXT PRIMARY KEY,
    token_id          TEXT NOT NULL REFERENCES agent_tokens (id),
    protocol_version  TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    closed_at         TIMESTAMP
);
CREATE INDEX mcp_sessions_token_idx ON mcp_sessions (token_id);

-- NULL: the gateway's default budget.
ALTER TABLE agents ADD COLUMN read_per_minute INTEGER;
ALTER TABLE agents ADD COLUMN write_per_minute INTEGER;
