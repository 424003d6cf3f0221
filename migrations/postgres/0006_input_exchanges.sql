-- MCP 2026-07-28 input_required exchanges (docs/relay.md, "Bridges between the eras").
--
-- exchange: the id of the input_required exchange a call's round belongs to. A 2026-07-28 client
-- answers a question by calling again, so one logical call is several audited requests; each
-- round's outcome names the exchange, which ties them together. Set by the outcome event and
-- hashed only when set, so records written before this migration keep their hashes.
--
-- request_states_spent: the requestStates the gateway sealed that a client has already presented.
-- A state is good for one retry on any replica; its row lives until the state would have expired.
-- Keep in step with migrations/sqlite/0006_input_exchanges.sql.
ALTER TABLE audit_events ADD COLUMN exchange TEXT;

CREATE TABLE request_states_spent (
  id TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX request_states_spent_expiry ON request_states_spent (expires_at);
