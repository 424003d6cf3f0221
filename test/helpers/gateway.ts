import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type ClientCapabilities, McpError } from "@modelcontextprotocol/sdk/types.js";
import { type BackendSpec, DEFAULT_BACKEND_TIMEOUT_MS } from "../../src/backends/backend-spec.ts";
import { issueToken } from "../../src/auth/token-issuer.ts";
import { parsePermission } from "../../src/policy/permission.ts";
import { resolveSettings } from "../../src/config/settings.ts";
import type { BackendAuth } from "../../src/credentials/backend-auth.ts";
import { type GatewayOverrides, type RunningGateway, startGateway } from "../../src/gateway.ts";
import { type Logger, createLogger } from "../../src/log/logger.ts";
import { REPO_ROOT } from "./cli.ts";
import type { Store } from "../../src/store/store.ts";
import { type StartedProcess, freePort, startProcess } from "./process.ts";
import { tempDir } from "./temp-dir.ts";

export const BUN = process.execPath;
export const NODE_MODULES = join(REPO_ROOT, "node_modules");

/** A backend definition for tests: name plus either a stdio command or a URL. */
export type TestBackend = { name: string; timeoutMs?: number; env?: Record<string, string>; headers?: Record<string, string>; auth?: BackendAuth } & (
  | { command: string[] }
  | { url: string; transport?: "streamable-http" | "sse" }
);

export function backendSpec(backend: TestBackend): BackendSpec {
  const now = Date.now();
  return {
    name: backend.name,
    ...("command" in backend
      ? { transport: "stdio" as const, command: backend.command }
      : { transport: backend.transport ?? "streamable-http", url: backend.url }),
    env: backend.env ?? {},
    headers: backend.headers ?? {},
    timeoutMs: backend.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
    ...(backend.auth && { auth: backend.auth }),
    createdAt: now,
    updatedAt: now,
  };
}

export interface TestGateway {
  gateway: RunningGateway;
  /** http://127.0.0.1:PORT */
  base: string;
  /** The MCP endpoint URL: /mcp (aggregated) or /mcp/<backend>. */
  mcpUrl(backend?: string): URL;
  stop(): Promise<void>;
}

export interface TestGatewayOptions extends GatewayOverrides {
  /** Another database than a fresh temporary SQLite file (e.g. a Postgres schema two gateways share). */
  databaseUrl?: string;
  /** Another logger than stderr at TEST_LOG_LEVEL (e.g. one that captures lines for assertions). */
  logger?: Logger;
  /** Runs on the migrated database before the gateway starts (roles, tokens…), as the CLI would have. */
  prepare?: (store: Store) => Promise<void>;
}

/**
 * Starts a real gateway in-process (the same composition root as `mcpgw serve`) on a free
 * loopback port with a temporary SQLite database holding the given backends. `settings` are
 * MCPGW_* values by their EnvSettings key. Authentication is off unless `settings.auth` asks for
 * it, so relay suites need no tokens; the auth suites pass { auth: "required" }.
 */
export async function startTestGateway(backends: TestBackend[], settings: Record<string, string> = {}, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = tempDir("mcpgw-gw-");
  const resolved = resolveSettings(
    { db: options.databaseUrl ?? `sqlite:${join(dir.path, "gw.db")}`, port: "0" },
    { logLevel: process.env.TEST_LOG_LEVEL ?? "silent", auth: "off", ...settings },
  );
  // Backends are registered before start, as `mcpgw backend add` would have done.
  const { openStore } = await import("../../src/store/open-store.ts");
  const setup = openStore(resolved.databaseUrl);
  try {
    await setup.migrate();
    for (const backend of backends) {
      if (await setup.backends.get(backend.name)) continue;
      // Gateways started together on one database (a replica test) race to register the same backend: one wins.
      await setup.backends.add(backendSpec(backend)).catch(async (err) => {
        if (!(await setup.backends.get(backend.name))) throw err;
      });
    }
    await options.prepare?.(setup);
  } finally {
    await setup.close();
  }
  const logger = options.logger ?? createLogger({ level: resolved.logLevel, fd: 2 });
  const gateway = await startGateway(resolved, logger, "test", process.env, { ...(options.auditor && { auditor: options.auditor }) });
  const base = gateway.url.origin;
  return {
    gateway,
    base,
    mcpUrl: (backend) => new URL(backend ? `/mcp/${backend}` : "/mcp", base),
    async stop() {
      await gateway.shutdown();
      dir.remove();
    },
  };
}

