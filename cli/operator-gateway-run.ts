import { McpError } from "../src/protocol/mcp-values.ts";
import { NotFoundError, McpgwError } from "../src/errors.ts";
import { GatewayErrorCode, plainMessage } from "../src/protocol/gateway-errors.ts";
import { OperatorGateway } from "../src/operator-calls/operator-gateway.ts";
import { type CommandContext, withStore } from "./context.ts";
import { VERSION } from "./version.ts";

/**
 * Runs fn with the gateway's pipeline opened in this process (src/operator-calls): the store,
 * then backends, policy, limits and this process's audit chain; everything closed afterwards,
 * stdio backends' processes included. Ctrl-C cancels what is in flight (audited as cancelled).
 */
export async function withOperatorGateway<T>(context: CommandContext, fn: (gateway: OperatorGateway, signal: AbortSignal) => Promise<T>): Promise<T> {
  return withStore(context, async (store) => {
    const gateway = await OperatorGateway.open({ store, settings: context.settings, logger: context.adminLogger(), env: process.env, version: VERSION });
    const interrupt = new AbortController();
    const onSigint = () => interrupt.abort(new McpgwError("interrupted (Ctrl-C): the call was cancelled at the backend"));
    process.once("SIGINT", onSigint);
    try {
      return await fn(gateway, interrupt.signal);
    } finally {
      process.off("SIGINT", onSigint);
      await gateway.close();
    }
  });
}

/** A backend named on the command line must exist: said plainly, before any policy decision about it. */
export function requireBackend(gateway: OperatorGateway, name: string): void {
  if (!gateway.hasBackend(name)) throw new NotFoundError(`there is no backend "${name}"`, "list the backends with: mcpgw backend list");
}

/** The gateway's JSON-RPC error for a request made as `subject`, as an error that says what to do. */
export function explainRefusal(err: unknown, subject: string, roles: readonly string[], backend: string): unknown {
  if (err instanceof McpgwError) return err;
  if (!(err instanceof McpError)) return err;
  const message = plainMessage(err);
  switch (err.code) {
    case GatewayErrorCode.DeniedByPolicy:
      return new McpgwError(
        message,
        `"${subject}" has ${roles.length === 0 ? "no granted roles" : `the roles ${roles.join(", ")}`}: grant one that allows it with: mcpgw role grant ROLE ${subject} (roles: mcpgw role list)`,
      );
    case GatewayErrorCode.RateLimited:
      return new McpgwError(message, "wait, or look at the rules with: mcpgw limit list");
    case GatewayErrorCode.AuditUnavailable:
      return new McpgwError(message, "the call was not made: the audit log could not be written (check the database with: mcpgw doctor)");
    case GatewayErrorCode.InvalidParams:
    case GatewayErrorCode.MethodNotFound:
      return new McpgwError(
        `backend "${backend}": ${message}`,
        `see its tools and their arguments with: mcpgw tools list --backend ${backend} --as ${subject} --json`,
      );
    default:
      return new McpgwError(`backend "${backend}": ${message}`, `check the backend with: mcpgw backend test ${backend}`);
  }
}
