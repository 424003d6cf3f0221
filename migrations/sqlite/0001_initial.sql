-- mcpgw initial schema (SQLite). Times are epoch milliseconds; JSON is stored as TEXT.
-- Keep in step with migrations/postgres/0001_initial.sql: same tables, same columns.

CREATE TABLE signing_keys (
  kid          TEXT PRIMARY KEY,
  alg          TEXT NOT NULL,
  public_jwk   TEXT NOT NULL,
  private_jwk  TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  retired_at   BIGINT
);

CREATE TABLE tokens (
  jti          TEXT PRIMARY KEY,
  subject      TEXT NOT NULL,
  roles        TEXT NOT NULL DEFAULT '[]',
  description  TEXT,
  issued_at    BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  revoked_at   BIGINT
);
CREATE INDEX tokens_subject ON tokens (subject);

CREATE TABLE roles (
  name         TEXT PRIMARY KEY,
  description  TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);

CREATE TABLE role_permissions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  role         TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
  effect       TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
  pattern      TEXT NOT NULL,
  conditions   TEXT
);
CREATE INDEX role_permissions_role ON role_permissions (role);

CREATE TABLE role_bindings (
  role         TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
  subject      TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (role, subject)
);
CREATE INDEX role_bindings_subject ON role_bindings (subject);

CREATE TABLE backends (
  name         TEXT PRIMARY KEY,
  transport    TEXT NOT NULL CHECK (transport IN ('stdio', 'streamable-http', 'sse')),
  url          TEXT,
  command      TEXT,
  env          TEXT NOT NULL DEFAULT '{}',
  headers      TEXT NOT NULL DEFAULT '{}',
  timeout_ms   INTEGER NOT NULL,
  options      TEXT NOT NULL DEFAULT '{}',
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);

CREATE TABLE rate_limit_rules (
  id            TEXT PRIMARY KEY,
  scope         TEXT NOT NULL CHECK (scope IN ('subject', 'role', 'global')),
  scope_value   TEXT,
  tool_pattern  TEXT,
  rate_count    INTEGER NOT NULL,
  rate_period_ms BIGINT NOT NULL,
  burst         INTEGER NOT NULL,
  created_at    BIGINT NOT NULL
);

CREATE TABLE rate_limit_counters (
  key          TEXT PRIMARY KEY,
  value        BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);

CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  chain_id       TEXT NOT NULL,
  seq            BIGINT NOT NULL,
  prev_hash      TEXT NOT NULL,
  hash           TEXT NOT NULL,
  ts             BIGINT NOT NULL,
  request_id     TEXT,
  session_id     TEXT,
  subject        TEXT,
  roles          TEXT,
  client_name    TEXT,
  client_version TEXT,
  backend        TEXT,
  target         TEXT,
  method         TEXT NOT NULL,
  arguments      TEXT,
  status         TEXT NOT NULL,
  error_code     INTEGER,
  error_message  TEXT,
  duration_ms    INTEGER,
  bytes_in       INTEGER,
  bytes_out      INTEGER,
  decision       TEXT,
  rule           TEXT,
  UNIQUE (chain_id, seq)
);
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_subject ON audit_events (subject, ts);

CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  owner            TEXT NOT NULL,
  backend          TEXT NOT NULL,
  tool             TEXT NOT NULL,
  arguments        TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL CHECK (status IN ('queued', 'working', 'input_required', 'completed', 'failed', 'cancelled')),
  progress         TEXT,
  result           TEXT,
  error            TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  idempotent       INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  ttl_ms           BIGINT NOT NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  started_at       BIGINT,
  finished_at      BIGINT
);
CREATE INDEX jobs_status ON jobs (status, created_at);
CREATE INDEX jobs_owner ON jobs (owner, created_at);

-- One row per topic (backends, policy, tokens, limits, keys); a write bumps its topic's
-- version in the same transaction, and running gateways reload when a version moves.
CREATE TABLE changes (
  topic        TEXT PRIMARY KEY,
  version      BIGINT NOT NULL
);
INSERT INTO changes (topic, version) VALUES ('backends', 0), ('policy', 0), ('tokens', 0), ('limits', 0), ('keys', 0);
