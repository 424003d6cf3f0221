import type { EventStore } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * Per-session SSE event log for resumability (GET + Last-Event-ID). Event ids are
 * "<streamId>.<seq>", so an id names its stream. Bounded: the oldest events are dropped first,
 * and a client resuming from a dropped event gets what is left after it.
 */
export class MemoryEventStore implements EventStore {
  private readonly events: { id: string; streamId: string; seq: number; message: JSONRPCMessage }[] = [];
  private seq = 0;

  constructor(private readonly capacity = 1_000) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const seq = ++this.seq;
    const id = `${streamId}.${seq}`;
    this.events.push({ id, streamId, seq, message });
    if (this.events.length > this.capacity) this.events.shift();
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const dot = eventId.lastIndexOf(".");
    return dot > 0 ? eventId.slice(0, dot) : undefined;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = (await this.getStreamIdForEventId(lastEventId)) ?? "";
    const after = Number(lastEventId.slice(lastEventId.lastIndexOf(".") + 1));
    for (const event of this.events) {
      if (event.streamId === streamId && event.seq > after) await send(event.id, event.message);
    }
    return streamId;
  }
}
