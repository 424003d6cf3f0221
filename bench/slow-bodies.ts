/**
 * Slow clients against normal calls (issue 15, acceptance 3): the p99 of 200 echo calls through a gateway started in
 * this process, alone, then beside 200 connections dripping a body one byte every 100 ms (from a process of their
 * own, test/fixtures/drip-clients.ts) until the read timeout (1 s here) answers them 408. Rounds alternate the two;
 * the target is the median of the crowded rounds under 2× the median of the rounds alone. Exits 1 when it is not met.
 *
 *   bun bench/slow-bodies.ts [--rounds N]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../test/helpers/cli.ts";
import { BUN, connectClient, startTestGateway } from "../test/helpers/gateway.ts";
import { startSlowClients } from "../test/helpers/slow-clients.ts";
import { median } from "./report.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);
if (!Number.isSafeInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number of at least 1, got "${values.rounds}"`);
  process.exit(2);
}

const gw = await startTestGateway([{ name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } }], {
  bodyTimeout: "1s",
});
const client = await connectClient(gw.mcpUrl("lab"));
const p99 = async (): Promise<number> => {
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await client.callTool({ name: "echo", arguments: { text: "x" } });
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[197]!;
};

await p99(); // warm-up
const alone: number[] = [];
const crowded: number[] = [];
let all408 = true;
for (let round = 0; round < rounds; round++) {
  alone.push(await p99());
  const drips = await startSlowClients(gw.mcpUrl("lab"), 200);
  crowded.push(await p99());
  all408 &&= (await drips.ended()).all408;
}
await client.close();
await gw.stop();

const [a, c] = [median(alone), median(crowded)];
const met = c < 2 * a && all408;
console.log(
  `p99 of 200 calls, ms, per round: alone ${alone.map((v) => v.toFixed(2)).join(", ")}; beside 200 slow bodies ${crowded.map((v) => v.toFixed(2)).join(", ")}`,
);
console.log(`median p99: ${a.toFixed(2)} ms alone, ${c.toFixed(2)} ms beside them (${(c / a).toFixed(2)}×); every slow body answered 408: ${all408}`);
console.log(`${met ? "PASS" : "FAIL"}  200 slow connections leave normal calls' p99 under 2× its value without them`);
process.exit(met ? 0 : 1);
