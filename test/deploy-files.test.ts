import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { VARIABLES } from "../src/config/env.ts";
import { REPO_ROOT } from "./helpers/cli.ts";

/**
 * The deployment files (issue 16, item 8) are real files, not only examples in docs: parsed here
 * and checked against what the gateway is (its image, probes and ports, the MCPGW_* settings it
 * reads, the commands it has) and for the order migration → gateway.
 */
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of any shape; the tests check it rather than trust a type
type Json = Record<string, any>;
const DEPLOY = join(REPO_ROOT, "docs/deploy");
const KNOWN = new Set<string>(Object.values(VARIABLES));
const COMMANDS = new Set(["serve", "migrate"]);

function documents(path: string): Json[] {
  const parsed = parseAllDocuments(readFileSync(join(DEPLOY, path), "utf8"));
  for (const document of parsed) expect(document.errors, path).toEqual([]);
  return parsed.map((document) => document.toJS() as Json);
}

function mcpgwEnvNames(env: { name: string }[] | Record<string, unknown>): string[] {
  const names = Array.isArray(env) ? env.map((item) => item.name) : Object.keys(env);
  return names.filter((name) => name.startsWith("MCPGW_"));
}

describe("docs/deploy/kubernetes", () => {
  const [secret, deployment, policy] = documents("kubernetes/sidecar.yaml");
  const pod = deployment!.spec.template.spec;
  const init: Json[] = pod.initContainers;

  test("a Secret, a Deployment and a NetworkPolicy that selects its pods", () => {
    expect([secret!.kind, deployment!.kind, policy!.kind]).toEqual(["Secret", "Deployment", "NetworkPolicy"]);
    expect(deployment!.spec.selector.matchLabels).toEqual(deployment!.spec.template.metadata.labels);
    expect(policy!.spec.podSelector.matchLabels).toEqual(deployment!.spec.selector.matchLabels);
    expect(policy!.spec.policyTypes).toContain("Ingress");
  });

  test("migrate runs first as a plain init container, then the gateway as a native sidecar, on one image", () => {
    expect(init.map((c) => c.name)).toEqual(["migrate", "mcpgw"]);
    const [migrate, gateway] = init;
    expect(migrate!.args).toEqual(["migrate"]);
    expect(migrate!.restartPolicy).toBeUndefined();
    expect(gateway!.args).toEqual(["serve"]);
    expect(gateway!.restartPolicy).toBe("Always");
    expect(migrate!.image).toBe(gateway!.image);
    expect(gateway!.image).toMatch(/\/mcpgw:\d+\.\d+\.\d+$/);
  });

  test("probes: startup and readiness on /readyz, liveness on /healthz, on the port the gateway listens on", () => {
    const gateway = init[1]!;
    const port = gateway.ports[0];
    const listens = gateway.env.find((e: Json) => e.name === "MCPGW_PORT")?.value;
    expect(String(port.containerPort)).toBe(listens);
    expect(gateway.env.find((e: Json) => e.name === "MCPGW_HOST")?.value).toBe("0.0.0.0");
    for (const [probe, path] of [
      ["startupProbe", "/readyz"],
      ["readinessProbe", "/readyz"],
      ["livenessProbe", "/healthz"],
    ] as const) {
      expect(gateway[probe].httpGet, probe).toEqual({ path, port: port.name });
    }
  });

  test("every MCPGW_* name is a setting the gateway reads; every secret reference names a key of the Secret", () => {
    const containers: Json[] = [...init, ...pod.containers];
    for (const container of containers) {
      for (const name of mcpgwEnvNames(container.env ?? [])) expect(KNOWN, `${container.name}: ${name}`).toContain(name);
      for (const item of container.env ?? []) {
        const ref = item.valueFrom?.secretKeyRef;
        if (ref) expect(Object.keys(secret!.stringData), `${container.name}: ${item.name}`).toContain(ref.key);
      }
    }
    // The agent reaches the gateway over loopback, on its port.
    const agentUrl = pod.containers[0].env.find((e: Json) => e.name === "MCP_SERVER_URL").value;
    expect(agentUrl).toBe(`http://127.0.0.1:${init[1]!.ports[0].containerPort}/mcp`);
    // The grace period leaves the gateway its drain bound.
    const drain = Number.parseInt(init[1]!.env.find((e: Json) => e.name === "MCPGW_SHUTDOWN_TIMEOUT").value, 10);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
  });

  test("the migration Job runs migrate with the same image and database secret", () => {
    const [job] = documents("kubernetes/migrate-job.yaml");
    expect(job!.kind).toBe("Job");
    const container = job!.spec.template.spec.containers[0];
    expect(container.args).toEqual(["migrate"]);
    expect(container.image).toBe(init[0]!.image);
    expect(container.env).toEqual(init[0]!.env);
    expect(job!.spec.template.spec.restartPolicy).toBe("Never");
  });
});

describe("docs/deploy/compose.yaml", () => {
  const [compose] = documents("compose.yaml");
  const services: Json = compose!.services;

  test("postgres (healthy) → migrate (completed) → mcpgw: the gateway starts on a migrated schema", () => {
    expect(Object.keys(services).sort()).toEqual(["mcpgw", "migrate", "postgres"]);
    expect(services.postgres.healthcheck.test.join(" ")).toContain("pg_isready");
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    expect(services.mcpgw.depends_on).toEqual({ migrate: { condition: "service_completed_successfully" } });
    expect(services.migrate.restart).toBe("no");
  });

  test("migrate and the gateway: one image built from the repository's Dockerfile, commands mcpgw has", () => {
    expect(services.migrate.image).toBe(services.mcpgw.image);
    expect(services.migrate.build).toEqual({ context: "../..", dockerfile: "Dockerfile" });
    expect(readFileSync(join(DEPLOY, services.migrate.build.context, services.migrate.build.dockerfile), "utf8")).toContain(
      'ENTRYPOINT ["/usr/local/bin/mcpgw"]',
    );
    for (const name of ["migrate", "mcpgw"]) for (const word of services[name].command) expect(COMMANDS).toContain(word);
  });

  test("env names exist; both reach the postgres service with the same URL; the port is the host's loopback only", () => {
    for (const name of ["migrate", "mcpgw"])
      for (const variable of mcpgwEnvNames(services[name].environment)) expect(KNOWN, `${name}: ${variable}`).toContain(variable);
    const url = new URL(services.mcpgw.environment.MCPGW_DATABASE_URL.replace("${MCPGW_DB_PASSWORD}", "x"));
    expect(url.hostname).toBe("postgres");
    expect(url.pathname).toBe(`/${services.postgres.environment.POSTGRES_DB}`);
    expect(url.username).toBe(services.postgres.environment.POSTGRES_USER);
    expect(services.migrate.environment.MCPGW_DATABASE_URL).toBe(services.mcpgw.environment.MCPGW_DATABASE_URL);
    expect(services.mcpgw.ports).toEqual([`127.0.0.1:8080:${services.mcpgw.environment.MCPGW_PORT}`]);
    expect(services.mcpgw.environment.MCPGW_HOST).toBe("0.0.0.0");
    expect(Number.parseInt(services.mcpgw.stop_grace_period, 10)).toBeGreaterThan(Number.parseInt(services.mcpgw.environment.MCPGW_SHUTDOWN_TIMEOUT, 10));
  });
});
