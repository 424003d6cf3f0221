import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findCircles, type ImportGraph, layerGraph, layerOf, readImportGraph, subGraph } from "./helpers/import-graph.ts";

/**
 * The layers of src/ and what each may import: the one place they are listed. A layer is a folder of
 * src/ (or a file directly in src/). Lower layers never import upper ones, so the table read as a graph
 * has no circle (checked below). A new import between layers goes here first; if it would close a
 * circle, the code is in the wrong layer: move the shared piece down, or give the lower layer an
 * interface that the upper one implements (as the pipeline's CallerSession and TaskRouting do).
 */
const ALLOWED: Record<string, readonly string[]> = {
  // Leaves: imported by all, importing nothing of the gateway's.
  "errors.ts": [],
  "assert-never.ts": [],
  json: [],
  http: [],
  tracing: [],
  changes: [],
  // Settings: the one reader of MCPGW_* variables, each domain's settings included.
  config: ["errors.ts", "json"],
  log: ["config"],
  protocol: ["config"],
  // Domains: each owns its records and the repository interface the store implements.
  sessions: ["errors.ts", "log"],
  audit: ["config", "errors.ts", "log", "protocol"],
  auth: ["changes", "config", "credentials", "errors.ts", "log", "protocol"],
  // How a backend is authenticated to and the caller a call runs for; the binder that applies it lives in backends/.
  credentials: ["audit", "changes", "config", "errors.ts", "protocol"],
  policy: ["assert-never.ts", "changes", "errors.ts", "log"],
  limits: ["assert-never.ts", "errors.ts", "policy"],
  // Tool-definition pins: the guard backends' connections consult, its records and reviews.
  pinning: ["audit", "errors.ts", "log", "protocol"],
  backends: ["assert-never.ts", "auth", "changes", "config", "credentials", "errors.ts", "http", "json", "log", "pinning", "protocol", "tracing"],
  declarative: ["assert-never.ts", "backends", "errors.ts", "limits", "pinning", "policy"],
  // The store implements the domains' repositories over SQLite and PostgreSQL.
  store: [
    "assert-never.ts",
    "audit",
    "auth",
    "backends",
    "changes",
    "config",
    "credentials",
    "declarative",
    "errors.ts",
    "jobs",
    "limits",
    "log",
    "pinning",
    "policy",
    "sessions",
  ],
  observability: ["audit", "backends", "log", "tracing"],
  // The admission path: route → authorize → limit → audit, over small interfaces its callers implement.
  pipeline: ["audit", "auth", "config", "credentials", "errors.ts", "limits", "log", "policy", "protocol"],
  // Jobs admit through the pipeline; MCP Tasks (tasks/) adapt them to the protocol, beside the front.
  jobs: ["audit", "auth", "backends", "config", "credentials", "errors.ts", "http", "json", "limits", "log", "pipeline", "policy", "protocol", "tracing"],
  tasks: ["jobs", "pipeline", "protocol"],
  front: [
    ...["audit", "auth", "backends", "credentials", "errors.ts", "http", "jobs", "json", "log"],
    ...["pipeline", "policy", "protocol", "sessions", "store", "tasks", "tracing"],
  ],
  // Services shared by the CLI and the server.
  "operator-calls": [
    "assert-never.ts",
    "audit",
    "auth",
    "backends",
    "config",
    "credentials",
    "errors.ts",
    "limits",
    "log",
    "pinning",
    "pipeline",
    "policy",
    "protocol",
    "store",
  ],
  // The admin API (/v1/admin): the operator services over HTTP, behind the admin permissions.
  // The live views read the call feed and its stats (observability/).
  admin: [
    "audit",
    "auth",
    "backends",
    "config",
    "errors.ts",
    "http",
    "jobs",
    "json",
    "log",
    "observability",
    "operator-calls",
    "pinning",
    "pipeline",
    "policy",
    "sessions",
    "store",
  ],
  setup: ["auth", "backends", "config", "errors.ts", "log", "policy", "store"],
  doctor: ["auth", "backends", "config", "credentials", "errors.ts", "log", "policy", "store"],
  // The web console's page and files (/admin); its app (console/app/, bundled for the browser) imports types of the admin API
  // and the audit log's list of outcomes (a constant, no code).
  console: ["admin", "audit", "http", "jobs"],
  server: ["admin", "audit", "auth", "console", "errors.ts", "front", "http", "jobs", "log", "observability", "store"],
  // The composition root of `serve`.
  "gateway.ts": [
    ...["admin", "audit", "auth", "backends", "config", "credentials", "front", "jobs", "limits", "log", "observability"],
    ...["pinning", "pipeline", "policy", "protocol", "server", "sessions", "store", "tracing"],
  ],
};

