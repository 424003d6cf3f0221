import { formatSize } from "../src/config/size.ts";

type Item = Record<string, unknown>;

/**
 * A tool result as a person reads it: text content as the text itself, one item after another;
 * what is not text summarised on a line of its own (kind, type, size, URI), since binary data on
 * a terminal helps nobody (`--json` prints it whole). Structured content is printed as JSON when
 * the content has no text (the specification asks tools to mirror it in text; not all do).
 */
export function toolResultText(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? (result.content as Item[]) : [];
  const parts = content.map(describeItem);
  if (!content.some((item) => item.type === "text") && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent, null, 2));
  }
  if (result.resultType === "input_required") {
    parts.push("[the tool asks for input (input_required), which mcpgw call cannot give: call it from an MCP client]");
  }
  if (parts.length === 0) parts.push("[the tool returned no content]");
  return `${parts.join("\n")}\n`;
}

function describeItem(item: Item): string {
  switch (item.type) {
    case "text":
      return String(item.text ?? "");
    case "image":
    case "audio":
      return `[${item.type}: ${String(item.mimeType ?? "unknown type")}, ${base64Size(item.data)}]`;
    case "resource_link":
      return `[resource link: ${String(item.uri)}${typeof item.name === "string" ? ` (${item.name})` : ""}${typeof item.mimeType === "string" ? `, ${item.mimeType}` : ""}]`;
    case "resource": {
      const resource = (item.resource ?? {}) as Item;
      const mime = typeof resource.mimeType === "string" ? `, ${resource.mimeType}` : "";
      if (typeof resource.text === "string") return `[resource: ${String(resource.uri)}${mime}]\n${resource.text}`;
      return `[resource: ${String(resource.uri)}${mime}, ${base64Size(resource.blob)}]`;
    }
    default:
      return `[${String(item.type)} content: ${JSON.stringify(item).length} characters of JSON; see --json]`;
  }
}

/** The decoded size of base64 data, for people. */
function base64Size(data: unknown): string {
  if (typeof data !== "string") return "no data";
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return formatSize(Math.max(0, Math.floor((data.length * 3) / 4) - padding));
}
