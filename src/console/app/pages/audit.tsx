import { useState } from "preact/hooks";
import { AUDIT_RECORD_STATUSES } from "../../../audit/audit-record.ts";
import { apiPath } from "../api-client.ts";
import type { AuditRecord, AuditRecordPage, AuditRecordDetail, AuditVerify, ChainReport } from "../api-types.ts";
import { ErrorBox, Section, Status, ms, text, useClient, when } from "../shared.tsx";

/**
 * Audit search (GET /v1/admin/audit: time range, subject, backend, tool, outcome; older pages by
 * nextCursor), a record's detail (GET /v1/admin/audit/{chain}/{seq}: redacted arguments, the rule,
 * chain position, verification up to it), and every chain verified (GET /v1/admin/audit/verify).
 */

/** The outcomes a record can have, as the audit log defines them (one list for the store, the API and this page). */
const STATUSES = AUDIT_RECORD_STATUSES;

interface Query {
  since: string;
  until: string;
  subject: string;
  backend: string;
  tool: string;
  status: string;
}

const EMPTY: Query = { since: "1h", until: "", subject: "", backend: "", tool: "", status: "" };

export function AuditPage() {
  const client = useClient();
  const [query, setQuery] = useState<Query>(EMPTY);
  const [records, setRecords] = useState<AuditRecord[] | undefined>(undefined);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [detail, setDetail] = useState<AuditRecordDetail | undefined>(undefined);
  const [verify, setVerify] = useState<AuditVerify | undefined>(undefined);

  const search = async (after?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await client.get<AuditRecordPage>(apiPath("v1/admin/audit", { ...query, limit: 50, cursor: after }));
      setRecords((old) => (after ? [...(old ?? []), ...page.records] : page.records));
      setCursor(page.nextCursor);
      if (!after) setDetail(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const open = async (record: AuditRecord) => {
    setError(undefined);
    try {
      setDetail(await client.get<AuditRecordDetail>(`v1/admin/audit/${encodeURIComponent(record.chain.id)}/${record.chain.seq}`));
    } catch (err) {
      setError(err);
    }
  };
  const verifyAll = async () => {
    setError(undefined);
    setVerify(undefined);
    try {
      setVerify(await client.get<AuditVerify>("v1/admin/audit/verify"));
    } catch (err) {
      setError(err);
    }
  };
  const field = (name: keyof Query, label: string, placeholder: string) => (
    <label>
      {label}
      <input name={name} value={query[name]} placeholder={placeholder} onInput={(e) => setQuery({ ...query, [name]: e.currentTarget.value })} />
    </label>
  );

  return (
    <div>
      <Section
        title="Audit search"
        actions={
          <button type="button" id="verify-all" onClick={verifyAll}>
            Verify all chains
          </button>
        }
      >
        <form
          class="filters"
          id="audit-form"
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          {field("since", "since", "15m, 7d, 2026-12-01")}
          {field("until", "until", "(now)")}
          {field("subject", "subject", "alice")}
          {field("backend", "backend", "github")}
          {field("tool", "tool", "github/search_*")}
          <label>
            outcome
            <select name="status" value={query.status} onChange={(e) => setQuery({ ...query, status: e.currentTarget.value })}>
              <option value="">any</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Search
          </button>
        </form>
        <ErrorBox error={error} />
        {verify && <VerifyReport report={verify} />}
        {records && (
          <table id="audit-results">
            <thead>
              <tr>
                <th>time</th>
                <th>subject</th>
                <th>method</th>
                <th>backend/target</th>
                <th>outcome</th>
                <th class="num">duration</th>
                <th>rule</th>
              </tr>
            </thead>
            <tbody>
              {records.map((record) => (
                <tr
                  key={`${record.chain.id}/${record.chain.seq}`}
                  class={`audit-row clickable${detail && detail.record.chain.id === record.chain.id && detail.record.chain.seq === record.chain.seq ? " selected" : ""}`}
                  onClick={() => void open(record)}
                >
                  <td>{when(record.time)}</td>
                  <td class="subject">{text(record.subject)}</td>
                  <td>{record.method}</td>
                  <td class="target">{[record.backend, record.target].filter(Boolean).join("/") || "—"}</td>
                  <td>
                    <Status value={record.status} />
                  </td>
                  <td class="num">{ms(record.durationMs)}</td>
                  <td class="detail">{record.rule ? text(record.rule) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {records?.length === 0 && <p class="empty">No record matches.</p>}
        {cursor && (
          <button type="button" onClick={() => void search(cursor)} disabled={busy}>
            Older records
          </button>
        )}
      </Section>
      {detail && <RecordDetail detail={detail} />}
    </div>
  );
}

function RecordDetail({ detail }: { detail: AuditRecordDetail }) {
  const { record, verification } = detail;
  const rows: [string, string][] = [
    ["time", record.time],
    ["finished", text(record.finishedAt)],
    ["subject", text(record.subject)],
    ["roles", record.roles.join(", ") || "—"],
    ["client", record.client ? `${record.client.name ?? "?"} ${record.client.version ?? ""}` : "—"],
    ["method", record.method],
    ["backend / target", [record.backend, record.target].filter(Boolean).join(" / ") || "—"],
    ["decision", text(record.decision)],
    ["rule", text(record.rule)],
    ["error", record.errorMessage ? `${text(record.errorCode)} ${text(record.errorMessage)}` : "—"],
    ["duration", ms(record.durationMs)],
    ["bytes in / out", `${text(record.bytesIn)} / ${text(record.bytesOut)}`],
    ["session", text(record.sessionId)],
    ["request id", text(record.requestId)],
    ["credential", [record.credential, record.credentialId].filter(Boolean).join(" ") || "—"],
  ];
  return (
    <Section title={`Record ${record.chain.id} #${record.chain.seq}`}>
      <div class="detail-grid" id="audit-detail">
        <dl>
          {rows.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
          <div>
            <dt>outcome</dt>
            <dd>
              <Status value={record.status} />
            </dd>
          </div>
        </dl>
        <div>
          <h3>Arguments (redacted)</h3>
          <pre class="json">{JSON.stringify(record.arguments ?? null, null, 2)}</pre>
          <h3>Chain position</h3>
          <dl>
            <div>
              <dt>chain</dt>
              <dd>{record.chain.id}</dd>
            </div>
            <div>
              <dt>begin event</dt>
              <dd>
                #{record.chain.seq} · hash {record.chain.hash.slice(0, 16)}… · previous {record.chain.prevHash.slice(0, 16)}…
              </dd>
            </div>
            <div>
              <dt>outcome event</dt>
              <dd>{record.chain.outcomeSeq === null ? "—" : `#${record.chain.outcomeSeq} · hash ${(record.chain.outcomeHash ?? "").slice(0, 16)}…`}</dd>
            </div>
            <div>
              <dt>verification</dt>
              <dd class="verification">
                <ChainLine report={verification} />
              </dd>
            </div>
          </dl>
        </div>
      </div>
    </Section>
  );
}

function ChainLine({ report }: { report: ChainReport }) {
  if (report.ok) {
    return (
      <>
        <Status value="ok" /> {report.events} events verified (#{report.from}–#{report.to})
      </>
    );
  }
  return (
    <>
      <Status value="failed" /> broken at #{report.break?.seq}: {report.break?.problem} {report.break?.detail}
    </>
  );
}

function VerifyReport({ report }: { report: AuditVerify }) {
  return (
    <div class={`verify ${report.ok ? "good" : "bad"}`} id="verify-report">
      <strong>{report.ok ? `Every chain verifies (${report.chains.length})` : "A chain is broken"}</strong>
      <ul>
        {report.chains.map((chain) => (
          <li key={chain.chainId}>
            {chain.chainId}: <ChainLine report={chain} />
          </li>
        ))}
      </ul>
    </div>
  );
}
