import { join } from "node:path";
import { expect, test } from "vitest";
import { TOTAL_RECORDED } from "../src/audit/unauthenticated-flood.ts";
import { openStore } from "../src/store/open-store.ts";
import { INITIALIZE } from "./helpers/auth-tokens.ts";
import { connectClient, startLabGateway } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * A flood without any token (issue 15, item 3): 10,000 requests grow the audit log by a bounded
 * number of records — at most TOTAL_RECORDED one by one and one summary per minute — the source
 * is answered 429 past its limit, and an authenticated client's calls meanwhile succeed.
 */
test("10,000 unauthenticated requests add a bounded number of audit records; an authenticated client is unaffected", async () => {
  const dir = tempDir("mcpgw-flood-");
  const databaseUrl = `sqlite:${join(dir.path, "gw.db")}`;
  const { gw, token } = await startLabGateway({ subject: "alice", databaseUrl });
  try {
    const client = await connectClient(gw.mcpUrl("lab"), {}, "alice", { token });
    let running = true;
    let succeeded = 0;
    const calling = (async () => {
      while (running) {
        await client.callTool({ name: "echo", arguments: { text: "still served" } });
        succeeded += 1;
      }
    })();
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          fetch(gw.mcpUrl(), {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
            body: INITIALIZE,
          }),
        ),
      );
      for (const answer of answers) {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        await answer.body?.cancel();
      }
    }
    running = false;
    await calling;
    await client.close();
    expect([...statuses.keys()].sort()).toEqual([401, 429]);
    expect(succeeded).toBeGreaterThan(0);
    // Stopping writes the minute's summary; the database is then read as the CLI would.
    await gw.stop();
    const store = openStore(databaseUrl);
    const records = await store.audit.count({ status: "unauthenticated" });
    console.log(
      `10,000 unauthenticated requests: ${records} audit records; answers ${JSON.stringify(Object.fromEntries(statuses))}; ${succeeded} authenticated calls meanwhile`,
    );
    // One minute, or two when the flood straddles a minute's end.
    expect(records).toBeLessThanOrEqual(2 * (TOTAL_RECORDED + 1));
    const summaries = await store.audit.list({ filter: { status: "unauthenticated" }, limit: 10_000 });
    const summary = summaries.find((r) => r.method === "unauthenticated requests (summary)");
    expect(summary?.errorMessage).toMatch(/^\d+ more unauthenticated requests from 1 source in the minute from .* busiest: 127\.0\.0\.1 \(\d+\)$/);
    await store.close();
  } finally {
    await gw.stop().catch(() => undefined);
    dir.remove();
  }
}, 120_000);
