import type { BackendSpec } from "./backend-spec.ts";
import { assertNever } from "../assert-never.ts";
import { McpgwError } from "../errors.ts";
import { DEFAULT_AUTH_HEADER, type GatewayAssertionAuth, type SubjectSecretAuth } from "../credentials/backend-auth.ts";
import type { SubjectSecretSource } from "../credentials/subject-secrets.ts";
import type { BoundCredential, CredentialCaller } from "../credentials/bound-credential.ts";
import { currentCall } from "../credentials/call-context.ts";
import type { GatewayAssertionSigner } from "../auth/gateway-assertion.ts";
import { ExchangeCache } from "../credentials/exchange-cache.ts";
import { crossedCallerError } from "./credential-errors.ts";
import { tokenExchangeCredential } from "./exchange-credential.ts";

export interface CredentialSources {
  /** Signs gateway assertions; without it a gateway-assertion backend cannot be bound (fails closed). */
  assertions?: GatewayAssertionSigner;
  /** Callers' stored secrets; without it a per-subject-secret backend cannot be bound (fails closed). */
  secrets?: SubjectSecretSource;
  /** The gateway's environment, for a token exchange's `--client-secret ${VAR}`. */
  env?: Record<string, string | undefined>;
}

/**
 * Binds backend specs to callers. A static backend's spec is returned as it is (one connection
 * for everyone, as before); a per-caller backend's is copied with the caller's credential, once
 * per spec and credential key, so that the pool's and the sessions' identity checks
 * (`connection.spec === spec`) hold, and connections are keyed by credential.
 */
export class CredentialBinder {
  private readonly bound = new WeakMap<BackendSpec, Map<string, BackendSpec>>();
  /** Tokens exchanged for callers (--auth token-exchange), shared by every backend and connection. */
  private readonly exchanged = new ExchangeCache();

  constructor(private readonly sources: CredentialSources) {}

  /** The spec as `caller` uses it. Without a caller a per-caller spec stays unbound, and connecting it fails (noCallerError). */
  bind(spec: BackendSpec, caller: CredentialCaller | undefined): BackendSpec {
    if (!spec.auth || !caller || spec.credential) return spec;
    const key = `${spec.auth.mode}\u0000${caller.subject}\u0000${[...caller.roles].sort().join("\u0000")}`;
    let byKey = this.bound.get(spec);
    if (!byKey) {
      byKey = new Map();
      this.bound.set(spec, byKey);
    }
    let bound = byKey.get(key);
    if (!bound) {
      bound = { ...spec, credential: this.credential(spec, spec.auth, key, caller) };
      byKey.set(key, bound);
    }
    return bound;
  }

  private credential(spec: BackendSpec, auth: NonNullable<BackendSpec["auth"]>, key: string, caller: CredentialCaller): BoundCredential {
    switch (auth.mode) {
      case "gateway-assertion":
        return this.assertion(spec, auth, key, caller);
      case "token-exchange":
        return tokenExchangeCredential(spec, auth, key, caller, { cache: this.exchanged, env: this.sources.env ?? {} });
      case "per-subject-secret":
        return this.subjectSecret(spec, auth, key, caller);
      default:
        return assertNever(auth);
    }
  }

  private assertion(spec: BackendSpec, auth: GatewayAssertionAuth, key: string, caller: CredentialCaller): BoundCredential {
    const signer = this.sources.assertions;
    const header = auth.header ?? DEFAULT_AUTH_HEADER;
    const audience = auth.audience ?? spec.url ?? spec.name;
    const subject = caller.subject;
    return {
      mode: "gateway-assertion",
      key,
      subject,
      async headers() {
        if (!signer) throw new McpgwError(`backend "${spec.name}" takes gateway assertions, and this process cannot sign them`, "call it through mcpgw serve");
        const call = currentCall();
        // A connection speaks for one caller; a call of anyone else's on it is a routing bug: fail it, never send.
        if (call && call.subject !== subject) throw crossedCallerError(spec.name);
        const jti = crypto.randomUUID();
        const token = await signer.sign({ audience, subject, roles: call?.roles ?? caller.roles, jti, ...(call && { callId: call.id }) });
        if (call) call.credentialId = jti;
        return { [header]: header.toLowerCase() === "authorization" ? `Bearer ${token}` : token };
      },
    };
  }

  private subjectSecret(spec: BackendSpec, auth: SubjectSecretAuth, key: string, caller: CredentialCaller): BoundCredential {
    const secrets = this.sources.secrets;
    const header = auth.header ?? DEFAULT_AUTH_HEADER;
    const subject = caller.subject;
    const resolve = () => {
      if (!secrets) throw new McpgwError(`backend "${spec.name}" takes per-subject secrets, and this process cannot read them`, "call it through mcpgw serve");
      return secrets.resolve(spec.name, subject);
    };
    return {
      mode: "per-subject-secret",
      key,
      subject,
      async prepare() {
        await resolve();
      },
      async headers() {
        const call = currentCall();
        if (call && call.subject !== subject) throw crossedCallerError(spec.name);
        // Read per request (cached in memory until a secret changes): a secret set again applies to the next request.
        const { value, secretId } = await resolve();
        if (call) call.credentialId = secretId;
        return { [header]: header.toLowerCase() === "authorization" ? `Bearer ${value}` : value };
      },
    };
  }
}

/** A per-caller backend reached on a path that knows no caller: nothing is sent. */
export function noCallerError(spec: BackendSpec): McpgwError {
  return new McpgwError(
    `backend "${spec.name}" takes per-caller credentials (--auth ${spec.auth?.mode}), and this connection has no caller to speak for`,
    "call it as an authenticated caller (a session, a stateless request or a job); for mcpgw backend test use --no-test or mcpgw call --as SUBJECT",
  );
}
