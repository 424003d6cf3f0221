import type { Request } from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "./principal.ts";
import type { RoutePlan } from "./route.ts";

/** Stage 2: may this principal make this call? Pass-through until RBAC lands (issue 4): everything is allowed. */
export function authorize(_principal: Principal, _request: Request, _plan: RoutePlan): void {}
