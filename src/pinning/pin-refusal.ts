import { McpError } from "../protocol/mcp-values.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";
import type { Finding, PinKind, PinStatus } from "./pin-record.ts";

/** Why a definition is held back: it drifted from its pin, was never pinned, or has findings nobody approved. */
export type HoldReason = { status: Exclude<PinStatus, "pinned"> | "unpinned"; fields?: string[] } | { status: "suspicious"; findings: Finding[] };

const KIND_WORD = { tool: "tool", prompt: "prompt", resourceTemplate: "resource template" } as const satisfies Record<PinKind, string>;

/** The JSON-RPC error a call to a held-back tool or prompt gets: what changed, and the commands that review and approve it. */
export function definitionNotApproved(backend: string, kind: PinKind, name: string, reason: HoldReason): McpError {
  const what = `${KIND_WORD[kind]} "${name}" of backend "${backend}"`;
  let why: string;
  switch (reason.status) {
    case "changed":
      why = `changed since it was pinned${reason.fields && reason.fields.length > 0 ? ` (${reason.fields.join(", ")})` : ""}`;
      break;
    case "added":
      why = "is not pinned: it appeared after the backend's definitions were pinned";
      break;
    case "unpinned":
      why = `is not pinned, and pinning is explicit for this backend (mcpgw backend pin ${backend} pins what it lists now)`;
      break;
    case "removed":
      why = "was removed from the backend's list";
      break;
    case "suspicious":
      why = `has suspicious text (${reason.findings.map((f) => `${f.kind} in ${f.where}`).join("; ")}) and no one has approved it`;
      break;
  }
  const tool = ` --tool ${name}`;
  return new McpError(
    GatewayErrorCode.DefinitionNotApproved,
    `${what} ${why}; the gateway refuses it until an operator reviews and approves it: mcpgw backend diff ${backend}${tool}, then mcpgw backend approve ${backend}${tool}`,
    { backend, kind, name, pin: reason.status, ...("fields" in reason && reason.fields && { fields: reason.fields }) },
  );
}
