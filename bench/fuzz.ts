/**
 * The front's fuzz run at scale (issue 15, acceptance 2): the seeded cases of the fuzz test in
 * `npm test` (test/helpers/fuzz-cases.ts), 100,000 by default, against a gateway started in this
 * process with a lab backend and authentication on. Prints the seed, the answers by status, and
 * the event loop's worst stall (CPU run without a break, and timer lag); exits 1 on any 5xx, hang or
 * stall over 100 ms of CPU (test/helpers/event-loop-watch.ts says why CPU rather than lag).
 *
 *   bun bench/fuzz.ts [--cases N] [--seed S] [--concurrency C]
 */
import { runFuzz } from "../test/helpers/fuzz-cases.ts";
import { startLabGateway } from "../test/helpers/gateway.ts";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number, got "${process.argv[at + 1]}"`);
    process.exit(2);
  }
  return value;
}

const cases = option("cases", 100_000);
const seed = option("seed", Math.floor(Math.random() * 2 ** 31));
const concurrency = option("concurrency", 16);
const { gw, token } = await startLabGateway({ subject: "fuzzer", ttlMs: 86_400_000 });
console.log(`fuzz: ${cases} cases, seed ${seed}, ${concurrency} at a time`);
const started = performance.now();
const run = await runFuzz({
  base: gw.base,
  token,
  cases,
  seed,
  concurrency,
  onProgress: (done, r) => console.log(`  ${done} cases, worst stall so far ${r.stall.maxBusyMs.toFixed(1)} ms busy, lag ${r.stall.maxLagMs.toFixed(1)} ms`),
});
await gw.stop();
console.log(
  `fuzz: ${cases} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(run.statuses))}; event loop at worst ${run.stall.maxBusyMs.toFixed(1)} ms busy without a break (timer lag ${run.stall.maxLagMs.toFixed(1)} ms); ${run.bad.length} bad`,
);
for (const line of run.bad.slice(0, 20)) console.log(`  ${line}`);
process.exit(run.bad.length > 0 || run.stall.maxBusyMs >= 100 ? 1 : 0);
