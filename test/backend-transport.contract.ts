import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

/** A transport to a live backend, and the means to make that backend go away. */
export interface OpenedBackend {
  /** Not started: the contract starts it, as the gateway's connection does. */
  transport: Transport;
  /** Ends the backend abruptly (kill -9 of its process): a crash, not a close. */
  crash(): Promise<void>;
}

/** One backend transport, as the gateway builds it (createBackendTransport), over a real server-everything. */
export interface TransportUnderTest {
  /**
   * A transport to server-everything. `dedicated`: a backend of its own, which crash() may end
   * without disturbing the other tests; `maxMessageBytes`: the backend's --max-response.
   */
  open(options?: { dedicated?: boolean; maxMessageBytes?: number }): Promise<OpenedBackend>;
  /** A transport to a backend that is not there (no such program, nothing listening). */
  unreachable(): Transport;
  stop(): Promise<void>;
}

export interface TransportCapabilities {
  /** Refuses a message from the backend over the size cap (--max-response) instead of buffering it. */
  capsMessageSize: boolean;
}

type Message = JSONRPCMessage & {
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
};

const WAIT_MS = 20_000;

/**
 * The client end of a JSON-RPC conversation over a started transport, as the gateway holds it:
 * requests matched to responses by id, every other message kept for the test to look for.
 */
class Peer {
  readonly received: Message[] = [];
  readonly errors: Error[] = [];
  closes = 0;
  private nextId = 1;
  private waiters: (() => void)[] = [];

  constructor(readonly transport: Transport) {
    transport.onmessage = (message) => this.wake(() => this.received.push(message as Message));
    transport.onerror = (error) => this.wake(() => this.errors.push(error));
    transport.onclose = () => this.wake(() => (this.closes += 1));
  }

