import { splitName } from "../pipeline/aggregate-names.ts";
import type { SessionRoute } from "../pipeline/caller-session.ts";

/**
 * Which backend tools require to be run as tasks (`execution.taskSupport: "required"`), as the
 * backends' tools/list answers said when they passed through the gateway. 2026-07-28 lets the
 * server decide which calls become tasks; the gateway decides by this (modern-task-methods.ts).
 * A tool not listed yet counts as not requiring: its call goes directly, as before.
 */
export class ToolTaskSupport {
  private readonly required = new Set<string>();

  /** Records a tools/list page as the client got it on `route` (names prefixed on /mcp). */
  record(route: SessionRoute, tools: unknown): void {
    if (!Array.isArray(tools)) return;
    for (const tool of tools as { name?: unknown; execution?: { taskSupport?: unknown } }[]) {
      if (typeof tool?.name !== "string") continue;
      const target = route.kind === "backend" ? { backend: route.backend, name: tool.name } : splitName(tool.name);
      if (!target) continue;
      const key = `${target.backend}/${target.name}`;
      if (tool.execution?.taskSupport === "required") this.required.add(key);
      else this.required.delete(key);
    }
  }

  requires(backend: string, tool: string): boolean {
    return this.required.has(`${backend}/${tool}`);
  }
}
