ALTER TABLE agents DROP COLUMN write_per_minute;
ALTER TABLE agents DROP COLUMN read_per_minute;
DROP TABLE mcp_sessions;
