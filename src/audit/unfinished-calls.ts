import type { Logger } from "../log/logger.ts";
import { AuditChainConflictError } from "./audit-errors.ts";
import type { AuditChain, AuditOutcomeEvent } from "./audit-record.ts";
import type { AuditRepository } from "./audit-repository.ts";
import { outcomeHash } from "./chain-hash.ts";

export interface UnfinishedCallsScan {
  self: { chainId: string; instance: string; host: string; pid: number };
  now: number;
  staleAfterMs: number;
  log: Logger;
  /** Whether a process of this host is alive (injectable for tests). */
  isAlive?: (pid: number) => boolean;
}

const PAGE = 500;

/**
 * Marks the pending calls of dead chains "incomplete": a call whose outcome never arrived because
 * its gateway stopped (crash, SIGKILL, a shutdown that outlived its drain bound). The marks are
 * outcome events appended to the dead chain itself, under the same compare-and-set on its head as
 * any append, so two gateways starting together cannot both mark it, and the chain stays one
 * unbroken sequence that `audit verify` checks like any other.
 *
 * A chain is dead when it was ended, when its heartbeat is older than staleAfterMs (whatever
 * process now has its pid: a SIGKILLed gateway's pid may live on as a zombie, or be reused), or
 * when it is a previous run of this instance (same instance name, and not a live process on this
 * host). Gateways run this at start and again every half of staleAfterMs, so a chain that goes
 * silent later is found too.
 */
export async function markUnfinishedCalls(repo: AuditRepository, scan: UnfinishedCallsScan): Promise<{ chains: number; calls: number }> {
  let chains = 0;
  let calls = 0;
  for (const chain of await repo.chainsWithPendingCalls()) {
    if (chain.chainId === scan.self.chainId) continue;
    const why = whyDead(chain, scan);
    if (why === undefined) continue;
    const marked = await markChain(repo, chain, why, scan.now);
    if (marked === undefined) {
      scan.log.info({ chain: chain.chainId }, "another gateway is marking this chain's unfinished calls");
      continue;
    }
    chains += 1;
    calls += marked;
  }
  return { chains, calls };
}

function whyDead(chain: AuditChain, scan: UnfinishedCallsScan): string | undefined {
  if (chain.endedAt !== null) return "its gateway shut down before these calls ended";
  if (chain.heartbeatAt < scan.now - scan.staleAfterMs) return `its gateway has been silent since ${new Date(chain.heartbeatAt).toISOString()}`;
  if (chain.instance === scan.self.instance) {
    const isAlive = scan.isAlive ?? pidAlive;
    // Same name on this host and a live, different process: two gateways share an instance name.
    if (chain.host === scan.self.host && chain.pid !== scan.self.pid && isAlive(chain.pid)) {
      scan.log.warn(
        { chain: chain.chainId, pid: chain.pid },
        "another running gateway on this host uses the same audit instance name; set MCPGW_AUDIT_INSTANCE to tell them apart",
      );
      return undefined;
    }
    return "its gateway (a previous run of this instance) stopped before these calls ended";
  }
  return undefined;
}

/** Appends an "incomplete" outcome for each pending call; undefined when another process got there first. */
async function markChain(repo: AuditRepository, chain: AuditChain, why: string, now: number): Promise<number | undefined> {
  let head = { seq: chain.headSeq, hash: chain.headHash };
  let marked = 0;
  for (;;) {
    const pending = await repo.pendingCalls(chain.chainId, 0, PAGE);
    if (pending.length === 0) return marked;
    let seq = head.seq;
    let prev = head.hash;
    const outcomes: AuditOutcomeEvent[] = [];
    for (const call of pending) {
      seq += 1;
      const fields = {
        status: "incomplete" as const,
        errorCode: null,
        errorMessage: `no outcome was recorded: ${why} (marked at the next start)`,
        durationMs: null,
        bytesOut: null,
        decision: null,
        rule: null,
        exchange: null,
        credentialId: null,
        finishedAt: now,
      };
      const hash = outcomeHash(chain.chainId, seq, prev, { seq: call.seq, hash: call.hash }, fields);
      outcomes.push({ ...fields, seq: call.seq, outcomeSeq: seq, outcomePrevHash: prev, outcomeHash: hash });
      prev = hash;
    }
    try {
      await repo.append({ chainId: chain.chainId, fromSeq: head.seq, head: { seq, hash: prev }, records: [], outcomes, at: now, end: true, takeover: true });
    } catch (err) {
      if (err instanceof AuditChainConflictError) return marked > 0 ? marked : undefined;
      throw err;
    }
    head = { seq, hash: prev };
    marked += outcomes.length;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as { code?: string }).code === "EPERM";
  }
}
