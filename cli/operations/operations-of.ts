import type { CommandContext } from "../context.ts";
import { remoteOperations } from "../remote/remote-operations.ts";
import type { Operations } from "./operations.ts";
import { storeOperations } from "./store-operations.ts";

/** The operations a command works with: through the gateway given by --server (or MCPGW_SERVER), else on the database. */
export function operationsOf(context: CommandContext): Operations {
  return context.settings.server ? remoteOperations(context.settings.server) : storeOperations(context);
}
