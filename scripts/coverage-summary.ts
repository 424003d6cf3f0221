/**
 * Reads istanbul's json-summary (coverage/coverage-summary.json, written by `npm run coverage`) and totals
 * it per folder: src/audit, src/front, …, cli/commands. Run directly, it prints that table:
 *   bun scripts/coverage-summary.ts [--summary FILE]
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

// From import.meta.url, not import.meta.dir: vitest (which imports this in test/) does not set the latter.
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SUMMARY_FILE = join(PROJECT_ROOT, "coverage", "coverage-summary.json");
/** The folder whose line coverage the threshold holds (the gateway's code; cli/ runs mostly in child processes). */
export const CHECKED_FOLDER = "src";

export interface Counts {
  total: number;
  covered: number;
}

/** What istanbul counts for one file (its json-summary also has pct and skipped, recomputed here from the sums). */
export interface FileCounts {
  lines: Counts;
  statements: Counts;
  functions: Counts;
  branches: Counts;
}

export interface FolderTotals extends FileCounts {
  folder: string;
  files: number;
}

const METRICS = ["lines", "statements", "functions", "branches"] as const;

/** An error a person fixes by doing what the message says; the scripts print it and exit 1. */
export class CoverageInputError extends Error {}

/**
 * The summary's files keyed by their path relative to the project, with forward slashes.
 * istanbul writes absolute paths plus a "total" entry, which is dropped: totals are summed per folder here.
 */
export function readCoverageSummary(file = SUMMARY_FILE, root = PROJECT_ROOT): Map<string, FileCounts> {
  if (!existsSync(file)) {
    throw new CoverageInputError(`no coverage summary at ${file}: run \`npm run coverage\` first (it writes coverage/coverage-summary.json)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CoverageInputError(`${file} is not JSON (${(error as Error).message}): run \`npm run coverage\` again to rewrite it`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CoverageInputError(`${file} is not an istanbul json-summary (expected an object of files): run \`npm run coverage\` again`);
  }
  const files = new Map<string, FileCounts>();
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "total") continue;
    files.set(projectPath(key, root), fileCounts(key, value, file));
  }
  return files;
}

function projectPath(key: string, root: string): string {
  const path = isAbsolute(key) ? relative(root, key) : key;
  return path.split(sep).join("/");
}

function fileCounts(key: string, value: unknown, file: string): FileCounts {
  const counts = {} as FileCounts;
  for (const metric of METRICS) {
    const entry = (value as Record<string, unknown> | null)?.[metric] as Partial<Counts> | undefined;
    if (typeof entry?.total !== "number" || typeof entry.covered !== "number") {
      throw new CoverageInputError(`${file}: "${key}" has no ${metric}.total/${metric}.covered numbers: run \`npm run coverage\` again`);
    }
    counts[metric] = { total: entry.total, covered: entry.covered };
  }
  return counts;
}

/** "src/audit/auditor.ts" → "src/audit"; a file directly in a top folder ("src/gateway.ts") → "src/*.ts". */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts.length <= 1) return "*.ts";
  if (parts.length === 2) return `${parts[0]}/*.ts`;
  return `${parts[0]}/${parts[1]}`;
}

/** Sums of the given files under one label. */
export function sumFiles(folder: string, files: Iterable<FileCounts>): FolderTotals {
  const totals: FolderTotals = { folder, files: 0, ...zeroCounts() };
  for (const counts of files) {
    totals.files += 1;
    for (const metric of METRICS) {
      totals[metric].total += counts[metric].total;
      totals[metric].covered += counts[metric].covered;
    }
  }
  return totals;
}

function zeroCounts(): FileCounts {
  return {
    lines: { total: 0, covered: 0 },
    statements: { total: 0, covered: 0 },
    functions: { total: 0, covered: 0 },
    branches: { total: 0, covered: 0 },
  };
}

/** One row per folder (see folderOf), sorted by name. */
export function totalsByFolder(files: Map<string, FileCounts>): FolderTotals[] {
  const groups = new Map<string, FileCounts[]>();
  for (const [path, counts] of files) {
    const folder = folderOf(path);
    groups.set(folder, [...(groups.get(folder) ?? []), counts]);
  }
  return [...groups].map(([folder, counts]) => sumFiles(folder, counts)).sort((a, b) => a.folder.localeCompare(b.folder));
}

/** The sums of every file under a top folder ("src"). */
export function totalsUnder(files: Map<string, FileCounts>, topFolder: string): FolderTotals {
  const under = [...files].filter(([path]) => path.startsWith(`${topFolder}/`)).map(([, counts]) => counts);
  return sumFiles(`${topFolder}/ total`, under);
}

/** Covered share in percent; nothing to cover counts as 100, as istanbul does. */
export function percent(counts: Counts): number {
  return counts.total === 0 ? 100 : (counts.covered / counts.total) * 100;
}

/** The table `npm run coverage` prints: lines (covered/total and %), functions % and branches % per folder. */
export function formatFolderTable(files: Map<string, FileCounts>): string {
  const rows = [...totalsByFolder(files), totalsUnder(files, CHECKED_FOLDER), sumFiles("all", files.values())];
  const header = ["folder", "files", "lines", "lines %", "functions %", "branches %"];
  const cells = rows.map((row) => [
    row.folder,
    String(row.files),
    `${row.lines.covered}/${row.lines.total}`,
    percent(row.lines).toFixed(1),
    percent(row.functions).toFixed(1),
    percent(row.branches).toFixed(1),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  const line = (cell: string[]) => cell.map((text, column) => (column === 0 ? text.padEnd(widths[column]!) : text.padStart(widths[column]!))).join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  const body = cells.map(line);
  // The two total rows sit under a rule so they are not read as folders.
  return [line(header), rule, ...body.slice(0, -2), rule, ...body.slice(-2)].join("\n");
}

/** `--summary FILE` from the arguments, or the default file. */
export function summaryFileArgument(args: string[]): string {
  const at = args.indexOf("--summary");
  if (at === -1) return SUMMARY_FILE;
  const file = args[at + 1];
  if (!file) throw new CoverageInputError("--summary needs a file: --summary coverage/coverage-summary.json");
  return file;
}

if (import.meta.main) {
  try {
    console.log(formatFolderTable(readCoverageSummary(summaryFileArgument(process.argv.slice(2)))));
  } catch (error) {
    if (!(error instanceof CoverageInputError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
