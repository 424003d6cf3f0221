import { ConfigError } from "../errors.ts";

export type DatabaseTarget =
  | { kind: "sqlite"; path: string }
  | {
      kind: "postgres";
      connectionString: string;
      schema?: string;
      /** false with ?prepare=off: every statement is sent unnamed (PgBouncer in transaction mode before 1.21). */
      prepare?: false;
    };

const URL_HINT = "use sqlite:PATH (e.g. sqlite:mcpgw.db) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME][&prepare=off]";
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Parses a --db / MCPGW_DATABASE_URL value into what a driver needs. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const text = url.trim();
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") throw new ConfigError(`database URL "${url}" names no file`, URL_HINT);
    return { kind: "sqlite", path };
  }
  if (/^postgres(ql)?:\/\//.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new ConfigError(`database URL "${redactUrl(url)}" is malformed`, URL_HINT);
    }
    if (!parsed.hostname) throw new ConfigError(`database URL "${redactUrl(url)}" names no host`, URL_HINT);
    const schema = parsed.searchParams.get("schema") ?? undefined;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new ConfigError(`database URL schema "${schema}" is not a plain identifier`, "use letters, digits and _ (e.g. ?schema=mcpgw)");
    }
    parsed.searchParams.delete("schema");
    const prepare = parsed.searchParams.get("prepare") ?? "on";
    if (prepare !== "on" && prepare !== "off") {
      throw new ConfigError(
        `database URL prepare "${prepare}" is neither on nor off`,
        "use ?prepare=off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21); leave it out otherwise",
      );
    }
    parsed.searchParams.delete("prepare");
    return {
      kind: "postgres",
      connectionString: parsed.toString(),
      ...(schema !== undefined && { schema }),
      ...(prepare === "off" && { prepare: false as const }),
    };
  }
  throw new ConfigError(`database URL "${redactUrl(url)}" is not supported`, URL_HINT);
}

/** The URL with any password replaced, safe for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, "$1***@");
}