const root = join(import.meta.dirname, "..");
const graph = readImportGraph(root, ["src", "cli"]);
const source = subGraph(graph, (path) => path.startsWith("src/"));

/** Every import that crosses from one layer into another the table does not allow it to use, as "from → to". */
function disallowedImports(graph: ImportGraph, allowed: Record<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    for (const target of targets) {
      const [a, b] = [layerOf(from), layerOf(target)];
      if (a !== b && !allowed[a]?.includes(b)) found.push(`${from} → ${target} (${a} may not import ${b})`);
    }
  }
  return found;
}

function asGraph(edges: Record<string, readonly string[]>): Map<string, readonly string[]> {
  return new Map(Object.entries(edges));
}

describe("layering of src/", () => {
  test("the graph is read from the sources: every form of import is seen", () => {
    // A sanity check on the reader, so that the tests below cannot pass on an empty graph.
    expect(source.size).toBeGreaterThan(150);
    expect(source.get("src/server/docs-assets.ts")).toContain("src/server/embedded-docs-assets.ts"); // dynamic import()
    expect(source.get("src/pipeline/authenticate.ts")).toContain("src/auth/principal.ts"); // import type
    expect(source.get("src/store/store.ts")).toContain("src/changes/change-topics.ts"); // export … from
  });

  test("src/ never imports cli/", () => {
    const intoCli = [...source].flatMap(([from, targets]) => targets.filter((target) => target.startsWith("cli/")).map((target) => `${from} → ${target}`));
    expect(intoCli).toEqual([]);
  });

  test("every layer of src/ is in the table, and the table names only layers that exist", () => {
    const layers = new Set([...source.keys()].map(layerOf));
    expect([...layers].filter((layer) => !(layer in ALLOWED)).sort()).toEqual([]);
    const named = new Set([...Object.keys(ALLOWED), ...Object.values(ALLOWED).flat()]);
    expect([...named].filter((layer) => !layers.has(layer)).sort()).toEqual([]);
  });

  test("the table allows no circle between layers", () => {
    expect(findCircles(asGraph(ALLOWED))).toEqual([]);
  });

  test("each layer imports only the layers the table allows it", () => {
    expect(disallowedImports(source, ALLOWED)).toEqual([]);
  });

  test("the table lists no dependency that no import needs", () => {
    const used = layerGraph(source);
    const unused = Object.entries(ALLOWED).flatMap(([layer, allowed]) =>
      allowed.filter((target) => !used.get(layer)?.has(target)).map((target) => `${layer} → ${target}`),
    );
    expect(unused).toEqual([]);
  });

  test("no import circle between the folders of src/", () => {
    expect(findCircles(layerGraph(source))).toEqual([]);
  });

  test("no import circle between the files of src/store/", () => {
    expect(findCircles(subGraph(graph, (path) => path.startsWith("src/store/")))).toEqual([]);
  });
});

describe("the circle finder", () => {
  test("finds a circle between layers, and names it as a walk round it", () => {
    const circles = findCircles(asGraph({ front: ["pipeline"], pipeline: ["jobs", "audit"], jobs: ["front"], audit: [] }));
    expect(circles).toHaveLength(1);
    const walk = circles[0]!;
    expect(walk[0]).toBe(walk.at(-1));
    expect(new Set(walk)).toEqual(new Set(["front", "pipeline", "jobs"]));
  });

  test("finds a file that imports itself, and each of two separate circles", () => {
    expect(findCircles(asGraph({ a: ["a"] }))).toEqual([["a", "a"]]);
    expect(findCircles(asGraph({ a: ["b"], b: ["a"], c: ["d"], d: ["c"], e: ["a", "c"] }))).toHaveLength(2);
  });

  test("a graph without circles has none, however it is shaped", () => {
    expect(findCircles(asGraph({ a: ["b", "c"], b: ["c"], c: [], d: ["a", "c"] }))).toEqual([]);
  });

  test("a new import that closes a circle fails the layering: the table refuses it, and the folder graph shows the circle", () => {
    const routeImports = [...(source.get("src/pipeline/route.ts") ?? []), "src/front/front-session.ts"];
    const withBackEdge = new Map<string, readonly string[]>([...source, ["src/pipeline/route.ts", routeImports]]);
    expect(disallowedImports(withBackEdge, ALLOWED)).toEqual(["src/pipeline/route.ts → src/front/front-session.ts (pipeline may not import front)"]);
    expect(findCircles(layerGraph(withBackEdge)).flat()).toEqual(expect.arrayContaining(["front", "pipeline"]));
  });

  test("an allowed table with a circle in it is caught too", () => {
    expect(findCircles(asGraph({ ...ALLOWED, audit: [...ALLOWED.audit!, "store"] }))).not.toEqual([]);
  });
});
