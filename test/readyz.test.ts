import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "../src/log/logger.ts";
import { createGatewayApp } from "../src/server/gateway-app.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable, testPostgresUrl } from "./helpers/postgres.ts";
import { TcpProxy } from "./helpers/tcp-proxy.ts";

describe("/readyz follows the database without a restart", () => {
  let schema: IsolatedSchema | undefined;
  let proxy: TcpProxy;
  let store: Store;

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    schema = await isolatedSchema("ready");
    const real = new URL(testPostgresUrl());
    proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 5432) }).open();
    const viaProxy = new URL(schema.url);
    viaProxy.port = String(proxy.port);
    store = openStore(viaProxy.toString(), { poolSize: 2 });
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    proxy?.cut();
    await schema?.drop();
  });

  test("200 while reachable, 503 with the reason while cut off, 200 again once back", async (context) => {
    if (!schema) return context.skip();
    const app = createGatewayApp({ store, logger: createLogger({ level: "silent" }), version: "test" });
    const readyz = async () => {
      const response = await app.fetch(new Request("http://gateway/readyz"));
      return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
    };

    expect(await readyz()).toEqual({ status: 200, body: { status: "ready" } });

    proxy.cut();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("not ready");
    expect(down.body.reason).toMatch(/PostgreSQL at .* is unreachable|did not answer|Connection terminated/);
    const health = await app.fetch(new Request("http://gateway/healthz"));
    expect(health.status).toBe(200);

    proxy.open();
    let back = await readyz();
    for (let i = 0; i < 20 && back.status !== 200; i++) {
      await Bun.sleep(100);
      back = await readyz();
    }
    expect(back).toEqual({ status: 200, body: { status: "ready" } });
  });

  test("503 naming the missing migrations on a database that was never migrated", async () => {
    const { tempDir } = await import("./helpers/temp-dir.ts");
    const dir = tempDir();
    const fresh = openStore(`sqlite:${dir.path}/fresh.db`);
    try {
      const app = createGatewayApp({ store: fresh, logger: createLogger({ level: "silent" }), version: "test" });
      const response = await app.fetch(new Request("http://gateway/readyz"));
      expect(response.status).toBe(503);
      expect(((await response.json()) as { reason: string }).reason).toContain("run mcpgw migrate");
    } finally {
      await fresh.close();
      dir.remove();
    }
  });
});
