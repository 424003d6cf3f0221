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
