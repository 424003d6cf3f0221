-- Per-subject secrets to backends (issue 18, docs/security.md "Per-subject secrets"): one secret per
-- (backend, subject), encrypted by mcpgw with AES-256-GCM before it is written (the database never sees
-- the value), the (backend, subject) bound in as additional data. Keep in step with
-- migrations/sqlite/0011_subject_secrets.sql.
CREATE TABLE subject_secrets (
  backend     TEXT NOT NULL REFERENCES backends (name) ON DELETE CASCADE,
  subject     TEXT NOT NULL,
  -- Names this value (new on every secret set, kept by rekey): what the audit may cite, never the value.
  secret_id   TEXT NOT NULL,
  -- Base64: the ciphertext followed by the 16-byte GCM tag, and the 12-byte nonce.
  ciphertext  TEXT NOT NULL,
  nonce       TEXT NOT NULL,
  -- Which key encrypted it: the first 16 hex digits of the key's SHA-256.
  key_id      TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (backend, subject)
);

INSERT INTO changes (topic, version) VALUES ('secrets', 0);

-- The credential a call reached its backend with: the backend's mode (static, gateway-assertion,
-- per-subject-secret…), never a value. Null on records written before it was recorded.
ALTER TABLE audit_events ADD COLUMN credential TEXT;
