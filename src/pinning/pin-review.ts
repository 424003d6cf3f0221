import { changedFields, pathDiff, visible, wordDiff } from "./definition-diff.ts";
import type { Finding, PinRecord } from "./pin-record.ts";

/** What a review of one pin shows: its status, the description's word diff, every other change by path, the findings. */
export interface PinReview {
  kind: PinRecord["kind"];
  name: string;
  status: PinRecord["status"];
  /** Why it is listed though pinned: findings no one approved. */
  unapprovedFindings?: boolean;
  fields: string[];
  description?: string;
  changes: ReturnType<typeof pathDiff>;
  findings: Finding[];
  seenAt?: number;
}

/** Records that need a person: drifted ones, and pinned ones with findings that no one approved. */
export function needsReview(record: PinRecord): boolean {
  return record.status !== "pinned" || (record.approvedBy === undefined && record.findings.length > 0);
}

/** The review of one record: pinned definition against what the backend lists now. */
export function reviewOf(record: PinRecord): PinReview {
  const before = record.pinnedDefinition;
  const after = record.status === "pinned" ? record.pinnedDefinition : record.observedDefinition;
  const descriptions = [before?.description, after?.description];
  const fields = record.status === "pinned" ? [] : changedFields(before, after);
  return {
    kind: record.kind,
    name: record.name,
    status: record.status,
    ...(record.status === "pinned" && { unapprovedFindings: true }),
    fields,
    ...(fields.includes("description") && { description: wordDiff(String(descriptions[0] ?? ""), String(descriptions[1] ?? "")) }),
    changes: pathDiff(before ?? {}, after ?? {}).filter((change) => change.path !== "description"),
    findings: record.findings,
    ...(record.observedAt !== undefined && { seenAt: record.observedAt }),
  };
}

/** The review as lines for a terminal. */
export function formatReview(review: PinReview): string[] {
  const label = review.unapprovedFindings ? "pinned on first use, with suspicious text no one approved" : review.status;
  const lines = [`${review.kind} ${review.name}: ${label}${review.seenAt ? ` (seen ${new Date(review.seenAt).toISOString()})` : ""}`];
  if (review.description !== undefined) lines.push(`  description: ${review.description}`);
  for (const change of review.changes) {
    const show = (value: unknown) => visible(JSON.stringify(value) ?? "undefined");
    if (change.change === "added") lines.push(`  + ${change.path}: ${show(change.after)}`);
    else if (change.change === "removed") lines.push(`  - ${change.path}: ${show(change.before)}`);
    else lines.push(`  ~ ${change.path}: ${show(change.before)} → ${show(change.after)}`);
  }
  for (const finding of review.findings) lines.push(`  ! ${finding.kind} in ${finding.where}: ${finding.detail}`);
  return lines;
}
