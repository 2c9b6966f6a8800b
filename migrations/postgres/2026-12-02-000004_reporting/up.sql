-- Reporting mode: clients (the enterprise organisations owners belong to) with their
-- own `codex_agents` switch; an owner's client and reporting mode; who made each
-- projection change; work sessions and their events; an agent's last tool activity;
-- hourly call counts; and indexes for paging the audit trail.

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    codex_agents  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE client_changes (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id),
    changed_at  TIMESTAMP NOT NULL,
    request_id  TEXT NOT NULL,
    source      TEXT NOT NULL,
    changed_by  TEXT,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT NOT NULL
);
CREATE INDEX client_changes_client_idx ON client_changes (client_id, changed_at);

ALTER TABLE owners ADD COLUMN client_id TEXT REFERENCES clients (id);
ALTER TABLE owners ADD COLUMN reporting_mode TEXT NOT NULL DEFAULT 'voluntary'
    CHECK (reporting_mode IN ('voluntary', 'required'));
CREATE INDEX owners_client_idx ON owners (client_id);
ALTER TABLE owner_changes ADD COLUMN changed_by TEXT;

ALTER TABLE agents ADD COLUMN last_activity_at TIMESTAMP;
ALTER TABLE agents ADD COLUMN last_tool TEXT;
ALTER TABLE agents ADD COLUMN last_card TEXT;
CREATE INDEX agents_created_idx ON agents (created_at, id);
CREATE INDEX agents_last_seen_idx ON agents (last_seen_at);

CREATE TABLE work_sessions (
    id                TEXT PRIMARY KEY,
    agent_id          TEXT NOT NULL REFERENCES agents (id),
    owner_user_id     TEXT NOT NULL REFERENCES owners (user_id),
    goal              TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'stale', 'finished', 'abandoned')),
    card              TEXT,
    last_status       TEXT,
    started_at        TIMESTAMP NOT NULL,
    last_report_at    TIMESTAMP NOT NULL,
    last_activity_at  TIMESTAMP NOT NULL,
    stale_since       TIMESTAMP,
    ended_at          TIMESTAMP,
    outcome           TEXT CHECK (outcome IN ('done', 'blocked', 'abandoned')),
    summary           TEXT
);
CREATE INDEX work_sessions_started_idx ON work_sessions (started_at, id);
CREATE INDEX work_sessions_agent_idx ON work_sessions (agent_id, started_at, id);
CREATE INDEX work_sessions_owner_idx ON work_sessions (owner_user_id, started_at, id);
CREATE INDEX work_sessions_open_idx ON work_sessions (agent_id) WHERE state IN ('active', 'stale');
CREATE INDEX work_sessions_stale_idx ON work_sessions (agent_id, stale_since) WHERE state = 'stale';

CREATE TABLE work_session_events (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES work_sessions (id),
    at          TIMESTAMP NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('started', 'progress', 'stale', 'resumed', 'finished', 'abandoned')),
    card        TEXT,
    text        TEXT,
    request_id  TEXT
);
CREATE INDEX work_session_events_session_idx ON work_session_events (session_id, at);

CREATE TABLE activity_hourly (
    hour_start     TIMESTAMP NOT NULL,
    agent_id       TEXT NOT NULL,
    owner_user_id  TEXT NOT NULL,
    project_ref    TEXT NOT NULL,
    tool           TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    calls          BIGINT NOT NULL,
    PRIMARY KEY (hour_start, agent_id, project_ref, tool, outcome)
);
CREATE INDEX activity_hourly_owner_idx ON activity_hourly (owner_user_id, hour_start);
CREATE INDEX activity_hourly_agent_idx ON activity_hourly (agent_id, hour_start);
CREATE INDEX activity_hourly_project_idx ON activity_hourly (project_ref, hour_start);

-- The audit trail is paged newest first, ties broken by id.
DROP INDEX audit_events_time_idx;
CREATE INDEX audit_events_page_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at);
CREATE INDEX audit_events_project_idx ON audit_events (project_ref, occurred_at);
CREATE INDEX audit_events_error_idx ON audit_events (error_code, occurred_at) WHERE error_code IS NOT NULL;
