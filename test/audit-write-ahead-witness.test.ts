import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { verifyAllChains } from "../src/audit/verify-chains.ts";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";

const WITNESS = join(REPO_ROOT, "test/fixtures/audit-witness-server.ts");
const SESSIONS = 4;
const CALLS_PER_SESSION = 25;

/**
 * Issue 17, acceptance 4: under the appended-outcome design a call is still forwarded only after
 * its write-ahead record is durable. The backend is a separate process that reads the gateway's
 * database with a connection of its own the moment a call reaches it: every call must find its
 * record committed and still open (its outcome is appended only after the backend answered).
 */
for (const [label, setup] of BOTH_STORES) {
  describe(`a call reaches its backend only after its audit record is committed (${label})`, () => {
    let fixture: StoreFixture | undefined;
    let gw: TestGateway | undefined;
    const clients: Client[] = [];

    beforeAll(async () => {
      fixture = await setup("audit_witness");
      if (!fixture) return;
      gw = await startTestGateway([{ name: "witness", command: [BUN, WITNESS], env: { WITNESS_DB: fixture.url } }], {}, { databaseUrl: fixture.url });
      if (label === "postgres") {
        // Each commit of records takes 50 ms longer, so a call forwarded before its commit would reach the witness
        // well before its record is visible (SQLite commits in-process; the race is wide enough there as it is).
        await fixture.raw(`CREATE FUNCTION slow_audit_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$`);
        await fixture.raw("CREATE TRIGGER slow_audit_commit AFTER INSERT ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION slow_audit_commit()");
      }
      for (let i = 0; i < SESSIONS; i++) clients.push(await connectClient(gw.mcpUrl("witness"), {}, `witness-${i}`));
    }, 60_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gw?.stop();
      await fixture?.cleanup();
    });

    test(`${SESSIONS * CALLS_PER_SESSION} concurrent calls: each backend call sees its own record committed and pending; afterwards each has its appended outcome`, async (context) => {
      if (!fixture || !gw) return context.skip();
      const seen = await Promise.all(
        clients.flatMap((client, s) =>
          Array.from({ length: CALLS_PER_SESSION }, async (_, i) => {
            const tag = `w-${s}-${i}-${crypto.randomUUID().slice(0, 6)}`;
            const result = await client.callTool({ name: "witness", arguments: { tag } });
            const text = (result.content as { type: string; text: string }[])[0]!.text;
            return { tag, seen: JSON.parse(text) as unknown };
          }),
        ),
      );
      for (const { seen: record } of seen) expect(record).toEqual({ status: "pending", outcomeSeq: null });

      const store = openStore(fixture.url, { poolSize: 2 });
      try {
        const deadline = Date.now() + 10_000;
        let rows = await store.audit.list({ filter: { backend: "witness" }, limit: 1_000 });
        // Outcomes are committed after the answer went out; wait for the last group commit.
        while (rows.some((row) => row.status === "pending") && Date.now() < deadline) {
          await Bun.sleep(50);
          rows = await store.audit.list({ filter: { backend: "witness" }, limit: 1_000 });
        }
        const calls = rows.filter((row) => row.method === "tools/call");
        expect(calls).toHaveLength(SESSIONS * CALLS_PER_SESSION);
        for (const row of calls) {
          expect(row).toMatchObject({ kind: "call", status: "ok" });
          expect(row.outcomeSeq).toBeGreaterThan(row.seq);
        }
        const appended = await fixture.raw<{ n: unknown }>("SELECT COUNT(*) AS n FROM audit_outcomes");
        expect(Number(appended[0]!.n)).toBeGreaterThanOrEqual(SESSIONS * CALLS_PER_SESSION);
        expect((await verifyAllChains(store.audit)).filter((report) => !report.ok)).toEqual([]);
      } finally {
        await store.close();
      }
    }, 60_000);
  });
}
