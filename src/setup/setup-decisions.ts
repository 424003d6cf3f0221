import type { BackendInput } from "../backends/backend-input.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import { ConflictError, McpgwError } from "../errors.ts";
import type { StoredRole } from "../policy/role-repository.ts";
import { describeRules } from "./admin-access.ts";

/**
 * Every question `mcpgw init` may need answered. The wizard asks a person (cli/commands/init.ts);
 * `scriptedDecisions` answers from flags for `init --yes`. Where an answer did not work, the
 * question comes again with the failure, so the wizard can re-ask and the scripted run can stop.
 */
export interface SetupDecisions {
  /** The settings file exists: overwrite it, or write another file (one that does not exist). */
  envFileExists(path: string): Promise<{ overwrite: true } | { path: string }>;
  /** The database URL; `failure` says why the previous answer did not work. */
  databaseUrl(suggested: string, failure?: McpgwError): Promise<string>;
  /** The subject of the first admin token. */
  adminSubject(suggested: string): Promise<string>;
  /** A role of that name exists with other rules: replace them (keeping its grants), or use another name. */
  roleExists(role: StoredRole): Promise<{ replace: true } | { name: string }>;
  /** The first backend, or undefined for none; `failure` says why the previous answer did not work. */
  backend(suggested: BackendInput | undefined, failure?: McpgwError): Promise<BackendInput | undefined>;
  /** A different backend of that name is registered: replace it (true) or not (the backend is asked again). */
  backendExists(existing: BackendSpec): Promise<boolean>;
  /** The backend failed its test: change its settings, register it anyway, or go on without it. */
  backendFailed(error: McpgwError): Promise<"change" | "keep" | "skip">;
}

/** The answers of `init --yes`: the flags (or defaults) as given; an existing thing is replaced only with --force. */
export function scriptedDecisions(options: { force: boolean }): SetupDecisions {
  const { force } = options;
  return {
    async envFileExists(path) {
      if (force) return { overwrite: true };
      throw new ConflictError(
        `${path} already exists`,
        "pass --force to overwrite it (its other variables are kept), remove it, or write elsewhere with --env-file PATH",
      );
    },
    async databaseUrl(suggested, failure) {
      if (failure) throw failure;
      return suggested;
    },
    async adminSubject(suggested) {
      return suggested;
    },
    async roleExists(role) {
      if (force) return { replace: true };
      throw new ConflictError(
        `role "${role.name}" already exists with other rules (${describeRules(role)})`,
        `pass --admin-role NAME to create another admin role, or --force to replace its rules with full access (its grants are kept)`,
      );
    },
    async backend(suggested, failure) {
      if (failure) throw failure;
      return suggested;
    },
    async backendExists(existing) {
      if (force) return true;
      throw new ConflictError(`a different backend "${existing.name}" is already registered`, `pass --force to replace it, or choose another --backend-name`);
    },
    async backendFailed(error) {
      throw new McpgwError(
        `init stopped before saving anything: ${error.message}`,
        `${error.hint ?? "check the backend"} (with init: fix --backend-command / --backend-url, or leave the backend out and add it later with mcpgw backend add)`,
        { cause: error },
      );
    },
  };
}
