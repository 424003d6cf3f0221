/**
 * Server-sent events read from a fetch() body. EventSource cannot send an Authorization header, so
 * the live page fetches the stream with one and parses it here: `event:` and `data:` lines, a blank
 * line ends an event, `:` lines are comments (the server's keepalives).
 */

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** A parser fed chunks of text in any split; calls onEvent for each complete event. */
export function sseParser(onEvent: (event: ServerSentEvent) => void): (chunk: string) => void {
  let buffered = "";
  let event = "";
  let data: string[] = [];
  const line = (text: string) => {
    if (text === "") {
      if (data.length > 0) onEvent({ event: event || "message", data: data.join("\n") });
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  };
  return (chunk) => {
    buffered += chunk;
    // A \r at the very end may be the first half of \r\n: it waits for the next chunk.
    const held = buffered.endsWith("\r") ? "\r" : "";
    const lines = (held ? buffered.slice(0, -1) : buffered).split(/\r\n|\r|\n/);
    buffered = (lines.pop() ?? "") + held;
    for (const text of lines) line(text);
  };
}

/** Reads the body to its end (or until the signal aborts), reporting each event. */
export async function readServerSentEvents(body: ReadableStream<Uint8Array>, onEvent: (event: ServerSentEvent) => void): Promise<void> {
  const feed = sseParser(onEvent);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
}
