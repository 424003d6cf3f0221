import type { SessionSnapshot } from "./session-view.ts";

/** Where running gateways publish their sessions: one row per gateway process. */
export interface SessionSnapshotRepository {
  /** Writes the instance's snapshot, replacing the one it wrote before. */
  put(snapshot: SessionSnapshot): Promise<void>;
  /** Confirms an unchanged snapshot (moves publishedAt); false when the row is gone, so the caller puts it again. */
  touch(instance: string, publishedAt: number): Promise<boolean>;
  /** Removes the instance's snapshot (clean shutdown). */
  remove(instance: string): Promise<void>;
  /** Removes snapshots last published before `before` (gateways that died without removing theirs); returns how many. */
  removePublishedBefore(before: number): Promise<number>;
  /** Every snapshot, oldest gateway first. */
  list(): Promise<SessionSnapshot[]>;
}
