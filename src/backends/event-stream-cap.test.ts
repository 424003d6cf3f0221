import { describe, expect, test } from "vitest";
import { capEventStream } from "./event-stream-cap.ts";

/** The capped stream's text, with the input cut into chunks of `chunkBytes` (events and lines split anywhere). */
async function capped(text: string, maxBytes: number, chunkBytes: number): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += chunkBytes) controller.enqueue(bytes.slice(at, at + chunkBytes));
      controller.close();
    },
  });
  return new Response(capEventStream(body, maxBytes, (size) => `${size} bytes, over the cap`)).text();
}

const event = (data: object, eol = "\n") => `event: message${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
const small = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
const large = { result: { content: [{ type: "text", text: "x".repeat(5_000) }] }, jsonrpc: "2.0", id: 7 };

describe("capEventStream", () => {
  test.each([1, 7, 64, 100_000])("events within the cap pass unchanged (chunks of %i bytes)", async (chunkBytes) => {
    const text = event(small) + event({ ...small, params: { progress: 2 } }, "\r\n") + event(small);
    expect(await capped(text, 200, chunkBytes)).toBe(text);
  });

  test.each([1, 13, 4_096, 100_000])("an oversized response is replaced by an error for its id; later events pass (chunks of %i bytes)", async (chunkBytes) => {
    const out = await capped(event(small) + event(large) + event(small), 1_000, chunkBytes);
    expect(out.startsWith(event(small))).toBe(true);
    expect(out.endsWith(event(small))).toBe(true);
    expect(out).not.toContain("x".repeat(1_000));
    expect(out).toContain(`data: {"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"${event(large).length} bytes, over the cap"}}\n\n`);
  });

  test("an oversized message that answers nothing is dropped, and the stream ends cleanly when it is the last", async () => {
    const notification = { jsonrpc: "2.0", method: "notifications/message", params: { data: "y".repeat(5_000) } };
    const out = await capped(event(small) + event(notification).trimEnd(), 1_000, 512);
    expect(out.startsWith(event(small))).toBe(true);
    expect(out).not.toContain("y".repeat(1_000));
    expect(out).not.toContain("error");
  });
});
