import type { SigningKeyRecord } from "../auth/signing-key.ts";
import { activeKey } from "../auth/signing-key.ts";
import type { SpentRequestStates } from "../store/store.ts";

/**
 * Sealing of the `requestState` the gateway hands a 2026-07-28 client in an `input_required`
 * result (basic/patterns/mrtr: state that influences authorization MUST be integrity-protected;
 * it SHOULD be bound to the principal, a TTL and the original request). The client holds it
 * between rounds and may present it to any replica, so it is sealed with AES-256-GCM under a
 * key every replica can derive: HKDF over the private half of the gateway's signing key (kept in
 * the shared store), named by the key's kid in the sealed text. Encryption, not only a MAC: the
 * state carries the answers the client gave so far, which are the client's own business.
 *
 * Sealed form: `mcpgw-rs1.<kid>.<iv>.<ciphertext>`, each part base64url.
 *
 * A state is good for one retry. Which states were presented is kept in the store (spend), not in
 * memory, so a state answered on one replica cannot be replayed on another.
 */
const PREFIX = "mcpgw-rs1";
const INFO = new TextEncoder().encode("mcpgw requestState v1");

/** Why a presented requestState is not accepted (each a clear error for the client). */
export class RequestStateError extends Error {}

/** What every state the gateway seals binds: itself, its exchange, the caller, the backend, the request, a deadline. */
export interface BoundState {
  /** This state's own id: each is accepted once. */
  id: string;
  /** The input_required exchange: the same for every round of one logical call. */
  exchange: string;
  sub: string;
  backend: string;
  /** requestDigest of the request that got the state. */
  digest: string;
  exp: number;
}

export class RequestStateSealer {
  private readonly derived = new Map<string, Promise<CryptoKey>>();
  private records: readonly SigningKeyRecord[] = [];
  private loadedAt = 0;

  /**
   * `loadKeys` reads the signing keys (the store); they are re-read at most every few seconds, and
   * when a kid is unknown. `spent` records the states presented, shared by every replica.
   */
  constructor(
    private readonly loadKeys: () => Promise<readonly SigningKeyRecord[]>,
    private readonly spent: SpentRequestStates,
  ) {}

  /** Marks the state with this id presented; a RequestStateError when it was presented before (a replay). */
  async spend(id: string, expiresAt: number): Promise<void> {
    if (!(await this.spent.spend(id, expiresAt))) throw new RequestStateError("requestState was already used: each input_required result is answered once");
  }

  async seal(payload: object): Promise<string> {
    const records = await this.keys(false);
    const key = activeKey([...records]);
    if (!key) throw new Error("no active signing key to seal a requestState with (mcpgw key rotate)");
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await this.aesKey(key), new TextEncoder().encode(JSON.stringify(payload)));
    return [PREFIX, key.kid, Buffer.from(iv).toString("base64url"), Buffer.from(sealed).toString("base64url")].join(".");
  }

  /**
   * The payload of a state presented by `sub` for a request to `backend` with `digest`; a
   * RequestStateError when it was not sealed by this gateway, was altered, has expired, or was
   * issued to another caller or for another request. (Whether it was used before is `spend`'s.)
   */
  async openBound<T extends BoundState>(text: unknown, expected: Pick<BoundState, "sub" | "backend" | "digest">): Promise<T> {
    const state = (await this.open(text)) as unknown as T;
    if (state.exp < Date.now()) throw new RequestStateError("requestState has expired: make the call again without it");
    if (state.sub !== expected.sub) throw new RequestStateError("requestState was issued to another caller");
    if (state.backend !== expected.backend || state.digest !== expected.digest) {
      throw new RequestStateError("requestState belongs to another request: retry with the same method and params as the call that returned it");
    }
    return state;
  }

  /** The payload of a sealed state; a RequestStateError when it is not one this gateway sealed, or was altered. */
  async open(text: unknown): Promise<Record<string, unknown>> {
    if (typeof text !== "string") throw new RequestStateError("requestState must be the string the gateway returned");
    const [prefix, kid, iv, data, extra] = text.split(".");
    if (prefix !== PREFIX || !kid || !iv || !data || extra !== undefined)
      throw new RequestStateError("requestState was not issued by this gateway (pass it back unchanged)");
    let record = (await this.keys(false)).find((k) => k.kid === kid);
    record ??= (await this.keys(true)).find((k) => k.kid === kid);
    if (!record) throw new RequestStateError("requestState was sealed with a key this gateway no longer has; call again without it");
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: Buffer.from(iv, "base64url") },
        await this.aesKey(record),
        Buffer.from(data, "base64url"),
      );
      return JSON.parse(new TextDecoder().decode(plain)) as Record<string, unknown>;
    } catch {
      throw new RequestStateError("requestState does not verify: it was altered, or not issued by this gateway");
    }
  }

  private async keys(fresh: boolean): Promise<readonly SigningKeyRecord[]> {
    if (fresh || Date.now() - this.loadedAt > 5_000) {
      this.records = await this.loadKeys();
      this.loadedAt = Date.now();
    }
    return this.records;
  }

  private aesKey(record: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.derived.get(record.kid);
    if (!key) {
      key = (async () => {
        const secret = record.privateJwk.d;
        if (typeof secret !== "string") throw new Error(`signing key ${record.kid} has no private part to derive a sealing key from`);
        const material = await crypto.subtle.importKey("raw", Buffer.from(secret, "base64url"), "HKDF", false, ["deriveKey"]);
        return crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode(record.kid), info: INFO },
          material,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        );
      })();
      this.derived.set(record.kid, key);
    }
    return key;
  }
}

/**
 * A digest of what identifies a request across the rounds of its exchange: the method and its
 * params, keys sorted, without _meta and without what changes from round to round (the answers
 * and the state).
 */
export async function requestDigest(method: string, params: Record<string, unknown>): Promise<string> {
  const { _meta, inputResponses, requestState, ...rest } = params;
  const bytes = new TextEncoder().encode(JSON.stringify([method, sorted(rest)]));
  return Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("base64url");
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}
