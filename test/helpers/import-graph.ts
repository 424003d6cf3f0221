import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** Module → the modules it imports, as paths relative to the repository root (`src/front/front-session.ts`). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The import graph of the non-test TypeScript files under `folders` (relative to `root`). Every form counts:
 * `import`, `import type`, `export … from` and dynamic `import()`; TypeScript's own pre-processor finds them,
 * so an import named in a comment or a string is not one. Only relative specifiers are kept (packages are not
 * part of the layering); each is resolved to the file it names, with or without its `.ts`.
 */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    for (const file of typeScriptFiles(join(root, folder))) {
      const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      const targets = info.importedFiles
        .map((imported) => imported.fileName)
        .filter((specifier) => specifier.startsWith("."))
        .map((specifier) => relative(root, resolveSpecifier(dirname(file), specifier)));
      graph.set(relative(root, file), [...new Set(targets)]);
    }
  }
  return graph;
}

function typeScriptFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...typeScriptFiles(path));
    // Tests beside a module may reach into any layer to set up a case; the layering is about the product.
    else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

function resolveSpecifier(fromDir: string, specifier: string): string {
  const path = resolve(fromDir, specifier);
  if (/\.[cm]?[jt]sx?$/.test(path)) return path.replace(/\.[cm]?js$/, ".ts");
  return `${path}.ts`;
}

/**
 * The unit of layering a module belongs to: its folder under `src/` (`src/front/x.ts` → `front`), or, for a
 * file directly in `src/`, the file itself (`src/gateway.ts` → `gateway.ts`); `cli/…` is all `cli`.
 */
export function layerOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "src") return parts[0] ?? path;
  return parts[1] ?? path;
}

/** The graph between layers: an edge for every import that crosses from one layer into another. */
export function layerGraph(graph: ImportGraph): Map<string, Set<string>> {
  const layers = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const edges = layers.get(layerOf(from)) ?? new Set<string>();
    layers.set(layerOf(from), edges);
    for (const target of targets) if (layerOf(target) !== layerOf(from)) edges.add(layerOf(target));
  }
  return layers;
}

/** The imports of `graph` whose both ends satisfy `keep`: a sub-graph, e.g. the files of one folder. */
export function subGraph(graph: ImportGraph, keep: (path: string) => boolean): Map<string, string[]> {
  const sub = new Map<string, string[]>();
  for (const [from, targets] of graph) if (keep(from)) sub.set(from, targets.filter(keep));
  return sub;
}

/**
 * The import circles of a graph: its strongly connected components of more than one node, plus any node that
 * imports itself (Tarjan's algorithm). Each circle is listed as one path that goes round it, start = end, so a
 * failure message shows which imports to cut.
 */
export function findCircles(graph: ReadonlyMap<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const edgesOf = (node: string): string[] => [...(graph.get(node) ?? [])];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edgesOf(node)) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || edgesOf(node).includes(node)) components.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components.map((component) => pathRound(graph, component));
}

/** One walk that starts and ends at the component's first node, found breadth-first inside the component. */
function pathRound(graph: ReadonlyMap<string, Iterable<string>>, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const chain: string[] = [];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) chain.unshift(at);
        return [start, ...chain, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...component, component[0]!];
}
