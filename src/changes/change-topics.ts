/** Topics whose version a write bumps, so running gateways know to reload that part. */
export const CHANGE_TOPICS = ["backends", "policy", "tokens", "limits", "keys", "pins", "secrets"] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

/**
 * Where a part of the gateway registers the reload of what it keeps in memory (src/store/change-watcher.ts
 * implements it over the store's change counter). Domains depend on this, not on the store.
 */
export interface ChangeSource {
  /** Registers a reload; it runs once at start and again whenever the topic's version moves. */
  on(topic: ChangeTopic, reload: () => Promise<void>): void;
}
