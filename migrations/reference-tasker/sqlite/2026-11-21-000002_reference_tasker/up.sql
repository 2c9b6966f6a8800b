-- The reference Tasker: a small Plane-like model used for local development and the
-- tests. Its tables are prefixed `tasker_` and share nothing with the gateway's.
-- Ids are UUIDs stored as text, times UTC `timestamp`, dates `date`.

CREATE TABLE tasker_workspace (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE tasker_users (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES tasker_workspace (id),
    display_name    TEXT NOT NULL,
    email           TEXT NOT NULL,
    workspace_role  TEXT NOT NULL CHECK (workspace_role IN ('admin', 'member', 'guest')),
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasker_users_email_uq ON tasker_users (lower(email));

CREATE TABLE tasker_projects (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES tasker_workspace (id),
    -- Stored upper-case; unique whatever the case.
    identifier     TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- The sequence number the next card gets (WEB-<next_sequence>).
    next_sequence  BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasker_projects_identifier_uq ON tasker_projects (upper(identifier));

CREATE TABLE tasker_states (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES tasker_projects (id),
    name         TEXT NOT NULL,
    state_group  TEXT NOT NULL CHECK (state_group IN ('backlog', 'unstarted', 'started', 'completed', 'cancelled')),
    position     INTEGER NOT NULL,
    is_default   BOOLEAN NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasker_states_name_uq ON tasker_states (project_id, lower(name));
-- At most one default state per project (the code keeps exactly one).
CREATE UNIQUE INDEX tasker_states_default_uq ON tasker_states (project_id) WHERE is_default;

CREATE TABLE tasker_labels (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES tasker_projects (id),
    name        TEXT NOT NULL,
    color       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasker_labels_name_uq ON tasker_labels (project_id, lower(name));

CREATE TABLE tasker_project_members (
    project_id  TEXT NOT NULL REFERENCES tasker_projects (id),
    user_id     TEXT NOT NULL REFERENCES tasker_users (id),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE tasker_issues (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES tasker_projects (id),
    sequence_id       BIGINT NOT NULL,
    title             TEXT NOT NULL,
    priority          TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'medium', 'low', 'none')),
    state_id          TEXT NOT NULL REFERENCES tasker_states (id),
    start_date        DATE,
    target_date       DATE,
    parent_id         TEXT REFERENCES tasker_issues (id),
    description_html  TEXT NOT NULL,
    -- Lower-cased title and description text, for search.
    search_text       TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    updated_by        TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (project_id, sequence_id)
);
CREATE INDEX tasker_issues_state_idx ON tasker_issues (state_id);
CREATE INDEX tasker_issues_parent_idx ON tasker_issues (parent_id);

CREATE TABLE tasker_issue_labels (
    issue_id    TEXT NOT NULL REFERENCES tasker_issues (id),
    label_id    TEXT NOT NULL REFERENCES tasker_labels (id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (issue_id, label_id)
);
CREATE INDEX tasker_issue_labels_label_idx ON tasker_issue_labels (label_id);

CREATE TABLE tasker_issue_assignees (
    issue_id    TEXT NOT NULL REFERENCES tasker_issues (id),
    user_id     TEXT NOT NULL REFERENCES tasker_users (id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (issue_id, user_id)
);
CREATE INDEX tasker_issue_assignees_user_idx ON tasker_issue_assignees (user_id);

CREATE TABLE tasker_comments (
    id          TEXT PRIMARY KEY,
    issue_id    TEXT NOT NULL REFERENCES tasker_issues (id),
    -- 1, 2, 3… per card, in the order written.
    position    BIGINT NOT NULL,
    body        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (issue_id, position)
);

-- Every change of a card, one row per changed field, oldest first by id.
CREATE TABLE tasker_activity (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id    TEXT NOT NULL REFERENCES tasker_issues (id),
    actor       TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX tasker_activity_issue_idx ON tasker_activity (issue_id, id);

-- One row per (agent, Idempotency-Key): the request it was first used with and the
-- response to replay.
CREATE TABLE tasker_idempotency (
    agent_id         TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, idempotency_key)
);