  /** Resolves with the first value `find` returns that is not undefined (looked for anew at every event). */
  async until<T>(find: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next received message that matches, taken out of `received`. */
  take(match: (message: Message) => boolean, what: string): Promise<Message> {
    return this.until(() => {
      const at = this.received.findIndex(match);
      return at < 0 ? undefined : this.received.splice(at, 1)[0];
    }, what);
  }

  /** Sends a request and resolves with its response (a result or an error). */
  async request(method: string, params?: Record<string, unknown>): Promise<Message> {
    const id = this.nextId++;
    await this.transport.send({ jsonrpc: "2.0", id, method, ...(params && { params }) });
    return this.take((message) => message.id === id && message.method === undefined, `the response to ${method} (id ${id})`);
  }

  notify(method: string, params?: Record<string, unknown>): Promise<void> {
    return this.transport.send({ jsonrpc: "2.0", method, ...(params && { params }) });
  }

  /** initialize and notifications/initialized, as the SDK client does them; resolves with initialize's result. */
  async initialize(): Promise<Record<string, unknown>> {
    const capabilities = { sampling: {}, roots: { listChanged: true } };
    const clientInfo = { name: "contract", version: "1.0.0" };
    const response = await this.request("initialize", { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities, clientInfo });
    expect(response.error).toBeUndefined();
    this.transport.setProtocolVersion?.(response.result!.protocolVersion as string);
    await this.notify("notifications/initialized");
    return response.result!;
  }

  private wake(record: () => void): void {
    record();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

const text = (response: Message) => ((response.result?.content as { text?: string }[] | undefined) ?? []).map((block) => block.text ?? "").join("\n");

/**
 * The backend transport contract: what the gateway's connection (backend-link.ts, DirectRequests
 * and the SDK client above them) relies on from stdio, Streamable HTTP and legacy SSE alike.
 * Driven with raw JSON-RPC against a real server-everything, so every message crosses the real wire.
 */
export function runBackendTransportContract(name: string, capabilities: TransportCapabilities, setup: () => Promise<TransportUnderTest>): void {
  describe(`BackendTransport contract: ${name}`, () => {
    let under: TransportUnderTest;
    const peers: Peer[] = [];
    const connect = async (options?: { dedicated?: boolean; maxMessageBytes?: number }) => {
      const opened = await under.open(options);
      const peer = new Peer(opened.transport);
      peers.push(peer);
      await opened.transport.start();
      return { peer, crash: opened.crash };
    };

    beforeAll(async () => {
      under = await setup();
    }, 60_000);
    afterAll(async () => {
      await Promise.all(peers.map((peer) => peer.transport.close().catch(() => undefined)));
      await under?.stop();
    });

    test("initialize: the backend answers with its name and a protocol version; requests after it are answered", async () => {
      const { peer } = await connect();
      const result = await peer.initialize();
      expect(result).toMatchObject({ serverInfo: { name: expect.stringMatching(/everything/) }, protocolVersion: expect.any(String) });
      expect(peer.errors).toEqual([]);
      const ping = await peer.request("ping");
      expect(ping.result).toEqual({});
    });

    test("concurrent requests are each answered under their own id, errors included", async () => {
      const { peer } = await connect();
      await peer.initialize();
      const sums = await Promise.all(Array.from({ length: 12 }, (_, i) => peer.request("tools/call", { name: "get-sum", arguments: { a: i, b: 1_000 } })));
      expect(sums.map(text)).toEqual(sums.map((_, i) => expect.stringContaining(String(i + 1_000))));
      const unknown = await peer.request("no/such-method");
      expect(unknown.error).toMatchObject({ code: -32601 });
    });

    test("notifications from the backend arrive, in order, before the response they belong to", async () => {
      const { peer } = await connect();
      await peer.initialize();
      const progress: number[] = [];
      const token = "contract-progress";
      const call = peer.request("tools/call", {
        name: "trigger-long-running-operation",
        arguments: { duration: 1, steps: 4 },
        _meta: { progressToken: token },
      });
      const ofToken = (message: Message) => message.method === "notifications/progress" && message.params?.progressToken === token;
      for (let i = 0; i < 4; i++) progress.push((await peer.take(ofToken, `progress ${i + 1}`)).params!.progress as number);
      expect(text(await call)).toMatch(/Long running operation completed/);
      expect(progress).toEqual([1, 2, 3, 4]);
    });

    test("a request from the backend arrives, and the answer sent back reaches it", async () => {
      const { peer } = await connect();
      await peer.initialize();
      const call = peer.request("tools/call", { name: "trigger-sampling-request", arguments: { prompt: "contract", maxTokens: 20 } });
      const sampling = await peer.take((message) => message.method === "sampling/createMessage", "sampling/createMessage from the backend");
      expect(sampling.id).toBeDefined();
      const sampled = { role: "assistant", model: "contract-model", content: { type: "text", text: "sampled by the contract" } };
      await peer.transport.send({ jsonrpc: "2.0", id: sampling.id!, result: sampled });
      const result = text(await call);
      expect(result).toContain("sampled by the contract");
      expect(result).toContain("contract-model");
    });

    test("a notification to the backend reaches it: roots/list_changed makes it ask for the roots again", async () => {
      const { peer } = await connect();
      await peer.initialize();
      const answerRoots = async (what: string) => {
        const ask = await peer.take((message) => message.method === "roots/list", what);
        await peer.transport.send({ jsonrpc: "2.0", id: ask.id!, result: { roots: [{ uri: "file:///contract", name: "contract" }] } });
      };
      // server-everything asks once after initialization, and again on every list_changed.
      await answerRoots("roots/list after initialization");
      await peer.notify("notifications/roots/list_changed");
      await answerRoots("roots/list after notifications/roots/list_changed");
    });

    test("a large message passes intact both ways (1 MiB each way)", async () => {
      const { peer } = await connect();
      await peer.initialize();
      const message = `${"0123456789abcdef".repeat(64 * 1_024)}…end`;
      const echoed = await peer.request("tools/call", { name: "echo", arguments: { message } });
      expect(text(echoed)).toBe(`Echo: ${message}`);
    });

    if (capabilities.capsMessageSize)
      test("a message over the size cap fails the call it answers, saying so, and the connection goes on", async () => {
        const { peer } = await connect({ maxMessageBytes: 64 * 1_024 });
        await peer.initialize();
        const failure = await peer.request("tools/call", { name: "echo", arguments: { message: "x".repeat(200 * 1_024) } }).catch((err: Error) => err);
        const reason = failure instanceof Error ? failure.message : failure.error?.message;
        expect(reason).toMatch(/byte cap/);
        expect(text(await peer.request("tools/call", { name: "echo", arguments: { message: "small" } }))).toBe("Echo: small");
      });

    test("close: onclose is called, and a send afterwards rejects", async () => {
      const { peer } = await connect();
      await peer.initialize();
      await peer.transport.close();
      await peer.until(() => (peer.closes > 0 ? true : undefined), "onclose");
      await expect(peer.request("ping")).rejects.toThrow();
    });

    test("the backend crashes: the transport reports it, and a request sent afterwards fails rather than waits", async () => {
      const { peer, crash } = await connect({ dedicated: true });
      await peer.initialize();
      await crash();
      await peer.until(() => (peer.closes > 0 || peer.errors.length > 0 ? true : undefined), "onclose or onerror after the crash");
      const after = await peer.request("ping").then(
        (response) => response.error?.message,
        (err: Error) => err.message,
      );
      expect(after).toEqual(expect.any(String));
      // Failed by the transport, not given up on by this test's own wait.
      expect(after).not.toMatch(/timed out after/);
    });

    test("an unreachable backend: starting or the first request fails with an error", async () => {
      const transport = under.unreachable();
      const peer = new Peer(transport);
      peers.push(peer);
      const failure = await transport
        .start()
        .then(() => peer.request("initialize", { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "contract", version: "1" } }))
        .then(
          (response) => response.error?.message,
          (err: Error) => err.message,
        );
      expect(failure).toEqual(expect.any(String));
      expect(failure).not.toMatch(/timed out after/);
    });
  });
}
