import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError, describeError } from "../errors.ts";
import { type EnvSettings, variableName } from "./env.ts";

/** AES-256: the key is 32 bytes. */
export const SECRET_KEY_BYTES = 32;
const MAKE_ONE = "make one with: openssl rand -base64 32";

/**
 * A key that encrypts per-subject secrets (src/credentials/secret-cipher.ts). The material is held
 * in a private field and never serialised (JSON, logs, inspection show the id only), so settings
 * can be printed or logged without leaking it.
 */
export class SecretKey {
  readonly #material: Uint8Array;
  /** Stored beside each row it encrypts: the first 16 hex digits of the key's SHA-256 (says which key, reveals nothing of it). */
  readonly id: string;

  constructor(material: Uint8Array) {
    this.#material = material;
    this.id = createHash("sha256").update(material).digest("hex").slice(0, 16);
  }

  /** The raw key, for the cipher only. */
  material(): Uint8Array {
    return this.#material;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `SecretKey(${this.id})`;
  }
}

/** The keys for per-subject secrets: the current one encrypts; the previous one (during a rotation) only decrypts. */
export interface SecretKeySettings {
  /** MCPGW_SECRET_KEY or MCPGW_SECRET_KEY_FILE; absent: per-subject secrets cannot be used (their calls fail, saying how to set one). */
  current?: SecretKey;
  /** MCPGW_SECRET_KEY_OLD or MCPGW_SECRET_KEY_OLD_FILE: the key being rotated away from (mcpgw secret rekey). */
  previous?: SecretKey;
}

/** Reads the secret keys from the environment (a key file is read now); a malformed key is a ConfigError saying how to make one. */
export function resolveSecretKeySettings(env: EnvSettings): SecretKeySettings {
  const current = readKey(env, "secretKey", "secretKeyFile");
  const previous = readKey(env, "secretKeyOld", "secretKeyOldFile");
  if (previous && !current) {
    throw new ConfigError(
      `${variableName("secretKeyOld")} is set without ${variableName("secretKey")}`,
      `the old key only decrypts during a rotation: set the new key in ${variableName("secretKey")} (${MAKE_ONE})`,
    );
  }
  return { ...(current && { current }), ...(previous && previous.id !== current?.id && { previous }) };
}

function readKey(env: EnvSettings, valueKey: "secretKey" | "secretKeyOld", fileKey: "secretKeyFile" | "secretKeyOldFile"): SecretKey | undefined {
  const value = env[valueKey];
  const file = env[fileKey];
  if (value !== undefined && file !== undefined) {
    throw new ConfigError(`both ${variableName(valueKey)} and ${variableName(fileKey)} are set`, "set one of them");
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`${variableName(fileKey)}: cannot read ${file}: ${describeError(err)}`, `make it readable by the gateway's user, or ${MAKE_ONE}`);
    }
    return parseKey(text.trim(), `${variableName(fileKey)} (${file})`);
  }
  return value === undefined ? undefined : parseKey(value.trim(), variableName(valueKey));
}

/** A base64 (or base64url) text of exactly 32 bytes; the error never repeats the value. */
export function parseKey(text: string, source: string): SecretKey {
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64") : undefined;
  if (!bytes || bytes.length !== SECRET_KEY_BYTES) {
    throw new ConfigError(`${source} is not a base64 key of ${SECRET_KEY_BYTES} bytes${bytes ? ` (it decodes to ${bytes.length})` : ""}`, `${MAKE_ONE}`);
  }
  return new SecretKey(new Uint8Array(bytes));
}

/** The error of a command or call that needs the key when none is set. */
export function noSecretKeyError(what: string): ConfigError {
  return new ConfigError(
    `${what} needs the key that encrypts per-subject secrets, and none is set`,
    `set ${variableName("secretKey")} (${MAKE_ONE}) or ${variableName("secretKeyFile")} in the environment of mcpgw (the same key everywhere it runs)`,
  );
}
