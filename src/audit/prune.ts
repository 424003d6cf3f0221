import { McpgwError } from "../errors.ts";
import type { AuditRepository } from "./audit-repository.ts";
import { verifyChain } from "./verify-chains.ts";

/** What pruning one chain would remove: its events after the current checkpoint up to `toSeq`. */
export interface PruneStep {
  chainId: string;
  fromSeq: number;
  toSeq: number;
  records: number;
}

/**
 * What `audit prune --before` would remove from each chain. A chain can only lose a prefix (so
 * verification can start from a checkpoint): it stops before the first record that is still open
 * or finished at or after `before`, and before any record whose outcome lies beyond that point.
 */
export async function planPrune(repo: AuditRepository, before: number): Promise<PruneStep[]> {
  const steps: PruneStep[] = [];
  for (const chainId of await repo.chainIds()) {
    const fromSeq = (await repo.checkpoint(chainId))?.seq ?? 0;
    const toSeq = await repo.prunablePrefix(chainId, before);
    if (toSeq <= fromSeq) continue;
    steps.push({ chainId, fromSeq, toSeq, records: await repo.countUpTo(chainId, toSeq) });
  }
  return steps;
}

/** A chain that fails verification is never pruned: that would destroy the evidence of tampering. */
export class BrokenChainError extends McpgwError {}

/**
 * Prunes each planned chain prefix after verifying it, leaving a checkpoint (the hash of the last
 * removed event) from which `audit verify` continues. Every step is checked before anything is
 * removed; a broken chain stops the whole prune.
 */
export async function executePrune(repo: AuditRepository, steps: PruneStep[], before: number, now: number): Promise<{ chains: number; records: number }> {
  const hashes: string[] = [];
  for (const step of steps) {
    const report = await verifyChain(repo, step.chainId, { upTo: step.toSeq });
    const hash = report.ok ? await repo.eventHash(step.chainId, step.toSeq) : undefined;
    if (!report.ok || hash === undefined) {
      const at = report.break ? ` at seq ${report.break.seq} (${report.break.problem}: ${report.break.detail})` : "";
      throw new BrokenChainError(
        `audit chain ${step.chainId} is broken${at}; pruning it would destroy the evidence, so nothing was pruned`,
        "run mcpgw audit verify, investigate, and export the log (mcpgw audit export) before pruning",
      );
    }
    hashes.push(hash);
  }
  let records = 0;
  for (const [i, step] of steps.entries()) records += await repo.pruneTo(step.chainId, { seq: step.toSeq, hash: hashes[i]! }, before, now);
  return { chains: steps.length, records };
}
