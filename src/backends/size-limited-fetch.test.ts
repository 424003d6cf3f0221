import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sizeLimitedFetch } from "./size-limited-fetch.ts";

/** Answers /declared/N and /chunked/N with a JSON body of N bytes, with or without Content-Length. */
let server: ReturnType<typeof Bun.serve>;
const body = (bytes: number) => `{"text":"${"x".repeat(bytes - 11)}"}`;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const [, kind, size] = new URL(request.url).pathname.split("/");
      const text = body(Number(size));
      if (kind === "declared") return new Response(text, { headers: { "content-type": "application/json" } });
      // A stream of unknown length: sent chunked, without Content-Length.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let at = 0; at < bytes.length; at += 1_000) controller.enqueue(bytes.subarray(at, at + 1_000));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "application/json" } });
    },
  });
});

afterAll(() => server.stop(true));

describe("sizeLimitedFetch (a backend's --max-response on JSON answers)", () => {
  const limited = sizeLimitedFetch(10_000, "tickets");
  const url = (kind: string, bytes: number) => `http://127.0.0.1:${server.port}/${kind}/${bytes}`;

  test("a declared length within the cap: the answer as sent", async () => {
    const response = await limited(url("declared", 9_000));
    expect(response.headers.get("content-length")).toBe("9000");
    expect(await response.text()).toBe(body(9_000));
  });

  test("a declared length over the cap: refused before the body is read, naming the backend", async () => {
    await expect(limited(url("declared", 20_000))).rejects.toThrow(/backend "tickets" sent a response of 20000 bytes, over the 10000-byte cap/);
  });

  test("no declared length: counted as it streams, passed within the cap, cut off past it", async () => {
    const within = await limited(url("chunked", 9_000));
    expect(within.headers.get("content-length")).toBeNull();
    expect(await within.text()).toBe(body(9_000));
    const over = await limited(url("chunked", 20_000));
    await expect(over.text()).rejects.toThrow(/over the 10000-byte cap/);
  });
});
