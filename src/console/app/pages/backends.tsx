import type { BackendStatusList, SessionList } from "../api-types.ts";
import { ErrorBox, Section, Status, seconds, useApi, when } from "../shared.tsx";

/** Backends with health, era, tools and connections/processes (GET /v1/admin/backends/status), and open MCP sessions (GET /v1/admin/sessions). */

const REFRESH_MS = 5_000;

export function BackendsPage() {
  const status = useApi<BackendStatusList>("v1/admin/backends/status", REFRESH_MS);
  const sessions = useApi<SessionList>("v1/admin/sessions", REFRESH_MS);
  return (
    <div>
      <Section title="Backends">
        <ErrorBox error={status.error} />
        {status.data && (
          <table id="backends">
            <thead>
              <tr>
                <th>backend</th>
                <th>health</th>
                <th>era / protocol</th>
                <th>tools</th>
                <th class="num">connections (shared / own)</th>
                <th>processes</th>
              </tr>
            </thead>
            <tbody>
              {status.data.backends.map((backend) => (
                <tr key={backend.name}>
                  <td>
                    <strong>{backend.name}</strong>
                    <div class="muted">{backend.transport}</div>
                  </td>
                  <td>
                    <Status value={backend.health} />
                    {backend.since && <div class="muted">since {when(backend.since)}</div>}
                    {backend.lastError && <div class="detail">{backend.lastError}</div>}
                  </td>
                  <td>
                    {backend.era ?? "—"}
                    {backend.protocolVersion && <div class="muted">{backend.protocolVersion}</div>}
                  </td>
                  <td>
                    {backend.tools.length === 0 ? (
                      "—"
                    ) : (
                      <details>
                        <summary>{backend.tools.length} tools</summary>
                        <ul class="rules">
                          {backend.tools.map((tool) => (
                            <li key={tool.name} title={tool.description ?? ""}>
                              <code>{tool.name}</code>
                            </li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </td>
                  <td class="num">
                    {backend.connections.shared} / {backend.connections.dedicated}
                  </td>
                  <td>
                    {backend.processes.length === 0
                      ? "—"
                      : backend.processes.map((p) => `pid ${p.pid}${p.session ? ` (session ${p.session.slice(0, 8)})` : ""}`).join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {status.data?.backends.length === 0 && <p class="empty">No backend registered: mcpgw backend add NAME --command … or --url ….</p>}
      </Section>
      <Section title="Sessions">
        <ErrorBox error={sessions.error} />
        {sessions.data && (
          <table id="sessions">
            <thead>
              <tr>
                <th>session</th>
                <th>subject</th>
                <th>client</th>
                <th>route</th>
                <th class="num">age</th>
                <th class="num">idle</th>
                <th>own processes</th>
                <th>gateway</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.sessions.map((session) => (
                <tr key={session.id}>
                  <td>
                    <code title={session.id}>{session.id.slice(0, 8)}</code>
                  </td>
                  <td class="subject">{session.subject ?? "—"}</td>
                  <td>{session.client ?? "—"}</td>
                  <td>{session.route}</td>
                  <td class="num">{seconds(session.ageSec)}</td>
                  <td class="num">{seconds(session.idleSec)}</td>
                  <td>{session.dedicated.map((d) => (d.pid === null ? d.backend : `${d.backend} (pid ${d.pid})`)).join(", ") || "—"}</td>
                  <td>
                    {session.gateway.instance}
                    {session.gateway.stale && <Status value="stale" />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {sessions.data?.sessions.length === 0 && <p class="empty">No open MCP session.</p>}
      </Section>
    </div>
  );
}
