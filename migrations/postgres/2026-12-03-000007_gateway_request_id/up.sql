-- The id the gateway generated for the request, beside the client's X-Request-Id
-- (request_id), which a client may reuse.
ALTER TABLE audit_events ADD COLUMN gateway_request_id TEXT;
