import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Headless Chromium (Debian's `chromium` package) driven from its command line: --dump-dom for
 * the DOM after the page's scripts ran, --screenshot for a PNG. No browser library needed.
 */

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome"];
const RUN_TIMEOUT_MS = 60_000;

/** The browser's path; undefined when none is installed. */
export function findChromium(): string | undefined {
  for (const name of CANDIDATES) {
    const path = Bun.which(name);
    if (path) return path;
  }
  return undefined;
}

/**
 * The browser, or: under CI (CI=true), a failure — a browser test must not pass by being skipped
 * there; elsewhere a loud warning and the test skipped.
 */
export function requireChromium(context: { skip(note?: string): never }, suite: string): string {
  const path = findChromium();
  if (path) return path;
  const message = `${suite}: Chromium is not installed (apt-get install -y chromium; .ci/run installs it)`;
  if (process.env.CI === "true") throw new Error(`${message}, and CI requires it`);
  console.warn(`\n*** SKIPPED ${message} ***\n`);
  return context.skip(message);
}

export interface PageLoad {
  /** The serialized DOM once the page settled. */
  dom: string;
  /** The browser's stderr at --v=0: console messages, Content-Security-Policy violations, load errors. */
  log: string;
}

export interface PageOptions {
  /** Time the page gets for its scripts and fetches (virtual time, so usually far less real time). */
  budgetMs?: number;
  width?: number;
  height?: number;
}

function flags(profile: string, options: PageOptions): string[] {
  return [
    "--headless",
    // Tests run as root in containers, where Chromium's sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    // A profile per run, so concurrent test files never share (and lock) one.
    `--user-data-dir=${profile}`,
    `--window-size=${options.width ?? 1280},${options.height ?? 1600}`,
    `--virtual-time-budget=${options.budgetMs ?? 15_000}`,
    "--enable-logging=stderr",
    "--v=0",
  ];
}

async function run(browser: string, args: string[], options: PageOptions): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), "mcpgw-chromium-"));
  try {
    const child = Bun.spawn([browser, ...flags(profile, options), ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: RUN_TIMEOUT_MS });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) throw new Error(`chromium exited with ${code}${child.signalCode ? ` (${child.signalCode})` : ""}:\n${stderr.slice(-4000)}`);
    return { stdout, stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Loads the page, lets its scripts run, returns the resulting DOM and the browser's log. */
export async function loadPage(browser: string, url: string, options: PageOptions = {}): Promise<PageLoad> {
  const { stdout, stderr } = await run(browser, ["--dump-dom", url], options);
  return { dom: stdout, log: stderr };
}

/** Writes a PNG of the page as rendered to `file`. */
export async function screenshot(browser: string, url: string, file: string, options: PageOptions = {}): Promise<void> {
  await run(browser, [`--screenshot=${file}`, url], options);
}

/** Console lines reporting a Content-Security-Policy violation (Chromium logs them as CONSOLE messages). */
export function cspViolations(log: string): string[] {
  return log.split("\n").filter((line) => /Content Security Policy/i.test(line));
}

/** Width and height from a PNG's IHDR chunk; throws if the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || signature.some((byte, i) => bytes[i] !== byte)) throw new Error("not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(12, 16)) !== "IHDR") throw new Error("PNG without IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
