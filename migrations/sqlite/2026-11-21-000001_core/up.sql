-- Core identity and capability model. Times are UTC `timestamp` (no zone) so the
-- same diesel schema serves PostgreSQL and SQLite; ids are UUIDs stored as text.

CREATE TABLE owners (
    user_id       TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'annulled')),
    codex_agents  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE owner_changes (
    id             TEXT PRIMARY KEY,
    owner_user_id  TEXT NOT NULL REFERENCES owners (user_id),
    changed_at     TIMESTAMP NOT NULL,
    request_id     TEXT NOT NULL,
    source         TEXT NOT NULL,
    field          TEXT NOT NULL,
    old_value      TEXT,
    new_value      TEXT NOT NULL
);
CREATE INDEX owner_changes_owner_idx ON owner_changes (owner_user_id, changed_at);

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    owner_user_id  TEXT NOT NULL REFERENCES owners (user_id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    last_seen_at   TIMESTAMP,
    revoked_at     TIMESTAMP
);
CREATE INDEX agents_owner_idx ON agents (owner_user_id, created_at);
-- An owner's active agents have distinct names (they become Codex server names).
CREATE UNIQUE INDEX agents_owner_active_name_uq ON agents (owner_user_id, name) WHERE status = 'active';

CREATE TABLE agent_tokens (
    id            TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL REFERENCES agents (id),
    label         TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP,
    last_used_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);
CREATE INDEX agent_tokens_agent_idx ON agent_tokens (agent_id, created_at);

CREATE TABLE agent_grants (
    agent_id            TEXT NOT NULL REFERENCES agents (id),
    project_id          TEXT NOT NULL,
    project_identifier  TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, project_id)
);

CREATE TABLE audit_events (
    id               TEXT PRIMARY KEY,
    occurred_at      TIMESTAMP NOT NULL,
    request_id       TEXT NOT NULL,
    actor_kind       TEXT NOT NULL CHECK (actor_kind IN ('internal', 'agent', 'operator')),
    owner_user_id    TEXT,
    agent_id         TEXT,
    token_id         TEXT,
    action           TEXT NOT NULL,
    project_ref      TEXT,
    card_ref         TEXT,
    idempotency_key  TEXT,
    outcome          TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    error_code       TEXT,
    duration_ms      BIGINT NOT NULL
);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_agent_idx ON audit_events (agent_id, occurred_at);
CREATE INDEX audit_events_owner_idx ON audit_events (owner_user_id, occurred_at);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);

CREATE TABLE idempotency_keys (
    agent_id          TEXT NOT NULL REFERENCES agents (id),
    idempotency_key   TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
    response          TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
