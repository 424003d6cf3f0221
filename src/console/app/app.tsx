import { useEffect, useMemo, useState } from "preact/hooks";
import { AdminClient, type ApiError } from "./api-client.ts";
import { AccessPage } from "./pages/access.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { BackendsPage } from "./pages/backends.tsx";
import { JobsPage, LimitsPage } from "./pages/limits-jobs.tsx";
import { LivePage } from "./pages/live.tsx";
import { ClientContext } from "./shared.tsx";

/**
 * The console's shell: the token prompt, the navigation (hash routes, #/live…), and the page. The
 * admin token is kept in sessionStorage: this tab only, gone when it closes, never a cookie.
 */

const TOKEN_KEY = "mcpgw.console.token";

const PAGES = {
  live: { title: "Live calls", render: () => <LivePage /> },
  audit: { title: "Audit", render: () => <AuditPage /> },
  access: { title: "Access", render: () => <AccessPage /> },
  backends: { title: "Backends", render: () => <BackendsPage /> },
  limits: { title: "Limits", render: () => <LimitsPage /> },
  jobs: { title: "Jobs", render: () => <JobsPage /> },
} as const;
type PageName = keyof typeof PAGES;

function pageOf(hash: string): PageName {
  const name = hash.replace(/^#\/?/, "");
  return name in PAGES ? (name as PageName) : "live";
}

function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the token lives in memory only
  }
}

function storeToken(token: string | undefined): void {
  try {
    if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: nothing to keep or forget
  }
}

export function App() {
  const [token, setToken] = useState<string | undefined>(storedToken);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<PageName>(() => pageOf(location.hash));

  useEffect(() => {
    const follow = () => setPage(pageOf(location.hash));
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);

  const forget = (message?: string) => {
    storeToken(undefined);
    setToken(undefined);
    setNotice(message);
  };
  const client = useMemo(
    () => token && new AdminClient(token, (error: ApiError) => forget(`The token is not valid (expired or revoked?): ${error.message}`)),
    [token],
  );

  if (!client) {
    return (
      <TokenPrompt
        notice={notice}
        onToken={(value) => {
          storeToken(value);
          setNotice(undefined);
          setToken(value);
        }}
      />
    );
  }
  return (
    <ClientContext.Provider value={client}>
      <header class="top">
        <span class="brand">mcpgw</span>
        <nav>
          {(Object.keys(PAGES) as PageName[]).map((name) => (
            <a key={name} href={`#/${name}`} class={name === page ? "current" : ""} aria-current={name === page ? "page" : undefined}>
              {PAGES[name].title}
            </a>
          ))}
        </nav>
        <button type="button" id="forget-token" onClick={() => forget("The token was forgotten: this tab no longer holds it.")}>
          Forget token
        </button>
      </header>
      <main key={page}>{PAGES[page].render()}</main>
    </ClientContext.Provider>
  );
}

function TokenPrompt({ notice, onToken }: { notice: string | undefined; onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <main class="prompt">
      <h1>mcpgw console</h1>
      {notice && (
        <p class="error" role="alert" id="token-notice">
          {notice}
        </p>
      )}
      <form
        id="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          const token = value.trim().replace(/^Bearer\s+/i, "");
          if (token) onToken(token);
        }}
      >
        <label>
          Admin token
          <input type="password" name="token" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} placeholder="eyJ…" />
        </label>
        <button type="submit">Open the console</button>
      </form>
      <p class="muted">
        A token whose roles allow <code>admin:read</code> (and <code>admin:write</code> to revoke or cancel), e.g.{" "}
        <code>mcpgw token issue --sub alice --role operators</code>. It is kept for this tab only (sessionStorage), never in a cookie.
      </p>
    </main>
  );
}
