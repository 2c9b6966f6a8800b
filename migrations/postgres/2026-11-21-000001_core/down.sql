DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP TABLE agent_grants;
DROP TABLE agent_tokens;
DROP TABLE agents;
DROP TABLE owner_changes;
DROP TABLE owners;
