/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for the gateway as one hop: a valid
 * incoming `traceparent` is continued (same trace-id, the gateway's own span as the new
 * parent-id), anything else starts a new trace. Parsing is strict, since the header comes from
 * callers: lowercase hex only, no all-zero ids, version ff refused, version 00 exactly 55
 * characters; a higher version is read by its first four fields and sent on as 00 (the spec's
 * "downgrade the version" mutation).
 */

/** The trace context of one request through the gateway. */
export interface TraceContext {
  /** 32 lowercase hex digits, shared by every hop of the trace. */
  readonly traceId: string;
  /** The gateway's own span for this request: the parent-id of what it sends to backends. */
  readonly spanId: string;
  /** The caller's span (the incoming parent-id), when the caller sent a valid traceparent. */
  readonly parentId?: string;
  /** 2 hex digits: the caller's sampled and random-trace-id bits, or "01" for a trace the gateway starts. */
  readonly flags: string;
  /** The caller's tracestate, validated and bounded; passed on unchanged (the gateway adds no entry). */
  readonly tracestate?: string;
  /** `00-<trace-id>-<span-id>-<flags>`: the traceparent sent to HTTP backends. */
  readonly traceparent: string;
}

/**
 * Flags a trace the gateway starts gets: sampled. The gateway records every call it relays (the
 * per-call log line carries the trace id, and the audit log the call), which is the definitive
 * recording decision the spec asks the flag to reflect; a backend with a parent-based sampler then
 * records its side too. A caller that samples sends its own traceparent, whose flag is kept.
 */
const STARTED_FLAGS = "01";
/**
 * The flag bits passed on: sampled (0x01) and random-trace-id (0x02, Trace Context Level 2, to be
 * kept unchanged with its trace-id). Other bits are reserved, and the spec says to send them as zero.
 */
const KNOWN_FLAG_BITS = 0x03;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** Longest traceparent read (a future version may append fields; anything this long is abuse). */
const MAX_TRACEPARENT_CHARS = 512;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/** The fields of a valid incoming traceparent. */
export interface ParsedTraceparent {
  traceId: string;
  parentId: string;
  flags: string;
}

/** Parses a traceparent header value; undefined when it is absent or not valid. */
export function parseTraceparent(value: string | null | undefined): ParsedTraceparent | undefined {
  if (!value || value.length > MAX_TRACEPARENT_CHARS) return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff") return undefined;
  // Version 00 has exactly these four fields; only a higher version may carry more after a dash.
  if (version === "00" && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { traceId, parentId, flags: hexByte(Number.parseInt(flags, 16) & KNOWN_FLAG_BITS) };
}

/** tracestate limits: at most 32 members; at most 512 characters are passed on (whole members dropped beyond). */
const MAX_TRACESTATE_MEMBERS = 32;
const MAX_TRACESTATE_CHARS = 512;
/** Members longer than this are the first to go when the header must be shortened (spec: "tracestate Limits"). */
const LONG_MEMBER_CHARS = 128;
/** Anything longer is not parsed at all (a valid one is at most 32 members of ~512 characters). */
const MAX_TRACESTATE_INPUT_CHARS = 32 * 520;
/** key=value, with the key and value grammar of the spec (a value ends with a non-space). */
const TRACESTATE_MEMBER = /^([a-z0-9][_0-9a-z\-*/@]{0,255})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The tracestate to pass on, or undefined: a header with a malformed member, a duplicate key or
 * more than 32 members is dropped whole (it is opaque vendor data; forwarding part of a broken
 * one helps no one); a valid one longer than 512 characters loses whole members, those over 128
 * characters first, then from the end, as the spec orders. Empty members are ignored.
 */
export function boundedTracestate(value: string | null | undefined): string | undefined {
  if (!value || value.length > MAX_TRACESTATE_INPUT_CHARS) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(",")) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, "");
    if (member === "") continue;
    const match = TRACESTATE_MEMBER.exec(member);
    if (!match || keys.has(match[1]!) || members.length === MAX_TRACESTATE_MEMBERS) return undefined;
    keys.add(match[1]!);
    members.push(member);
  }
  let kept = members;
  const length = (list: string[]) => list.reduce((sum, member) => sum + member.length, 0) + Math.max(0, list.length - 1);
  if (length(kept) > MAX_TRACESTATE_CHARS) kept = kept.filter((member) => member.length <= LONG_MEMBER_CHARS);
  while (kept.length > 0 && length(kept) > MAX_TRACESTATE_CHARS) kept = kept.slice(0, -1);
  return kept.length > 0 ? kept.join(",") : undefined;
}

/**
 * The trace context of a request, from its headers: the caller's trace continued when its
 * traceparent is valid (with its tracestate, if that is valid too), otherwise a new trace. Either
 * way the gateway's span id is new.
 */
export function traceFromHeaders(headers: Headers): TraceContext {
  const incoming = parseTraceparent(headers.get("traceparent"));
  const spanId = randomId(8, ZERO_SPAN_ID);
  if (!incoming) {
    // A trace restarted: the caller's tracestate (if any) belonged to the trace it was part of.
    const traceId = randomId(16, ZERO_TRACE_ID);
    return { traceId, spanId, flags: STARTED_FLAGS, traceparent: `00-${traceId}-${spanId}-${STARTED_FLAGS}` };
  }
  // Only a valid traceparent's tracestate is read (spec: never parse tracestate when traceparent failed).
  const tracestate = boundedTracestate(headers.get("tracestate"));
  return {
    traceId: incoming.traceId,
    spanId,
    parentId: incoming.parentId,
    flags: incoming.flags,
    ...(tracestate !== undefined && { tracestate }),
    traceparent: `00-${incoming.traceId}-${spanId}-${incoming.flags}`,
  };
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function hexByte(byte: number): string {
  return HEX[byte]!;
}

/**
 * Random ids are cut from a pool of random hex text refilled by one crypto.getRandomValues call
 * every 170 requests or so: a request needs 48 hex digits (a trace id and a span id), and one call
 * (or one byte-to-hex loop) per id cost more than the rest of the trace handling together.
 */
const POOL_BYTES = 4096;
let hexPool = "";
let hexOffset = 0;

/** `bytes` random bytes as lowercase hex, never all zero (an invalid id). */
function randomId(bytes: number, zero: string): string {
  const digits = bytes * 2;
  for (;;) {
    if (hexOffset + digits > hexPool.length) {
      hexPool = Buffer.from(crypto.getRandomValues(new Uint8Array(POOL_BYTES))).toString("hex");
      hexOffset = 0;
    }
    const id = hexPool.slice(hexOffset, hexOffset + digits);
    hexOffset += digits;
    if (id !== zero) return id;
  }
}
