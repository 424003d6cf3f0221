import { describe, expect, test } from "vitest";
import { AUDIT_DEFAULTS } from "./audit-settings.ts";
import { ConfigError } from "../errors.ts";
import { parseDuration } from "./duration.ts";
import { readEnv } from "./env.ts";
import { DEFAULTS, resolveSettings } from "./settings.ts";

describe("settings", () => {
  test("defaults when nothing is given", () => {
    expect(resolveSettings({}, {})).toEqual({
      databaseUrl: DEFAULTS.databaseUrl,
      host: "127.0.0.1",
      port: 8080,
      logLevel: "info",
      shutdownTimeoutMs: 10_000,
      dbPoolSize: 10,
      allowedHosts: [],
      allowedOrigins: [],
      sessionIdleMs: 1_800_000,
      secretKeys: {},
      maxBodyBytes: 1_048_576,
      bodyTimeoutMs: 10_000,
      maxSessionsPerSubject: 100,
      maxProcessesPerBackend: 16,
      sessionSnapshotIntervalMs: 5_000,
      pinRecheckMs: 300_000,
      inputTtlMs: 600_000,
      migrate: "auto",
      console: true,
      jsonBudget: { maxDepth: 64, maxItems: 100_000 },
      auth: {
        mode: "required",
        tokenIssuer: "mcpgw",
        tokenAudience: "mcpgw",
        signingAlg: "EdDSA",
        clockSkewSec: 30,
        maxTokenLifetimeSec: 366 * 86_400,
        authorizationServers: [],
      },
      audit: { enabled: true, failOpen: false, redactKeys: AUDIT_DEFAULTS.redactKeys, argumentsMaxBytes: 4_096 },
      jobs: {
        workers: 16,
        leaseMs: 30_000,
        defaultTtlMs: 86_400_000,
        maxTtlMs: 604_800_000,
        timeoutMs: 3_600_000,
        maxArgumentBytes: 262_144,
        maxResultBytes: 1_048_576,
        adminRole: "admin",
        maxAttempts: 3,
      },
    });
  });

  test.each([
    [{ MCPGW_JOB_WORKERS: "0" }, { workers: 0 }],
    [
      { MCPGW_JOB_LEASE: "10s", MCPGW_JOB_TIMEOUT: "5m" },
      { leaseMs: 10_000, timeoutMs: 300_000 },
    ],
    [
      { MCPGW_JOB_MAX_ARGUMENT_BYTES: "1KiB", MCPGW_JOB_MAX_RESULT_BYTES: "2MiB" },
      { maxArgumentBytes: 1_024, maxResultBytes: 2_097_152 },
    ],
    [{ MCPGW_JOB_ADMIN_ROLE: "ops" }, { adminRole: "ops" }],
  ])("jobs settings from %o", (vars, expected) => {
    expect(resolveSettings({}, readEnv(vars)).jobs).toMatchObject(expected);
  });

  test.each([
    [{ MCPGW_JOB_WORKERS: "-1" }, /MCPGW_JOB_WORKERS: "-1" is not a number of workers from 0 to 1000/],
    [{ MCPGW_JOB_LEASE: "500ms" }, /MCPGW_JOB_LEASE: a lease under 1s would expire between renewals/],
    [{ MCPGW_JOB_DEFAULT_TTL: "30d" }, /MCPGW_JOB_DEFAULT_TTL is longer than MCPGW_JOB_MAX_TTL/],
    [{ MCPGW_JOB_MAX_RESULT_BYTES: "lots" }, /MCPGW_JOB_MAX_RESULT_BYTES: "lots" is not a size/],
  ])("bad jobs settings %o are refused with the variable named", (vars, message) => {
    expect(() => resolveSettings({}, readEnv(vars))).toThrow(message);
  });

  test.each([
    [{ MCPGW_AUDIT: "off" }, { enabled: false }],
    [{ MCPGW_AUDIT_FAIL_OPEN: "true" }, { failOpen: true }],
    [{ MCPGW_AUDIT_FAIL_OPEN: "0" }, { failOpen: false }],
    [{ MCPGW_AUDIT_REDACT_KEYS: "ssn, pin" }, { redactKeys: ["ssn", "pin"] }],
    [{ MCPGW_AUDIT_REDACT_KEYS: "+ssn" }, { redactKeys: [...AUDIT_DEFAULTS.redactKeys, "ssn"] }],
    [
      { MCPGW_AUDIT_ARGUMENTS_MAX_BYTES: "8192", MCPGW_AUDIT_INSTANCE: "gw-0" },
      { argumentsMaxBytes: 8_192, instance: "gw-0" },
    ],
  ])("audit settings from %j", (variables, expected) => {
    expect(resolveSettings({}, readEnv(variables)).audit).toMatchObject(expected);
  });

  test.each([
    [{ MCPGW_AUDIT_FAIL_OPEN: "maybe" }, /MCPGW_AUDIT_FAIL_OPEN: "maybe" is not true or false/],
    [{ MCPGW_AUDIT_REDACT_KEYS: " , " }, /MCPGW_AUDIT_REDACT_KEYS: .* names no keys/],
    [{ MCPGW_AUDIT_ARGUMENTS_MAX_BYTES: "10" }, /MCPGW_AUDIT_ARGUMENTS_MAX_BYTES: "10" is not a size/],
    [{ MCPGW_AUDIT_INSTANCE: "a b" }, /MCPGW_AUDIT_INSTANCE: "a b" is not an instance name/],
  ])("rejects audit variables %j", (variables, message) => {
    expect(() => resolveSettings({}, readEnv(variables))).toThrow(message);
  });

  test("flags win over MCPGW_* variables, which win over defaults", () => {
    const env = readEnv({ MCPGW_PORT: "9000", MCPGW_HOST: "0.0.0.0", MCPGW_DATABASE_URL: "sqlite:env.db", MCPGW_SHUTDOWN_TIMEOUT: "2s", OTHER: "x" });
    const settings = resolveSettings({ port: "9100" }, env);
    expect(settings).toMatchObject({ port: 9100, host: "0.0.0.0", databaseUrl: "sqlite:env.db", shutdownTimeoutMs: 2_000 });
  });

  test("empty variables count as unset", () => {
    expect(readEnv({ MCPGW_PORT: "" })).toEqual({});
  });

  test.each([
    [{ port: "http" }, {}, /--port: "http" is not a TCP port/],
    [{}, { port: "70000" }, /MCPGW_PORT: "70000" is not a TCP port/],
    [{ logLevel: "chatty" }, {}, /--log-level: "chatty" is not a log level/],
    [{}, { dbPoolSize: "0" }, /MCPGW_DB_POOL_SIZE/],
    [{}, { maxJsonDepth: "deep" }, /MCPGW_MAX_JSON_DEPTH/],
    [{}, { maxJsonItems: "0" }, /MCPGW_MAX_JSON_ITEMS/],
    [{}, { shutdownTimeout: "soon" }, /MCPGW_SHUTDOWN_TIMEOUT: "soon" is not a duration/],
  ])("rejects %j / %j", (flags, env, message) => {
    expect(() => resolveSettings(flags, env)).toThrow(ConfigError);
    expect(() => resolveSettings(flags, env)).toThrow(message);
  });

  test.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["30", 30_000],
    ["1.5m", 90_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
  ])("duration %s = %d ms", (text, ms) => {
    expect(parseDuration(text, "x")).toBe(ms);
  });
});
