DELETE FROM audit_events WHERE actor_kind = 'console';
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_kind_check
    CHECK (actor_kind IN ('internal', 'agent', 'operator'));
DROP TABLE console_sessions;
DROP TABLE console_links;
