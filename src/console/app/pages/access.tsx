import { useState } from "preact/hooks";
import type { PolicyCheck, PolicyCheckBody, RevokedToken, RoleList, TokenList } from "../api-types.ts";
import { ErrorBox, Section, Status, useApi, useClient, when } from "../shared.tsx";

/**
 * Access: roles with their rules and grants (GET /v1/admin/roles), tokens with revoke (GET
 * /v1/admin/tokens, DELETE /v1/admin/tokens/{jti}), and the policy checker (POST /v1/admin/policy/check),
 * which runs the gateway's real policy: may SUBJECT call this target, and which rule decides.
 */

export function AccessPage() {
  return (
    <div>
      <PolicyChecker />
      <Roles />
      <Tokens />
    </div>
  );
}

function Roles() {
  const roles = useApi<RoleList>("v1/admin/roles");
  return (
    <Section
      title="Roles and grants"
      actions={
        <button type="button" onClick={roles.reload}>
          Refresh
        </button>
      }
    >
      <ErrorBox error={roles.error} />
      {roles.data && (
        <table id="roles">
          <thead>
            <tr>
              <th>role</th>
              <th>allow</th>
              <th>deny</th>
              <th>granted to</th>
            </tr>
          </thead>
          <tbody>
            {roles.data.roles.map((role) => (
              <tr key={role.name}>
                <td>
                  <strong>{role.name}</strong>
                  {role.description && <div class="muted">{role.description}</div>}
                </td>
                <td>
                  <Rules rules={role.allow} />
                </td>
                <td>
                  <Rules rules={role.deny} />
                </td>
                <td>{role.subjects.join(", ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {roles.data?.roles.length === 0 && <p class="empty">No role yet: mcpgw role create NAME --allow 'BACKEND/TOOL'.</p>}
    </Section>
  );
}

function Rules({ rules }: { rules: string[] }) {
  if (rules.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="rules">
      {rules.map((rule) => (
        <li key={rule}>
          <code>{rule}</code>
        </li>
      ))}
    </ul>
  );
}

function Tokens() {
  const client = useClient();
  const tokens = useApi<TokenList>("v1/admin/tokens");
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const revoke = async (jti: string) => {
    setError(undefined);
    setConfirming(undefined);
    try {
      const revoked = await client.delete<RevokedToken>(`v1/admin/tokens/${encodeURIComponent(jti)}`);
      setOutcome(`Token ${jti} of ${revoked.token.subject} ${revoked.outcome === "revoked" ? "revoked" : "was already revoked"}.`);
      tokens.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section
      title="Tokens"
      actions={
        <button type="button" onClick={tokens.reload}>
          Refresh
        </button>
      }
    >
      <ErrorBox error={tokens.error ?? error} />
      {outcome && (
        <p class="note" id="revoke-outcome">
          {outcome}
        </p>
      )}
      {tokens.data && (
        <table id="tokens">
          <thead>
            <tr>
              <th>subject</th>
              <th>roles</th>
              <th>jti</th>
              <th>issued</th>
              <th>expires</th>
              <th>status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data.tokens.map((token) => (
              <tr key={token.jti} data-jti={token.jti} data-subject={token.subject}>
                <td class="subject">
                  {token.subject}
                  {token.description && <div class="muted">{token.description}</div>}
                </td>
                <td>{token.roles.join(", ") || "—"}</td>
                <td>
                  <code title={token.jti}>{token.jti.slice(0, 13)}…</code>
                </td>
                <td>{when(token.issuedAt)}</td>
                <td>{when(token.expiresAt)}</td>
                <td>
                  <Status value={token.status} />
                </td>
                <td>
                  {token.status === "active" &&
                    (confirming === token.jti ? (
                      <span class="confirm">
                        <button type="button" class="danger confirm-revoke" onClick={() => void revoke(token.jti)}>
                          Revoke now
                        </button>
                        <button type="button" onClick={() => setConfirming(undefined)}>
                          Keep
                        </button>
                      </span>
                    ) : (
                      <button type="button" class="revoke" onClick={() => setConfirming(token.jti)}>
                        Revoke
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function PolicyChecker() {
  const client = useClient();
  const [form, setForm] = useState({ subject: "", roles: "", target: "", arguments: "" });
  const [result, setResult] = useState<PolicyCheck | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const check = async () => {
    setError(undefined);
    setResult(undefined);
    let args: Record<string, unknown> | undefined;
    if (form.arguments.trim()) {
      try {
        args = JSON.parse(form.arguments) as Record<string, unknown>;
      } catch (err) {
        setError(new Error(`the arguments are not JSON: ${(err as Error).message}`));
        return;
      }
    }
    const roles = form.roles
      .split(",")
      .map((role) => role.trim())
      .filter(Boolean);
    const body: PolicyCheckBody = { subject: form.subject, target: form.target, ...(roles.length > 0 && { roles }), ...(args && { arguments: args }) };
    try {
      setResult(await client.post<PolicyCheck>("v1/admin/policy/check", body));
    } catch (err) {
      setError(err);
    }
  };
  const input = (name: keyof typeof form, label: string, placeholder: string) => (
    <label>
      {label}
      <input name={name} value={form[name]} placeholder={placeholder} onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })} />
    </label>
  );
  return (
    <Section title="Policy checker">
      <p class="muted">Can SUBJECT call BACKEND/TOOL with these arguments, and which rule decides? The gateway's own policy answers.</p>
      <form
        class="filters"
        id="policy-form"
        onSubmit={(e) => {
          e.preventDefault();
          void check();
        }}
      >
        {input("subject", "subject", "alice")}
        {input("roles", "token roles (optional)", "besides its grants")}
        {input("target", "target", "github/search_issues, resource:docs/file:///x, prompt:b/name")}
        <label class="wide">
          arguments (JSON, optional)
          <textarea
            name="arguments"
            rows={2}
            value={form.arguments}
            placeholder='{"query": "is:open"}'
            onInput={(e) => setForm({ ...form, arguments: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Check</button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div class={`verdict ${result.allowed ? "good" : "bad"}`} id="policy-result">
          <strong>{result.allowed ? "Allowed" : "Denied"}</strong>
          <span>
            {" "}
            {result.target.kind} {result.target.backend}/{result.target.name}
          </span>
          <div>
            rule: <code class="rule">{result.rule}</code>
          </div>
          <div class="muted">roles considered: {result.roles.join(", ") || "none"}</div>
        </div>
      )}
    </Section>
  );
}
