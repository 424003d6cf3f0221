import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { type AdminClient, ApiError } from "./api-client.ts";

/** What every page shares: the API client (holding the token), and small display helpers. */

export const ClientContext = createContext<AdminClient | null>(null);

export function useClient(): AdminClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("no admin client: the pages render only after a token was given");
  return client;
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** GETs a path of the admin API when the page shows it (and when the path changes); reload() fetches again. */
export function useApi<T>(path: string | undefined, refreshMs?: number): Loaded<T> {
  const client = useClient();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: path !== undefined,
  });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    if (path === undefined) return;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    client.get<T>(path, abort.signal).then(
      (data) => setState({ data, error: undefined, loading: false }),
      (error) => {
        if (!abort.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [client, path, round]);
  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, reload]);
  return { ...state, reload };
}

/** The permission a 403 names ("admin:read"), from the API's message. */
function neededPermission(error: ApiError): string {
  return /admin:(?:read|write|\*)/.exec(`${error.message} ${error.hint ?? ""}`)?.[0] ?? "the admin permission";
}

/** An error as a person needs it: a 403 says which permission the token's roles lack and how to grant it (the API's hint). */
export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  if (error instanceof ApiError && error.status === 403) {
    const permission = neededPermission(error);
    return (
      <div class="error forbidden" role="alert">
        <strong>
          This token's roles do not grant {permission} (mcpgw role create … --allow '{permission}').
        </strong>
        <p>{error.message}</p>
        {error.hint && <p class="hint">{error.hint}</p>}
      </div>
    );
  }
  if (error instanceof ApiError) {
    return (
      <div class="error" role="alert">
        <strong>{error.message}</strong>
        {error.field && <p>field: {error.field}</p>}
        {error.hint && <p class="hint">{error.hint}</p>}
      </div>
    );
  }
  return (
    <div class="error" role="alert">
      <strong>{error instanceof Error ? error.message : String(error)}</strong>
    </div>
  );
}

export function Section({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section>
      <header class="section-head">
        <h2>{title}</h2>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** 2026-12-05T21:04:05.123Z → 21:04:05 (local time), with the date when it is not today. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = date.toLocaleTimeString([], { hour12: false });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

/** A value of the API as text ("—" for none): some audit fields are typed unknown | null by their schema. */
export function text(value: unknown): string {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

export function ms(value: unknown): string {
  if (typeof value !== "number") return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function seconds(value: number): string {
  if (value < 60) return `${Math.round(value)} s`;
  if (value < 3600) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

/** A status as a coloured label: ok and allowed green, refusals and errors red, the rest neutral. */
export function Status({ value }: { value: string }) {
  const tone = /^(ok|allowed|up|active|completed|pinned)$/.test(value)
    ? "good"
    : /^(denied|error|failed|revoked|down|refused|rate_limited|invalid|unauthenticated|timeout|cancelled|expired|stale|changed)/.test(value)
      ? "bad"
      : "neutral";
  return <span class={`status ${tone}`}>{value}</span>;
}
