-- Jobs (issue 7): asynchronous tool calls, run by a gateway's worker pool and shared by replicas.
-- The jobs table itself is in 0001; this adds what running, cancelling and expiring them needs.
-- Keep in step with migrations/sqlite/0003_jobs.sql.

-- The submitter's roles (for the audit records of the run) and where the job came from: rest | mcp.
ALTER TABLE jobs ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'rest';
-- A cancel asked for while the job runs: the gateway running it sees this when it renews its lease.
ALTER TABLE jobs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
-- The backend's own task id, when the backend runs the call as an MCP task.
ALTER TABLE jobs ADD COLUMN backend_task_id TEXT;
-- When an ended job and its result are deleted (finished_at + ttl_ms).
ALTER TABLE jobs ADD COLUMN expires_at BIGINT;

-- Workers look for expired leases of running jobs; the sweeper for expired ended ones.
CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);
CREATE INDEX jobs_expires ON jobs (expires_at);
