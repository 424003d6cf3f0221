/**
 * Soak: does the compiled gateway's memory stay flat under steady use? Starts `dist/mcpgw serve`
 * as shipped (authentication and audit on, SQLite, the stdio echo backend), drives steady calls
 * against it for `--minutes`, prints its RSS every 30 s, and at the end the slope of RSS over
 * time (bytes per minute, least squares over the samples after the first minute, when the heap
 * and JIT have settled).
 *
 *   bun bench/soak.ts [--minutes 10] [--rate 100] [--sessions 4] [--binary PATH]
 *
 * Load: `--sessions` 2025-era sessions on /mcp calling echo, `--rate` calls per second in all,
 * paced; and once a second, one more session opened, called once and ended (DELETE), so that
 * sessions come and go as clients do. Errors are counted and printed; any makes the exit code 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopAllProcesses, stopProcess } from "./child-processes.ts";
import { memoryOf, setUp, startTimed } from "./footprint.ts";
import { McpHttpSession } from "./mcp-http-client.ts";
import { BINARY, ensureMcpgwBuilt } from "./mcpgw-target.ts";

const SAMPLE_EVERY_MS = 30_000;
/** Samples before this are left out of the slope: the heap and the JIT are still growing into their work. */
const SETTLE_MS = 60_000;
const TOOL = "stdio-echo__echo";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "100" },
    sessions: { type: "string", default: "4" },
    binary: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("bun bench/soak.ts [--minutes 10] [--rate 100] [--sessions 4] [--binary PATH]   (see the comment at the top of bench/soak.ts)");
  process.exit(0);
}
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const sessionCount = Number(values.sessions);
if (!(minutes > 0) || !(rate > 0) || !Number.isInteger(sessionCount) || sessionCount < 1) {
  console.error("--minutes and --rate must be positive numbers, --sessions a whole number of at least 1");
  process.exit(2);
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - meanX) * (p.y - meanY);
    den += (p.x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const folder = mkdtempSync(join(tmpdir(), "mcpgw-soak-"));
let failed = false;
try {
  const binary = values.binary ?? BINARY;
  if (values.binary === undefined) {
    const built = await ensureMcpgwBuilt();
    if (built !== undefined) throw new Error(built);
  }
  const db = `sqlite:${join(folder, "soak.db")}`;
  const token = await setUp(binary, db);
  const { serve, port } = await startTimed(binary, db, process.env);
  const url = `http://127.0.0.1:${port}/mcp`;
  const stop = new AbortController();
  const counts = { calls: 0, errors: 0, churned: 0 };
  let lastError = "";
  const fail = (err: unknown) => {
    counts.errors++;
    lastError = err instanceof Error ? err.message : String(err);
  };
  const started = performance.now();
  const endAt = started + minutes * 60_000;
  console.log(
    `soak: ${binary}, ${minutes} min, ${rate} calls/s over ${sessionCount} sessions + 1 session opened and ended per second; load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );

  // Each loop paces itself to rate / sessions calls per second.
  const interval = (1000 * sessionCount) / rate;
  const loops = Array.from({ length: sessionCount }, async () => {
    const session = new McpHttpSession({ url, signal: stop.signal, bearerToken: token });
    await session.open();
    let next = performance.now();
    while (performance.now() < endAt) {
      try {
        const answer = await session.callTool(TOOL, { text: "soak" });
        if (answer.error !== undefined) throw new Error(answer.error.message);
        counts.calls++;
      } catch (err) {
        fail(err);
      }
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      else next = performance.now();
    }
    await session.close();
  });
  const churn = (async () => {
    while (performance.now() < endAt) {
      const session = new McpHttpSession({ url, signal: stop.signal, bearerToken: token });
      try {
        await session.open();
        const answer = await session.callTool(TOOL, { text: "churn" });
        if (answer.error !== undefined) throw new Error(answer.error.message);
        counts.churned++;
      } catch (err) {
        fail(err);
      }
      await session.close();
      await Bun.sleep(1000);
    }
  })();

  const samples: { x: number; y: number }[] = [];
  const sample = () => {
    const elapsedMin = (performance.now() - started) / 60_000;
    const { rssKb } = memoryOf(serve);
    samples.push({ x: elapsedMin, y: rssKb * 1024 });
    console.log(
      `${elapsedMin.toFixed(1).padStart(5)} min  RSS ${(rssKb / 1024).toFixed(1)} MB  calls ${counts.calls}  sessions opened and ended ${counts.churned}  errors ${counts.errors}`,
    );
  };
  sample();
  while (performance.now() < endAt) {
    await Bun.sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, endAt - performance.now())));
    sample();
  }
  await Promise.all([...loops, churn]);
  await stopProcess(serve);

  const settled = samples.filter((s) => s.x * 60_000 >= SETTLE_MS);
  const used = settled.length >= 2 ? settled : samples;
  const perMinute = slope(used);
  const first = samples[0]!.y;
  const last = samples[samples.length - 1]!.y;
  console.log(
    `RSS ${(first / 1048576).toFixed(1)} → ${(last / 1048576).toFixed(1)} MB; slope ${Math.round(perMinute).toLocaleString("en")} bytes/minute (${(perMinute / 1024).toFixed(1)} KB/min, least squares over ${used.length} samples${used === settled ? " after the first minute" : ""}); ${counts.calls} calls, ${counts.churned} sessions opened and ended, ${counts.errors} errors${counts.errors > 0 ? ` (last: ${lastError})` : ""}; load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );
  failed = counts.errors > 0;
} catch (err) {
  console.error(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  failed = true;
} finally {
  await stopAllProcesses();
  rmSync(folder, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
