-- The W3C trace context of the request that submitted a job (issue 6), so the job's run continues
-- that trace: its log line and what it sends HTTP backends carry the submitter's trace id.
-- Keep in step with migrations/postgres/0004_job_trace.sql.
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE jobs ADD COLUMN tracestate TEXT;
