import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import type { ClientRequestExtra, FrontSession } from "../front/front-session.ts";
import { auditStart } from "./audit.ts";
import { authenticate } from "./authenticate.ts";
import { authorize } from "./authorize.ts";
import { limit } from "./limit.ts";
import { route } from "./route.ts";

/**
 * The request pipeline: every client request a session does not answer itself (initialize and
 * ping are answered by the SDK) passes these stages, in this order:
 *
 * 1. authenticate — nothing is decided about an unknown caller.
 * 2. route        — resolves the backend and target, which policy and limits are about; no I/O.
 * 3. authorize    — before limits, so a denied call does not spend the caller's quota.
 * 4. limit        — before audit's write, so a refused call is audited as refused, not as attempted.
 * 5. audit        — the record is written before forwarding (write-ahead) and finished after.
 * 6. forward      — the plan runs: the backend (or several, for aggregated lists) is called.
 */
export async function runPipeline(session: FrontSession, request: Request, extra: ClientRequestExtra): Promise<Result> {
  session.lastActivity = Date.now();
  const principal = authenticate(extra);
  const plan = route(session, request, extra);
  authorize(principal, request, plan);
  await limit(principal, request, plan);
  const audit = await auditStart(session.log, principal, request, plan);
  try {
    const result = await plan.run();
    audit.finish({ ok: true });
    return result;
  } catch (error) {
    audit.finish({ ok: false, error });
    throw error;
  }
}
