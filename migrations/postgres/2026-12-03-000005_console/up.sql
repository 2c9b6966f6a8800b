-- The console (`/console/`): single-use sign-in links and console sessions. Only
-- SHA-256 digests of the link token and of the session secret are stored, never the
-- values themselves. Audit rows can say that a change came from the console.

CREATE TABLE console_links (
    digest      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('owner', 'admin')),
    subject     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX console_links_expiry_idx ON console_links (expires_at);

CREATE TABLE console_sessions (
    id            TEXT PRIMARY KEY,
    digest        TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('owner', 'admin')),
    subject       TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP NOT NULL,
    ended_at      TIMESTAMP
);
CREATE INDEX console_sessions_used_idx ON console_sessions (last_used_at);

ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_kind_check
    CHECK (actor_kind IN ('internal', 'agent', 'operator', 'console'));
