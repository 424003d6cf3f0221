import { useState } from "preact/hooks";
import { apiPath } from "../api-client.ts";
import type { JobList, JobView, LimitUsageList } from "../api-types.ts";
import { ErrorBox, Section, Status, useApi, useClient, when } from "../shared.tsx";

/** Rate limits with their current usage (GET /v1/admin/limits/usage), and jobs with progress and cancel (GET /v1/admin/jobs, POST …/{id}/cancel). */

const REFRESH_MS = 5_000;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export function LimitsPage() {
  const usage = useApi<LimitUsageList>("v1/admin/limits/usage", REFRESH_MS);
  return (
    <Section title="Rate limits and usage">
      <ErrorBox error={usage.error} />
      {usage.data && (
        <table id="limits">
          <thead>
            <tr>
              <th>rule</th>
              <th>scope</th>
              <th>tool</th>
              <th>rate (burst)</th>
              <th>bucket</th>
              <th>used</th>
              <th class="num">remaining</th>
              <th>refills</th>
            </tr>
          </thead>
          <tbody>
            {usage.data.usage.map((row) => (
              <tr key={`${row.id}:${row.key}`}>
                <td>
                  <code>{row.id}</code>
                </td>
                <td>{row.scope}</td>
                <td>{row.tool ?? "*"}</td>
                <td>
                  {row.rate} ({row.burst})
                </td>
                <td>{row.key}</td>
                <td class="usage">
                  {row.used === null ? (
                    "—"
                  ) : (
                    <>
                      <meter min={0} max={row.burst} value={row.used} /> {row.used}
                    </>
                  )}
                </td>
                <td class="num">{row.remaining ?? "—"}</td>
                <td>{when(row.resetsAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {usage.data?.usage.length === 0 && <p class="empty">No rate-limit rule: mcpgw limit set --sub alice --rate 100/min.</p>}
    </Section>
  );
}

export function JobsPage() {
  const client = useClient();
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const jobs = useApi<JobList>(apiPath("v1/admin/jobs", { cursor }), REFRESH_MS);
  const [error, setError] = useState<unknown>(undefined);
  const cancel = async (job: JobView) => {
    setError(undefined);
    try {
      await client.post(`v1/admin/jobs/${encodeURIComponent(job.id)}/cancel`);
      jobs.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section
      title="Jobs"
      actions={
        cursor && (
          <button type="button" onClick={() => setCursor(undefined)}>
            Newest
          </button>
        )
      }
    >
      <ErrorBox error={jobs.error ?? error} />
      {jobs.data && (
        <table id="jobs">
          <thead>
            <tr>
              <th>job</th>
              <th>backend/tool</th>
              <th>owner</th>
              <th>status</th>
              <th>progress</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.data.jobs.map((job) => (
              <tr key={job.id}>
                <td>
                  <code title={job.id}>{job.id.slice(0, 8)}</code>
                </td>
                <td class="target">
                  {job.backend}/{job.tool}
                </td>
                <td class="subject">{job.owner}</td>
                <td>
                  <Status value={job.status} />
                  {job.error && <div class="detail">{job.error.message}</div>}
                </td>
                <td>
                  {job.progress ? (
                    <>
                      {job.progress.total ? <progress max={job.progress.total} value={job.progress.progress} /> : job.progress.progress}
                      {job.progress.message && <div class="muted">{job.progress.message}</div>}
                    </>
                  ) : (
                    "—"
                  )}
                </td>
                <td>{when(job.createdAt)}</td>
                <td>
                  {!TERMINAL.has(job.status) && !job.cancelRequested && (
                    <button type="button" class="danger cancel-job" onClick={() => void cancel(job)}>
                      Cancel
                    </button>
                  )}
                  {job.cancelRequested && !TERMINAL.has(job.status) && <span class="muted">cancelling…</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {jobs.data?.jobs.length === 0 && <p class="empty">No job.</p>}
      {jobs.data?.nextCursor && (
        <button type="button" onClick={() => setCursor(jobs.data?.nextCursor ?? undefined)}>
          Older jobs
        </button>
      )}
    </Section>
  );
}
