import { describe, expect, test } from "vitest";
import { readBodyText } from "./body-reader.ts";

const URL_ = "http://127.0.0.1/mcp";

/** A request whose body sends `first` and then nothing more until `release` is called. */
function stalledRequest(first: string): { request: Request; release: () => void } {
  let release: () => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      release = () => {
        controller.enqueue(new TextEncoder().encode("}"));
        controller.close();
      };
    },
  });
  return { request: new Request(URL_, { method: "POST", body }), release };
}

describe("readBodyText", () => {
  test("a body within both bounds is read whole", async () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    expect(await readBodyText(new Request(URL_, { method: "POST", body: text }), { maxBytes: 1024, timeoutMs: 1_000 })).toBe(text);
    const { request, release } = stalledRequest("{");
    const reading = readBodyText(request, { maxBytes: 1024, timeoutMs: 1_000 });
    setTimeout(release, 50);
    expect(await reading).toBe("{}");
  });

  test("a declared length over the bound is refused without reading; a streamed one is cut at the bound", async () => {
    const declared = new Request(URL_, { method: "POST", body: "x".repeat(100), headers: { "content-length": "100" } });
    expect(await readBodyText(declared, { maxBytes: 10, timeoutMs: 1_000 })).toMatchObject({ status: 413, declared: true });
    const { request } = stalledRequest("x".repeat(100));
    expect(await readBodyText(request, { maxBytes: 10, timeoutMs: 5_000 })).toMatchObject({ status: 413 });
  });

  test("a body that does not arrive within the time bound gets 408 when the bound is reached", async () => {
    const { request } = stalledRequest("{");
    const started = performance.now();
    const result = await readBodyText(request, { maxBytes: 1024, timeoutMs: 400 });
    const took = performance.now() - started;
    expect(result).toMatchObject({ status: 408, reason: expect.stringContaining("MCPGW_BODY_TIMEOUT") });
    expect(took).toBeGreaterThanOrEqual(399);
    // With room for a busy machine.
    expect(took).toBeLessThan(400 + 250);
  });

  test("many bodies in flight share one timer: the slow one gets 408, the others their text", async () => {
    const slow = stalledRequest("{");
    const quick = Array.from({ length: 50 }, (_, i) =>
      readBodyText(new Request(URL_, { method: "POST", body: `{"i":${i}}` }), { maxBytes: 1024, timeoutMs: 300 }),
    );
    const late = readBodyText(slow.request, { maxBytes: 1024, timeoutMs: 300 });
    expect(await Promise.all(quick)).toEqual(Array.from({ length: 50 }, (_, i) => `{"i":${i}}`));
    expect(await late).toMatchObject({ status: 408 });
  });
});
