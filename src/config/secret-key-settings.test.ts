import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { ConfigError } from "../errors.ts";
import { tempDir } from "../../test/helpers/temp-dir.ts";
import { resolveSecretKeySettings } from "./secret-key-settings.ts";

const KEY = Buffer.alloc(32, 7).toString("base64");
const OTHER = Buffer.alloc(32, 9).toString("base64");

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("MCPGW_SECRET_KEY", () => {
  test("none is fine (only per-subject secrets need it); a key from the variable or a file; the id names it, never the material", () => {
    expect(resolveSecretKeySettings({})).toEqual({});
    const fromValue = resolveSecretKeySettings({ secretKey: KEY }).current!;
    expect(fromValue.id).toMatch(/^[0-9a-f]{16}$/);
    const dir = tempDir("mcpgw-key-");
    try {
      writeFileSync(join(dir.path, "key"), `${KEY}\n`);
      expect(resolveSecretKeySettings({ secretKeyFile: join(dir.path, "key") }).current!.id).toBe(fromValue.id);
    } finally {
      dir.remove();
    }
    // Settings may be printed or logged: the key shows as its id only.
    const shown = `${JSON.stringify(resolveSecretKeySettings({ secretKey: KEY, secretKeyOld: OTHER }))} ${inspect(fromValue)}`;
    expect(shown).toContain(fromValue.id);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(OTHER);
    expect(shown).not.toContain(Buffer.alloc(32, 7).toString("hex"));
  });

  test("a malformed key, or an old one without a new one, is a ConfigError saying how to make a key, never repeating the value", () => {
    const short = configError(() => resolveSecretKeySettings({ secretKey: "c2hvcnQta2V5" }));
    expect(short.message).toBe("MCPGW_SECRET_KEY is not a base64 key of 32 bytes (it decodes to 9)");
    expect(short.hint).toMatch(/openssl rand -base64 32/);
    expect(configError(() => resolveSecretKeySettings({ secretKey: "not base64 at all!" })).message).not.toContain("not base64 at all");
    expect(configError(() => resolveSecretKeySettings({ secretKeyOld: KEY })).message).toMatch(/MCPGW_SECRET_KEY_OLD is set without MCPGW_SECRET_KEY/);
    expect(configError(() => resolveSecretKeySettings({ secretKey: KEY, secretKeyFile: "/x" })).message).toMatch(/both/);
    expect(configError(() => resolveSecretKeySettings({ secretKeyFile: "/no/such/key" })).message).toMatch(/cannot read \/no\/such\/key/);
  });
});
