import { describe, expect, test } from "vitest";
import { ConfigError } from "../errors.ts";
import { parseDatabaseUrl, redactUrl } from "./database-url.ts";

describe("database URLs", () => {
  test.each([
    ["sqlite:mcpgw.db", { kind: "sqlite", path: "mcpgw.db" }],
    ["sqlite:/var/lib/mcpgw/db.sqlite", { kind: "sqlite", path: "/var/lib/mcpgw/db.sqlite" }],
    ["sqlite:///var/lib/x.db", { kind: "sqlite", path: "/var/lib/x.db" }],
    ["sqlite::memory:", { kind: "sqlite", path: ":memory:" }],
    ["postgres://u@h:5432/d", { kind: "postgres", connectionString: "postgres://u@h:5432/d" }],
    ["postgresql://u:p@h/d?schema=gw&sslmode=require", { kind: "postgres", connectionString: "postgresql://u:p@h/d?sslmode=require", schema: "gw" }],
    ["postgres://u@h/d?prepare=off", { kind: "postgres", connectionString: "postgres://u@h/d", prepare: false }],
    ["postgres://u@h/d?prepare=on", { kind: "postgres", connectionString: "postgres://u@h/d" }],
  ])("%s", (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  test.each(["mysql://h/d", "postgres://", "sqlite:", "postgres://h/d?schema=a;drop", "postgres://h/d?prepare=no", "mcpgw.db"])("rejects %s", (url) => {
    expect(() => parseDatabaseUrl(url)).toThrow(ConfigError);
  });

  test("redaction hides passwords only", () => {
    expect(redactUrl("postgres://u:secret@h/d")).toBe("postgres://u:***@h/d");
    expect(redactUrl("postgres://u@h/d")).toBe("postgres://u@h/d");
  });
});
