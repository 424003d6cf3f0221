import { UsageError } from "../errors.ts";
import { ADMIN_BACKEND, ADMIN_PERMISSIONS, type AdminPermission } from "./permission.ts";
import type { Target } from "./policy.ts";

const HINT =
  'write BACKEND/TOOL ("github/create_issue"), resource:BACKEND/URI ("resource:fs/file:///srv/a.txt"), prompt:BACKEND/NAME, ' +
  "method:BACKEND/METHOD, or admin:read / admin:write; names as the backend has them, no globs";

/**
 * One concrete target named as permissions name them (`[kind:]BACKEND/NAME`, without globs or
 * conditions): what the policy checker asks about. The backend ends at the first "/", so a
 * resource's URI keeps its own. UsageError (saying the forms) when it names nothing.
 */
export function parseTargetText(text: string): Target {
  const trimmed = text.trim();
  if (trimmed.startsWith("admin:")) {
    const name = trimmed.slice("admin:".length);
    if (!ADMIN_PERMISSIONS.includes(name as AdminPermission)) throw new UsageError(`"${text}" names no admin permission`, HINT);
    return { kind: "admin", backend: ADMIN_BACKEND, name };
  }
  const prefix = /^(tool|resource|prompt|method):/.exec(trimmed);
  const kind = (prefix?.[1] ?? "tool") as Target["kind"];
  const rest = prefix ? trimmed.slice(prefix[0].length) : trimmed;
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) throw new UsageError(`"${text}" is not BACKEND/NAME`, HINT);
  return { kind, backend: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
