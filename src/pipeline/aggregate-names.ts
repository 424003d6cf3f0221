/**
 * Names on the aggregated endpoint /mcp: tools and prompts are "<backend>__<name>", resource URIs
 * and templates "mcpgw://<backend>/<original URI>". Backend names cannot contain "__", so the
 * first "__" always ends the backend name.
 */
const SEPARATOR = "__";
const URI_PREFIX = "mcpgw://";

export function prefixName(backend: string, name: string): string {
  return `${backend}${SEPARATOR}${name}`;
}

export function splitName(name: string): { backend: string; name: string } | undefined {
  const at = name.indexOf(SEPARATOR);
  if (at <= 0) return undefined;
  return { backend: name.slice(0, at), name: name.slice(at + SEPARATOR.length) };
}

export function prefixUri(backend: string, uri: string): string {
  return `${URI_PREFIX}${backend}/${uri}`;
}

export function splitUri(uri: string): { backend: string; uri: string } | undefined {
  if (!uri.startsWith(URI_PREFIX)) return undefined;
  const rest = uri.slice(URI_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  return { backend: rest.slice(0, slash), uri: rest.slice(slash + 1) };
}

/** A cursor that spans backends: which backend to continue with, and that backend's own cursor. */
export interface SpanningCursor {
  backend: string;
  cursor?: string;
}

export function encodeCursor(position: SpanningCursor): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

export function decodeCursor(text: string): SpanningCursor | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as SpanningCursor;
    if (typeof value.backend !== "string" || (value.cursor !== undefined && typeof value.cursor !== "string")) return undefined;
    return value;
  } catch {
    return undefined;
  }
}

type Json = Record<string, unknown>;

/** Rewrites the URIs inside content blocks (tool results, prompt messages) so they route back. */
export function prefixContentUris(backend: string, content: unknown): unknown {
  if (!Array.isArray(content)) return content;
  return content.map((block: Json) => {
    if (block?.type === "resource_link" && typeof block.uri === "string") return { ...block, uri: prefixUri(backend, block.uri) };
    const resource = block?.resource as Json | undefined;
    if (block?.type === "resource" && typeof resource?.uri === "string") return { ...block, resource: { ...resource, uri: prefixUri(backend, resource.uri) } };
    return block;
  });
}
