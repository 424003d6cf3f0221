import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";

/**
 * A backend transport as the SDK client sees it, when the gateway opened the transport first
 * (to probe the backend's era) and its own requests (DirectRequests) take their messages before
 * the client does. `start` does nothing (the transport runs already); whoever routes the
 * transport's messages hands the client's share to this one's `onmessage`, `onerror` and
 * `onclose` (which the client's connect sets). Until `adopt()`, closing it leaves the transport
 * open: an initialize that failed (the SDK client then closes its transport) may have shown a
 * 2026-07-28 backend, which the gateway goes on talking to on the same process.
 */
export class ClientSideTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** The protocol version the SDK client agreed in initialize. */
  protocolVersion: string | undefined;
  private owned = false;

  constructor(private readonly inner: Transport) {}

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** From now on, closing this closes the transport (initialize succeeded: the client owns it). */
  adopt(): void {
    this.owned = true;
  }

  async start(): Promise<void> {}

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  async close(): Promise<void> {
    if (this.owned) return this.inner.close();
    this.onclose?.();
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.inner.setProtocolVersion?.(version);
  }
}
