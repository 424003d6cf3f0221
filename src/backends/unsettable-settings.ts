/** Settings `backend update --unset` (and the admin API's `unset`) return to their defaults; its own module so the CLI's help loads nothing else. */
export const UNSETTABLE_SETTINGS = [
  "env",
  "header",
  "timeout",
  "transport",
  "max-concurrency",
  "max-queue",
  "max-body",
  "max-response",
  "max-processes",
  "idempotent-tool",
  "auth",
] as const;
export type UnsettableSetting = (typeof UNSETTABLE_SETTINGS)[number];
