import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api-client.ts";
import type { CallEvent, CallStats } from "../api-types.ts";
import { BarChart, LineChart } from "../charts.tsx";
import { readServerSentEvents } from "../sse-reader.ts";
import { ErrorBox, Section, Status, ms, useApi, useClient, when } from "../shared.tsx";

/**
 * Live calls: the gateway's calls as they finish (GET /v1/admin/calls/stream, read with fetch so the
 * token goes in a header), pausable and filterable, under two plots of the last hour (GET /v1/admin/stats).
 */

const MAX_ROWS = 500;
const RECONNECT_MS = 2_000;
const STATS_REFRESH_MS = 15_000;

interface Row extends CallEvent {
  key: number;
}

type Connection = "connecting" | "live" | "reconnecting";

function matches(row: CallEvent, filter: string): boolean {
  if (!filter) return true;
  const needle = filter.toLowerCase();
  return [row.subject, row.backend, row.target, row.method, row.status, row.client].some((field) => field?.toLowerCase().includes(needle));
}

export function LivePage() {
  const client = useClient();
  const [rows, setRows] = useState<Row[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState<Row[]>([]);
  const [filter, setFilter] = useState("");
  const [connection, setConnection] = useState<Connection>("connecting");
  const [dropped, setDropped] = useState(0);
  const [error, setError] = useState<unknown>(undefined);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const abort = new AbortController();
    let next = 0;
    const add = (event: CallEvent) => {
      const row = { ...event, key: next++ };
      if (pausedRef.current) setHeld((h) => [row, ...h].slice(0, MAX_ROWS));
      else setRows((r) => [row, ...r].slice(0, MAX_ROWS));
    };
    (async () => {
      while (!abort.signal.aborted) {
        try {
          const response = await client.send("GET", "v1/admin/calls/stream", undefined, abort.signal);
          setConnection("live");
          setError(undefined);
          await readServerSentEvents(response.body!, ({ event, data }) => {
            if (event === "call") add(JSON.parse(data) as CallEvent);
            else if (event === "dropped") setDropped((n) => n + ((JSON.parse(data) as { count: number }).count ?? 0));
          });
        } catch (err) {
          if (abort.signal.aborted) return;
          // Refused (401, 403): retrying cannot help. A broken connection (a restart) is tried again.
          if (err instanceof ApiError && err.status < 500) {
            setError(err);
            return;
          }
        }
        if (abort.signal.aborted) return;
        setConnection("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    })();
    return () => abort.abort();
  }, [client]);

  const resume = () => {
    setRows((r) => [...held, ...r].slice(0, MAX_ROWS));
    setHeld([]);
    setPaused(false);
  };
  const shown = useMemo(() => rows.filter((row) => matches(row, filter)), [rows, filter]);

  return (
    <div>
      <StatsPlots />
      <Section
        title="Live calls"
        actions={
          <>
            <input
              type="search"
              id="live-filter"
              placeholder="filter: subject, backend, status…"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
            {paused ? (
              <button type="button" id="live-resume" onClick={resume}>
                Resume{held.length > 0 ? ` (${held.length} new)` : ""}
              </button>
            ) : (
              <button type="button" id="live-pause" onClick={() => setPaused(true)}>
                Pause
              </button>
            )}
            <span class={`connection ${connection}`}>{error ? "stopped" : connection}</span>
          </>
        }
      >
        <ErrorBox error={error} />
        {dropped > 0 && <p class="note">{dropped} calls were not shown: the console did not keep up with the stream.</p>}
        {!error && (
          <>
            <table id="live-calls">
              <thead>
                <tr>
                  <th>time</th>
                  <th>subject</th>
                  <th>backend/tool</th>
                  <th>outcome</th>
                  <th class="num">latency</th>
                  <th>rule / error</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((row) => (
                  <tr key={row.key} class="call-row">
                    <td>{when(row.ts)}</td>
                    <td class="subject">{row.subject ?? "—"}</td>
                    <td class="target">
                      {row.backend ? `${row.backend}/${row.target ?? row.method}` : (row.target ?? row.method)}
                      {row.target && row.method !== "tools/call" && <span class="method"> {row.method}</span>}
                    </td>
                    <td>
                      <Status value={row.status} />
                    </td>
                    <td class="num">{ms(row.latencyMs)}</td>
                    <td class="detail">{row.errorMessage ?? row.rule ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {shown.length === 0 && <p class="empty">{rows.length === 0 ? "Waiting for calls…" : "No call matches the filter."}</p>}
          </>
        )}
      </Section>
    </div>
  );
}

/** Calls and refusals per minute over the last hour, and each backend's latency percentiles. */
function StatsPlots() {
  const stats = useApi<CallStats>("v1/admin/stats?minutes=60", STATS_REFRESH_MS);
  // A 403 is shown once, by the table below (the stream needs the same admin:read).
  if (stats.error) return stats.error instanceof ApiError && stats.error.status === 403 ? null : <ErrorBox error={stats.error} />;
  const data = stats.data;
  if (!data) return <p class="empty">Loading the last hour…</p>;
  const first = data.minutes[0]?.t ?? data.since;
  const last = data.minutes.at(-1)?.t ?? data.since;
  return (
    <div class="charts">
      <LineChart
        title="Calls and refusals per minute, last hour"
        labels={[when(first), when(last)]}
        series={[
          { name: "calls", tone: "tone-a", values: data.minutes.map((m) => m.calls) },
          { name: "refusals", tone: "tone-c", values: data.minutes.map((m) => m.refusals) },
        ]}
      />
      <BarChart
        title="Latency per backend, last hour"
        unit=" ms"
        names={["p50", "p90", "p99"]}
        tones={["tone-a", "tone-b", "tone-c"]}
        groups={data.backends.map((b) => ({ label: b.backend, values: [b.p50Ms, b.p90Ms, b.p99Ms] }))}
      />
    </div>
  );
}
