-- The MCP protocol version of each audited call: the session's negotiated version for a
-- 2025-era session, the request's own for a stateless 2026-07-28 request, so the log shows which
-- era a call came through. NULL on records written before this migration, and those keep their
-- hashes: the chain hashes the column only when it is set (docs/audit.md, "Events and hashes").
-- Keep in step with migrations/sqlite/0005_audit_protocol_version.sql.
ALTER TABLE audit_events ADD COLUMN protocol_version TEXT;
