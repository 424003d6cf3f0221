import { describe, expect, test } from "vitest";
import { calculateJwkThumbprint } from "jose";
import { generateSigningKey } from "./signing-keys.ts";

describe("signing keys", () => {
  test("a kid is the key's thumbprint and never starts with '-' (it would read as an option: mcpgw key retire KID)", async () => {
    // A thumbprint starts with "-" once in 64 draws; 400 draws all miss it by chance once in about 500 runs.
    const keys = await Promise.all(Array.from({ length: 400 }, () => generateSigningKey("EdDSA")));
    expect(keys.filter((key) => key.kid.startsWith("-")).map((key) => key.kid)).toEqual([]);
    const { kid: _kid, alg: _alg, use: _use, ...jwk } = keys[0]!.publicJwk;
    expect(await calculateJwkThumbprint(jwk)).toBe(keys[0]!.kid);
  });
});
