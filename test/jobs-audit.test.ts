/**
 * Write-ahead audit holds for jobs too: while the audit log cannot take a run's record, no job
 * reaches its backend and none is lost; once the log takes records again, the job runs once.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { AuditUnavailableError } from "../src/audit/audit-errors.ts";
import type { AuditContext, AuditEntry } from "../src/audit/auditor.ts";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import { CapturingAuditor } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/** Takes every record except a job run's while `runsRefused` is set (as a failing audit store refuses, fail closed). */
class RunRefusingAuditor extends CapturingAuditor {
  runsRefused = true;
  refusedRuns = 0;

  override async begin(context: AuditContext): Promise<AuditEntry> {
    if (context.method === "jobs/run" && this.runsRefused) {
      this.refusedRuns += 1;
      throw new AuditUnavailableError();
    }
    return super.begin(context);
  }
}

const dir = tempDir("mcpgw-jobs-audit-");
const log = join(dir.path, "work.log");
const auditor = new RunRefusingAuditor();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    [{ name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"], env: { WORK_LOG: log } }],
    {},
    { auditor },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  dir.remove();
});

test("a job whose run cannot be audited stays queued, untouched by the backend, and runs once the audit log is back", async () => {
  const response = await fetch(`${gw.base}/v1/jobs`, {
    method: "POST",
    body: JSON.stringify({ backend: "work", tool: "work", arguments: { key: "audited" } }),
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as JobView;
  const view = async () => (await (await fetch(`${gw.base}/v1/jobs/${id}`)).json()) as JobView;
  await Bun.sleep(1_500);
  // Claimed and given back, with pauses in between rather than a busy loop.
  expect(auditor.refusedRuns).toBeGreaterThanOrEqual(1);
  expect(auditor.refusedRuns).toBeLessThanOrEqual(3);
  expect(await view()).toMatchObject({ status: "queued", attempts: 0 });
  expect(() => readFileSync(log, "utf8")).toThrow();

  auditor.runsRefused = false;
  let job = await view();
  for (let i = 0; i < 100 && job.status !== "completed"; i++) {
    await Bun.sleep(50);
    job = await view();
  }
  expect(job).toMatchObject({ status: "completed", attempts: 1 });
  expect(
    readFileSync(log, "utf8")
      .split("\n")
      .filter((line) => line === "start audited"),
  ).toHaveLength(1);
  const run = auditor.calls.find((call) => call.context.method === "jobs/run" && call.context.requestId === id);
  expect(run?.outcome?.status).toBe("ok");
});
