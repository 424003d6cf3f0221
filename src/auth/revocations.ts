import { MAX_CLOCK_SKEW_SEC } from "../config/auth-settings.ts";

/**
 * The jtis of revoked tokens, held in memory so that checking one is a Set lookup. Reloaded when
 * the "tokens" change topic moves; tokens past their expiry (plus the largest clock skew) are
 * left out, since the expiry check refuses them anyway.
 */
export class RevocationList {
  private revoked: ReadonlySet<string> = new Set();

  async load(revokedJtis: (after: number) => Promise<string[]>, now = Date.now()): Promise<void> {
    this.revoked = new Set(await revokedJtis(now - MAX_CLOCK_SKEW_SEC * 1_000));
  }

  has(jti: string): boolean {
    return this.revoked.has(jti);
  }

  get size(): number {
    return this.revoked.size;
  }
}
