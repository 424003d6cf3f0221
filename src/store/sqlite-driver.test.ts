import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { SqliteDriver } from "./sqlite-driver.ts";

describe("the SQLite driver", () => {
  test("a full database is reported as such, not hidden by the rollback after it (issue 15, item 6)", async () => {
    const driver = new SqliteDriver(":memory:");
    await driver.execute("CREATE TABLE t (x BLOB)");
    const [pages] = await driver.query<{ page_count: number }>("PRAGMA page_count");
    // A database that may grow by two pages stands in for a full disk: SQLite ends the transaction itself.
    await driver.execute(`PRAGMA max_page_count = ${pages!.page_count + 2}`);
    const filling = driver.transaction(async (tx) => {
      for (let i = 0; i < 100; i++) await tx.execute("INSERT INTO t VALUES (?)", [new Uint8Array(100_000)]);
    });
    await expect(filling).rejects.toThrow(/database or disk is full/);
    // The driver is usable after it.
    await driver.execute("DELETE FROM t");
    await expect(driver.transaction(async (tx) => tx.execute("INSERT INTO t VALUES (?)", [new Uint8Array(10)]))).resolves.toBe(1);
    await driver.close();
  });
});

describe("several processes opening one new SQLite file at the same moment", () => {
  test("all of them open it: switching it to WAL waits for the others instead of failing with 'database is locked'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpgw-open-race-"));
    const fixture = fileURLToPath(new URL("../../test/fixtures/open-sqlite.ts", import.meta.url));
    try {
      // CI saw two `mcpgw migrate` fail like this about one time in eight; six processes, five rounds.
      for (let round = 0; round < 5; round++) {
        const path = join(dir, `race-${round}.db`);
        const start = Date.now() + 400;
        const children = Array.from({ length: 6 }, () => Bun.spawn([process.execPath, fixture, path, String(start)], { stdout: "pipe", stderr: "pipe" }));
        const outputs = await Promise.all(
          children.map(async (child) => `${await new Response(child.stdout).text()}${await new Response(child.stderr).text()}`.trim()),
        );
        expect(outputs).toEqual(outputs.map(() => "ok"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
