import pino from "pino";
import { type JWK, type JWTPayload, SignJWT, base64url, generateKeyPair, importJWK } from "jose";
import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "../../src/audit/auditor.ts";
import { activeKey } from "../../src/auth/signing-key.ts";
import type { Store } from "../../src/store/store.ts";

/** An Auditor that keeps what it is told, for assertions. */
export class CapturingAuditor implements Auditor {
  readonly refusals: { context: AuditContext; outcome: AuditOutcome }[] = [];
  readonly calls: { context: AuditContext; outcome?: AuditOutcome }[] = [];

  async begin(context: AuditContext): Promise<AuditEntry> {
    const call: { context: AuditContext; outcome?: AuditOutcome } = { context };
    this.calls.push(call);
    // The first outcome is kept, as every Auditor keeps it (test/auditor.contract.ts).
    return {
      finish: (outcome) => {
        call.outcome ??= outcome;
      },
    };
  }

  async refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    this.refusals.push({ context, outcome });
  }

  readonly events: { context: AuditContext; outcome: AuditOutcome }[] = [];

  async record(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    this.events.push({ context, outcome });
  }
}

/** A pino logger whose JSON lines land in `records`. */
export function capturingLogger(level = "info"): { logger: pino.Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  return { records, logger: pino({ level }, { write: (line: string) => void records.push(JSON.parse(line)) }) };
}

/** Claims of a token the gateway would accept, in epoch seconds, overridable per test. */
export function goodClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1_000)): JWTPayload {
  return { iss: "mcpgw", aud: "mcpgw", sub: "mallory", roles: [], jti: crypto.randomUUID(), iat: now, nbf: now, exp: now + 3_600, ...overrides };
}

/** Signs claims with a private JWK and the given header (alg and kid default to the key's). */
export async function signJwt(privateJwk: JWK, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const alg = (header.alg as string | undefined) ?? privateJwk.alg!;
  const key = await importJWK(privateJwk, alg);
  return new SignJWT(claims).setProtectedHeader({ alg, ...(privateJwk.kid !== undefined && { kid: privateJwk.kid }), typ: "JWT", ...header }).sign(key);
}

/** Signs with the gateway's active key, read from its database (as an insider could). */
export async function signAsGateway(store: Store, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = activeKey(await store.signingKeys.list());
  if (!key) throw new Error("the gateway has no active signing key");
  return signJwt(key.privateJwk, claims, header);
}

/** A fresh Ed25519 key pair as JWKs, with a kid of our choosing. */
export async function freshKey(kid: string, alg: "EdDSA" | "ES256" | "RS256" = "EdDSA"): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { exportJWK } = await import("jose");
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg }, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** A token with alg "none" and an empty signature. */
export function unsignedJwt(claims: JWTPayload, header: Record<string, unknown> = {}): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: "none", typ: "JWT", ...header })}.${encode(claims)}.`;
}

/** The algorithm-confusion attack: HS256 with the (public, readable) verification key as the HMAC secret. */
export async function hmacWithPublicKey(publicJwk: JWK, claims: JWTPayload, kid?: string): Promise<string> {
  const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", ...(kid !== undefined && { kid }) }).sign(secret);
}

/** An initialize request body, for raw fetches. */
export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** POSTs initialize to an MCP endpoint with an optional Authorization header. */
export function postInitialize(url: URL | string, authorization?: string, extraHeaders: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(authorization !== undefined && { authorization }),
      ...extraHeaders,
    },
    body: INITIALIZE,
  });
}
