ALTER TABLE audit_events DROP COLUMN gateway_request_id;
