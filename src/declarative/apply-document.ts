import type { DeclarativeRepository } from "./declarative-repository.ts";
import type { Change, GatewayState } from "./gateway-state.ts";
import { checkReferences, planChanges } from "./plan-changes.ts";
import type { DeclarativeDocument } from "./read-document.ts";
import { writeDocument } from "./write-document.ts";

/** The part of the store apply and export use. */
type DeclarativeStore = { readonly declarative: DeclarativeRepository };

/**
 * Makes the database match a document, in one transaction, and returns what changed (empty: it
 * already matched). With dryRun the same plan is computed from a snapshot and nothing is written.
 * A binding naming a role that will not exist is a DocumentInvalidError, found before any write.
 */
export async function applyDocument(
  store: DeclarativeStore,
  document: DeclarativeDocument,
  options: { dryRun?: boolean; now?: number } = {},
): Promise<Change[]> {
  const plan = (current: GatewayState): Change[] => {
    const problems = checkReferences(document.roleReferences, current, document.desired);
    if (problems.length > 0) throw document.invalid(problems);
    return planChanges(current, document.desired, { now: options.now ?? Date.now() });
  };
  if (options.dryRun) return plan(await store.declarative.snapshot());
  return store.declarative.apply(plan);
}

/** The current roles, grants, backends and limits as a document that `mcpgw apply` reads back as a no-op. */
export async function exportDocument(store: DeclarativeStore): Promise<{ text: string; state: GatewayState }> {
  const state = await store.declarative.snapshot();
  return { text: writeDocument(state), state };
}
