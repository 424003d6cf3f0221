-- Tool-definition pinning (issue 19, docs/security.md "Tool-definition pinning"). Per backend, a pin
-- per tool, prompt and resource template: the hash of its canonical definition and the definition
-- itself (for diffs), and what the gateway last saw when that differs. Keep in step with
-- migrations/sqlite/0010_definition_pins.sql.
CREATE TABLE pin_policies (
  backend      TEXT PRIMARY KEY REFERENCES backends (name) ON DELETE CASCADE,
  -- tofu: pinned on the first complete listing; explicit: nothing is trusted until `mcpgw backend pin`.
  pin_mode     TEXT NOT NULL CHECK (pin_mode IN ('tofu', 'explicit')),
  drift_mode   TEXT NOT NULL CHECK (drift_mode IN ('block', 'warn', 'off')),
  -- block: definitions with suspicious-text findings are served only once a person approved them.
  suspicious   TEXT NOT NULL CHECK (suspicious IN ('flag', 'block')),
  -- JSON array of the kinds (tool, prompt, resourceTemplate) pinned so far; "tool:sampling,roots" for what a
  -- backend lists only to clients with those capabilities (a scope).
  baselines    TEXT NOT NULL DEFAULT '[]',
  updated_at   BIGINT NOT NULL
);

CREATE TABLE definition_pins (
  backend              TEXT NOT NULL REFERENCES backends (name) ON DELETE CASCADE,
  kind                 TEXT NOT NULL CHECK (kind IN ('tool', 'prompt', 'resourceTemplate')),
  name                 TEXT NOT NULL,
  -- The client capabilities (sampling, elicitation, roots) of the listing that first showed it: only a
  -- complete listing under the same ones can say it was removed.
  scope                TEXT NOT NULL DEFAULT '',
  status               TEXT NOT NULL CHECK (status IN ('pinned', 'changed', 'added', 'removed')),
  pinned_hash          TEXT,
  pinned_definition    TEXT,
  pinned_at            BIGINT,
  -- Who approved or pinned it explicitly; null when it was trusted on first use.
  approved_by          TEXT,
  observed_hash        TEXT,
  observed_definition  TEXT,
  observed_at          BIGINT,
  -- JSON array of suspicious-text findings in the definition last seen.
  findings             TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (backend, kind, name)
);

-- Backends registered before pinning existed keep serving on upgrade: their drift is flagged (warn),
-- not blocked. A backend added from now on defaults to trust on first use and block.
INSERT INTO pin_policies (backend, pin_mode, drift_mode, suspicious, baselines, updated_at)
  SELECT name, 'tofu', 'warn', 'flag', '[]', updated_at FROM backends;

INSERT INTO changes (topic, version) VALUES ('pins', 0);
