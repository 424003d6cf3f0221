/**
 * What a 2025-era session needs of the MCP SDK: its Server, its Streamable HTTP transport, the
 * initialize schema, a result schema and a shared JSON Schema validator. Loaded with the first
 * initialize (loadSessionSdk in front-session.ts), never at start: the SDK and zod are 13 MB of RSS
 * an idle gateway does not need (docs/deployment.md, "Footprint").
 */
import { z } from "zod";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { InitializeRequestSchema, type Result } from "@modelcontextprotocol/sdk/types.js";

export { InitializeRequestSchema, Server, WebStandardStreamableHTTPServerTransport };

/**
 * Results are relayed as they are, so the only check is that one is an object: a full zod parse of
 * every relayed result showed in the benchmark's profile, and building a schema per call even more.
 */
export const ANY_RESULT = z.custom<Result>((value) => typeof value === "object" && value !== null && !Array.isArray(value));

let ajv: AjvJsonSchemaValidator | undefined;
/**
 * One JSON Schema validator for every session's SDK Server, built on first use. By default each
 * Server builds an Ajv instance of its own (14 KB of an idle session's RSS, docs/deployment.md
 * "Footprint") for Server.elicitInput alone, which the gateway never calls: elicitation requests
 * are relayed as the backend sent them.
 */
export const SHARED_SCHEMA_VALIDATOR: jsonSchemaValidator = {
  getValidator: (schema) => {
    ajv ??= new AjvJsonSchemaValidator();
    return ajv.getValidator(schema);
  },
};
