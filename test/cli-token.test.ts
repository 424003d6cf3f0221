import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { type CliResult, runCli } from "./helpers/cli.ts";
import { type StoreFixture, postgresStoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";

/** A database for one suite: a SQLite file or a Postgres schema of its own. */
type Database = Pick<StoreFixture, "url" | "cleanup">;

tokenCliSuite("sqlite", () => sqliteStoreFixture("cli_token"));
tokenCliSuite("postgres", () => postgresStoreFixture("cli_token"));

interface IssuedJson {
  token: string;
  jti: string;
  subject: string;
  roles: string[];
  issuedAt: string;
  expiresAt: string;
  status: string;
  kid: string;
  issuer: string;
  audience: string;
}

/** `mcpgw token …` and `mcpgw key …`, driven through the real program against one database. */
function tokenCliSuite(label: string, setup: () => Promise<Database | undefined>): void {
  describe(`mcpgw token and key (${label})`, () => {
    let database: Database | undefined;
    const outputs: CliResult[] = [];
    const tokens: string[] = [];

    async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
      const result = await runCli(["--db", database!.url, ...args], { env });
      outputs.push(result);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      return result;
    }

    beforeAll(async () => {
      database = await setup();
      // Commands use a database; they do not set one up (an operator runs migrate or init first).
      if (database) expect((await runCli(["migrate", "--db", database.url])).code).toBe(0);
      // Tokens carry roles that exist (token issue refuses others).
      for (const role of ["dev", "ops"])
        if (database) expect((await runCli(["role", "create", role, "--allow", `${role}/*`, "--db", database.url])).code).toBe(0);
    });
    afterAll(async () => database?.cleanup());

    test("key list on a fresh database says how the first key comes to be", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["key", "list"]);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout).toContain("no signing keys yet");
      expect(JSON.parse((await cli(["key", "list", "--json"])).stdout)).toEqual([]);
    });

    test("token issue prints the JWT alone on stdout, with every claim the gateway checks", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["token", "issue", "--sub", "alice", "--role", "dev", "--role", "ops", "--ttl", "2h", "--description", "laptop"]);
      expect(result.code, result.stderr).toBe(0);
      const token = result.stdout.trim();
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      tokens.push(token);
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: "EdDSA", typ: "JWT", kid: expect.any(String) });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({ iss: "mcpgw", aud: "mcpgw", sub: "alice", roles: ["dev", "ops"], jti: expect.any(String) });
      expect(claims.nbf).toBe(claims.iat);
      expect(claims.exp! - claims.iat!).toBe(7_200);
      expect(result.stderr).toContain(`issued token ${claims.jti} for "alice" with roles dev, ops`);
      expect(result.stderr).toContain(`mcpgw token revoke ${claims.jti}`);
    });

    test("token issue --json, with the issuer and audience from MCPGW_TOKEN_ISSUER/AUDIENCE", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["token", "issue", "--sub", "bot", "--json"], {
        MCPGW_TOKEN_ISSUER: "https://mcp.example.com",
        MCPGW_TOKEN_AUDIENCE: "gw-prod",
      });
      expect(result.code, result.stderr).toBe(0);
      const issued = JSON.parse(result.stdout) as IssuedJson;
      tokens.push(issued.token);
      expect(issued).toMatchObject({ subject: "bot", roles: [], status: "active", issuer: "https://mcp.example.com", audience: "gw-prod" });
      expect(decodeJwt(issued.token)).toMatchObject({ iss: "https://mcp.example.com", aud: "gw-prod", jti: issued.jti });
      expect(Date.parse(issued.expiresAt) - Date.parse(issued.issuedAt)).toBe(3_600_000); // default 1h
      expect(decodeProtectedHeader(issued.token).kid).toBe(issued.kid);
    });

    test("token list shows subject, roles, expiry and status, never the token", async (context) => {
      if (!database) return context.skip();
      const table = await cli(["token", "list"]);
      expect(table.code).toBe(0);
      expect(table.stdout.split("\n")[0]).toMatch(/^JTI\s+SUBJECT\s+ROLES\s+ISSUED\s+EXPIRES\s+STATUS\s+DESCRIPTION$/);
      expect(table.stdout).toMatch(/alice\s+dev,ops\s+\S+\s+\S+\s+active\s+laptop/);
      const listed = JSON.parse((await cli(["token", "list", "--json"])).stdout) as { subject: string; status: string }[];
      expect(listed.map((t) => t.subject).sort()).toEqual(["alice", "bot"]);
      for (const output of [table.stdout, JSON.stringify(listed)]) for (const token of tokens) expect(output).not.toContain(token.split(".")[2]);
    });

    test("token revoke marks the token revoked; again is a no-op; an unknown jti fails with exit 1", async (context) => {
      if (!database) return context.skip();
      const jti = decodeJwt(tokens[0]!).jti!;
      const revoked = await cli(["token", "revoke", jti]);
      expect(revoked).toMatchObject({ code: 0 });
      expect(revoked.stdout).toContain(`revoked token ${jti}`);
      expect((await cli(["token", "revoke", jti])).stdout).toContain("was already revoked");
      const listed = JSON.parse((await cli(["token", "list", "--json"])).stdout) as { jti: string; status: string; revokedAt?: string }[];
      expect(listed.find((t) => t.jti === jti)).toMatchObject({ status: "revoked", revokedAt: expect.any(String) });
      const unknown = await cli(["token", "revoke", "no-such-jti"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('there is no token with jti "no-such-jti"');
      expect(unknown.stderr).toContain("→ list the tokens with: mcpgw token list");
    });

    test("token issue refuses a role that does not exist (exit 1) and records no token", async (context) => {
      if (!database) return context.skip();
      const before = (JSON.parse((await cli(["token", "list", "--json"])).stdout) as unknown[]).length;
      const refused = await cli(["token", "issue", "--sub", "alice", "--role", "dev", "--role", "dve"]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain('error: no role named "dve"');
      expect(refused.stderr).toContain("→ mcpgw role list shows the roles; mcpgw role create dve --allow 'BACKEND/TOOL' makes one");
      expect((JSON.parse((await cli(["token", "list", "--json"])).stdout) as unknown[]).length).toBe(before);
      // client config refuses it with the same check.
      const config = await cli(["client", "config", "--client", "cursor", "--sub", "alice", "--role", "dve"]);
      expect(config.code).toBe(1);
      expect(config.stderr).toContain('error: no role named "dve"');
    });

    test("token revoke --all-for revokes every live token of a subject, after saying how many; without a terminal it needs --yes", async (context) => {
      if (!database) return context.skip();
      for (const ttl of ["1h", "2h"])
        expect((await cli(["token", "issue", "--sub", "mallory", "--role", "dev", "--ttl", ttl, "--description", `laptop ${ttl}`])).code).toBe(0);
      const mine = async () =>
        (JSON.parse((await cli(["token", "list", "--json"])).stdout) as { jti: string; subject: string; status: string }[]).filter(
          (t) => t.subject === "mallory",
        );
      const jtis = (await mine()).map((t) => t.jti).sort();

      const refused = await cli(["token", "revoke", "--all-for", "mallory"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('error: revoke 2 live tokens of "mallory" needs confirmation, and stdin is not a terminal');
      for (const jti of jtis) expect(refused.stderr).toContain(`revoke ${jti}`);
      expect(refused.stderr).toContain("→ pass --yes to go ahead without asking: mcpgw token revoke --all-for mallory --yes");
      expect((await mine()).map((t) => t.status)).toEqual(["active", "active"]);

      const revoked = await cli(["token", "revoke", "--all-for", "mallory", "--yes"]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`revoked 2 tokens of "mallory" (running gateways refuse them within a second): ${jtis.join(", ")}\n`);
      expect((await mine()).map((t) => t.status)).toEqual(["revoked", "revoked"]);
      const again = await cli(["token", "revoke", "--all-for", "mallory"]);
      expect(again).toMatchObject({ code: 0, stdout: '"mallory" has no live tokens: nothing to revoke (mcpgw token list shows every token)\n' });
    });

    test.for<[string, string[], Record<string, string>, RegExp]>([
      ["no --sub", ["token", "issue"], {}, /required option '--sub <subject>' not specified/],
      ["a blank --sub", ["token", "issue", "--sub", " "], {}, /is not a valid subject/],
      ["a --ttl that is no duration", ["token", "issue", "--sub", "a", "--ttl", "soon"], {}, /--ttl: "soon" is not a duration/],
      ["a --ttl over 366d", ["token", "issue", "--sub", "a", "--ttl", "400d"], {}, /--ttl "400d" is out of range/],
      ["a bad --role", ["token", "issue", "--sub", "a", "--role", "has space"], {}, /"has space" is not a valid role name/],
      ["a short MCPGW_JWT_SECRET", ["token", "list"], { MCPGW_JWT_SECRET: "too-short" }, /MCPGW_JWT_SECRET is 9 bytes long; HS256 needs at least 32/],
      ["an unknown MCPGW_SIGNING_ALG", ["key", "rotate"], { MCPGW_SIGNING_ALG: "HS256" }, /MCPGW_SIGNING_ALG: "HS256" is not one of EdDSA, ES256/],
      ["a missing revoke argument", ["token", "revoke"], {}, /say which tokens: a JTI, or --all-for SUBJECT/],
      ["both a jti and --all-for", ["token", "revoke", "some-jti", "--all-for", "alice"], {}, /say which tokens: a JTI, or --all-for SUBJECT \(not both\)/],
    ])("%s is a usage error (exit 2) that says what to do", async ([_label, args, env, message], context) => {
      if (!database) return context.skip();
      const result = await cli(args, env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/→|--help/);
    });

    test("key list shows the key the first token created, public half only", async (context) => {
      if (!database) return context.skip();
      const keys = JSON.parse((await cli(["key", "list", "--json"])).stdout) as {
        kid: string;
        alg: string;
        status: string;
        publicJwk: Record<string, unknown>;
      }[];
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ alg: "EdDSA", status: "active", publicJwk: { kty: "OKP", crv: "Ed25519", kid: keys[0]!.kid } });
      expect(keys[0]!.publicJwk).not.toHaveProperty("d");
      expect(decodeProtectedHeader(tokens[0]!).kid).toBe(keys[0]!.kid);
      const table = await cli(["key", "list"]);
      expect(table.stdout).toMatch(new RegExp(`^KID\\s+ALG\\s+CREATED\\s+STATUS\\n${keys[0]!.kid}\\s+EdDSA\\s+\\S+\\s+active$`, "m"));
    });

    test("key rotate adds an active key; the old one verifies until retired; the active one cannot be retired", async (context) => {
      if (!database) return context.skip();
      const [old] = JSON.parse((await cli(["key", "list", "--json"])).stdout) as { kid: string }[];
      const rotated = await cli(["key", "rotate", "--json"], { MCPGW_SIGNING_ALG: "ES256" });
      expect(rotated.code, rotated.stderr).toBe(0);
      const fresh = JSON.parse(rotated.stdout) as { kid: string; alg: string; status: string; publicJwk: Record<string, unknown> };
      expect(fresh).toMatchObject({ alg: "ES256", status: "active", publicJwk: { kty: "EC", crv: "P-256" } });
      expect(fresh.publicJwk).not.toHaveProperty("d");

      const issued = JSON.parse((await cli(["token", "issue", "--sub", "carol", "--json"])).stdout) as IssuedJson;
      expect(issued.kid).toBe(fresh.kid);
      expect(decodeProtectedHeader(issued.token).alg).toBe("ES256");

      const retireActive = await cli(["key", "retire", "--", fresh.kid]);
      expect(retireActive.code).toBe(1);
      expect(retireActive.stderr).toContain("is the active key");
      expect(retireActive.stderr).toContain("→ run mcpgw key rotate first");

      const retired = await cli(["key", "retire", "--", old!.kid]);
      expect(retired.code, retired.stderr).toBe(0);
      expect(retired.stdout).toContain(`retired signing key ${old!.kid}`);
      expect((await cli(["key", "retire", "--", old!.kid])).stdout).toContain("was already retired");
      const unknown = await cli(["key", "retire", "nope"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('there is no signing key "nope"');

      const keys = JSON.parse((await cli(["key", "list", "--json"])).stdout) as { kid: string; status: string; retiredAt?: string }[];
      expect(keys.map((k) => [k.kid, k.status])).toEqual([
        [old!.kid, "retired"],
        [fresh.kid, "active"],
      ]);
      expect((await cli(["key", "list"])).stdout).toMatch(new RegExp(`${old!.kid}\\s+EdDSA\\s+\\S+\\s+retired \\S+`));
    });

    test("no output ever shows private key material or a whole token outside token issue", (context) => {
      if (!database) return context.skip();
      for (const output of outputs) {
        const text = `${output.stdout}${output.stderr}`;
        expect(text).not.toMatch(/"d"\s*:/);
      }
    });
  });
}