/**
 * A gateway with authentication required, the lab server as its one stdio backend ("lab"), a role
 * "all" that allows "*", and a token of that role for `subject`: the set-up of the suites that
 * send hostile or unauthenticated traffic beside one authorised caller.
 */
export async function startLabGateway(options: { subject: string; ttlMs?: number; databaseUrl?: string }): Promise<{ gw: TestGateway; token: string }> {
  let token = "";
  const gw = await startTestGateway(
    [{ name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } }],
    { auth: "required" },
    {
      ...(options.databaseUrl !== undefined && { databaseUrl: options.databaseUrl }),
      prepare: async (store) => {
        await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
        const issuer = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" } as const;
        token = (await issueToken(store, issuer, { subject: options.subject, roles: ["all"], ttlMs: options.ttlMs ?? 600_000 })).token;
      },
    },
  );
  return { gw, token };
}

/** An SDK Client connected to a URL (the real client, as agents use it), with a bearer token when given. */
export async function connectClient(url: URL, capabilities: ClientCapabilities = {}, name = "test-client", options: { token?: string } = {}): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" }, { capabilities });
  const requestInit = options.token === undefined ? undefined : { headers: { Authorization: `Bearer ${options.token}` } };
  await client.connect(new StreamableHTTPClientTransport(url, requestInit && { requestInit }));
  return client;
}

/** server-everything's stdio command. */
export function everythingStdio(): string[] {
  return ["node", join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js"), "stdio"];
}

/** server-everything serving Streamable HTTP (at /mcp) or legacy HTTP+SSE (at /sse) on a free loopback port of its own. */
export async function startEverythingHttp(mode: "streamableHttp" | "sse"): Promise<{ server: StartedProcess; port: number }> {
  const port = await freePort();
  const command = ["node", join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js"), mode];
  const server = await startProcess(command, mode === "sse" ? /running on port/ : /listening on port/, { PORT: String(port) });
  return { server, port };
}

/** The conformance fixture's stdio command. */
export function conformanceFixtureStdio(): string[] {
  return [BUN, join(REPO_ROOT, "test/fixtures/conformance-server.ts"), "--stdio"];
}

/** Every tool a client may see, following nextCursor (filtering by policy keeps the backend's pages). */
export async function listAllTools(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  // Bounded, so a backend that hands out cursors forever fails the test instead of hanging it.
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    names.push(...page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined && names.length < 10_000);
  return names;
}

/**
 * Clients a suite opens and ends after each test: `open` connects a real SDK client (with
 * `setup` registering handlers before initialize), `endAll` ends each session (DELETE, which
 * releases its backend connection) so no test inherits another's state.
 */
export function sessionTracker(name: string) {
  const clients: Client[] = [];
  return {
    async open(url: URL, capabilities: ClientCapabilities = {}, setup?: (client: Client) => void): Promise<Client> {
      const client = new Client({ name, version: "1.0.0" }, { capabilities });
      setup?.(client);
      await client.connect(new StreamableHTTPClientTransport(url));
      clients.push(client);
      return client;
    },
    async endAll(): Promise<void> {
      for (const client of clients.splice(0)) {
        await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession().catch(() => undefined);
        await client.close();
      }
    },
  };
}

/** The JSON-RPC error a call is refused with; fails the test if the call succeeds or fails otherwise. */
export async function refusalOf(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error("expected the call to be refused");
}
