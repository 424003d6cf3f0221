import { parseDuration } from "./duration.ts";
import { type EnvSettings, variableName } from "./env.ts";
import { parseSize } from "./size.ts";
import { ConfigError } from "../errors.ts";

/** The jobs' defaults, in one place. */
export const JOB_DEFAULTS = {
  /**
   * Jobs one gateway runs at once; further ones wait in the queue (and other replicas may take
   * them). A worker mostly waits on its backend and on commits, so this is about backend load:
   * a backend's own --max-concurrency still caps what reaches it.
   */
  workers: 16,
  /** A running job's claim; renewed while it runs, so a job whose gateway died is taken over once this passes. */
  leaseMs: 30_000,
  /** How long an ended job and its result are kept when the submitter names no TTL. */
  defaultTtlMs: 24 * 3_600_000,
  maxTtlMs: 7 * 24 * 3_600_000,
  /** A job's backend call may run this long (progress does not extend it); the backend's own timeout is for direct calls. */
  timeoutMs: 3_600_000,
  maxArgumentBytes: 256 * 1_024,
  maxResultBytes: 1_048_576,
  /** Holders of this role see and cancel everyone's jobs. */
  adminRole: "admin",
  /** Times an interrupted idempotent job is started before it is failed. */
  maxAttempts: 3,
} as const;

export interface JobSettings {
  workers: number;
  leaseMs: number;
  defaultTtlMs: number;
  maxTtlMs: number;
  timeoutMs: number;
  maxArgumentBytes: number;
  maxResultBytes: number;
  adminRole: string;
  maxAttempts: number;
}

/** The job settings from MCPGW_JOB_* variables, each checked once. */
export function resolveJobSettings(env: EnvSettings): JobSettings {
  const duration = (key: keyof EnvSettings, fallback: number) => (env[key] === undefined ? fallback : parseDuration(env[key], variableName(key)));
  const size = (key: keyof EnvSettings, fallback: number) => (env[key] === undefined ? fallback : parseSize(env[key], variableName(key)));
  const settings: JobSettings = {
    workers: parseWorkers(env.jobWorkers),
    leaseMs: duration("jobLease", JOB_DEFAULTS.leaseMs),
    defaultTtlMs: duration("jobDefaultTtl", JOB_DEFAULTS.defaultTtlMs),
    maxTtlMs: duration("jobMaxTtl", JOB_DEFAULTS.maxTtlMs),
    timeoutMs: duration("jobTimeout", JOB_DEFAULTS.timeoutMs),
    maxArgumentBytes: size("jobMaxArgumentBytes", JOB_DEFAULTS.maxArgumentBytes),
    maxResultBytes: size("jobMaxResultBytes", JOB_DEFAULTS.maxResultBytes),
    adminRole: env.jobAdminRole ?? JOB_DEFAULTS.adminRole,
    maxAttempts: JOB_DEFAULTS.maxAttempts,
  };
  if (settings.leaseMs < 1_000) throw new ConfigError(`${variableName("jobLease")}: a lease under 1s would expire between renewals`, "use e.g. 30s");
  if (settings.defaultTtlMs > settings.maxTtlMs) {
    throw new ConfigError(
      `${variableName("jobDefaultTtl")} is longer than ${variableName("jobMaxTtl")}`,
      "raise MCPGW_JOB_MAX_TTL or lower MCPGW_JOB_DEFAULT_TTL",
    );
  }
  return settings;
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return JOB_DEFAULTS.workers;
  const n = Number(text);
  // 0 is allowed: a replica that serves the API but leaves running jobs to others.
  if (!Number.isInteger(n) || n < 0 || n > 1_000)
    throw new ConfigError(`${variableName("jobWorkers")}: "${text}" is not a number of workers from 0 to 1000`, "use e.g. 4 (0: this gateway runs no jobs)");
  return n;
}
