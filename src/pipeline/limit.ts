import type { Request } from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "./principal.ts";
import type { RoutePlan } from "./route.ts";

/** Stage 3: rate limits, quotas and caps. Pass-through until traffic control lands (issue 5). */
export async function limit(_principal: Principal, _request: Request, _plan: RoutePlan): Promise<void> {}
