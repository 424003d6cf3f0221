import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./cli.ts";
import { BUN } from "./gateway.ts";

export const DRIFT_SERVER = join(REPO_ROOT, "test/fixtures/drift-server.ts");

/** A tool definition as the drift fixture lists it. */
export interface DriftTool {
  name: string;
  description: string;
  inputSchema?: Record<string, unknown>;
}

/** A resource template as the drift fixture lists it. */
export interface DriftTemplate {
  name: string;
  uriTemplate: string;
  description: string;
}

/** The definitions file of a drift fixture (test/fixtures/drift-server.ts): rewriting it is a rug pull, with list_changed. */
export class DriftDefinitions {
  constructor(readonly path: string) {}

  write(tools: DriftTool[], prompts: { name: string; description: string }[] = [], resourceTemplates: DriftTemplate[] = []): void {
    writeFileSync(this.path, JSON.stringify({ tools, prompts, resourceTemplates }));
  }

  /** The fixture's stdio command and environment. */
  stdio(): { command: string[]; env: Record<string, string> } {
    return { command: [BUN, DRIFT_SERVER, "--stdio"], env: { DRIFT_FILE: this.path } };
  }
}
