CREATE TABLE audit_events_new (
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
INSERT INTO audit_events_new SELECT id, occurred_at, request_id, actor_kind, owner_user_id, agent_id, token_id,
    action, project_ref, card_ref, idempotency_key, outcome, error_code, duration_ms FROM audit_events WHERE actor_kind <> 'console';
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_agent_idx ON audit_events (agent_id, occurred_at);
CREATE INDEX audit_events_owner_idx ON audit_events (owner_user_id, occurred_at);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);
CREATE INDEX audit_events_page_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at);
CREATE INDEX audit_events_project_idx ON audit_events (project_ref, occurred_at);
CREATE INDEX audit_events_error_idx ON audit_events (error_code, occurred_at) WHERE error_code IS NOT NULL;
DROP TABLE console_sessions;
DROP TABLE console_links;
