import * as sdk from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, test } from "vitest";
import { ErrorCode, LATEST_PROTOCOL_VERSION, LoggingLevelSchema, McpError, SUPPORTED_PROTOCOL_VERSIONS } from "../src/protocol/mcp-values.ts";
import { Refusal } from "../src/pipeline/refusal.ts";

/** src/protocol/mcp-values.ts stands in for the SDK's types.js at start: its values must be the SDK's. */
describe("the gateway's copy of the SDK's values", () => {
  test("error codes, protocol versions and logging levels are the SDK's", () => {
    for (const [name, code] of Object.entries(ErrorCode)) expect(sdk.ErrorCode[name as keyof typeof sdk.ErrorCode], name).toBe(code);
    const sdkNames = Object.keys(sdk.ErrorCode).filter((key) => Number.isNaN(Number(key)));
    expect(Object.keys(ErrorCode).sort()).toEqual(sdkNames.sort());
    expect(LATEST_PROTOCOL_VERSION).toBe(sdk.LATEST_PROTOCOL_VERSION);
    expect(SUPPORTED_PROTOCOL_VERSIONS).toEqual(sdk.SUPPORTED_PROTOCOL_VERSIONS);
    expect(LoggingLevelSchema.options).toEqual(sdk.LoggingLevelSchema.options);
    for (const level of [...sdk.LoggingLevelSchema.options, "loud", 3, undefined]) {
      expect(LoggingLevelSchema.safeParse(level).success, String(level)).toBe(sdk.LoggingLevelSchema.safeParse(level).success);
    }
  });

  test("an McpError reads as the SDK's (message, code, data, name)", () => {
    const ours = new McpError(ErrorCode.InvalidParams, "bad", { field: "x" });
    const theirs = new sdk.McpError(sdk.ErrorCode.InvalidParams, "bad", { field: "x" });
    type Fields = { message: string; code: number; data?: unknown; name: string };
    const fields = (err: Fields): Fields => ({ message: err.message, code: err.code, data: err.data, name: err.name });
    expect(fields(ours)).toEqual(fields(theirs));
    const elicitation = { elicitations: [] };
    expect(fields(McpError.fromError(-32042, "open this", elicitation))).toEqual(fields(sdk.McpError.fromError(-32042, "open this", elicitation)));
  });

  test("instanceof McpError holds for the SDK's McpErrors too (what its Client throws), and subclasses keep their own check", () => {
    expect(new sdk.McpError(sdk.ErrorCode.RequestTimeout, "Request timed out") instanceof McpError).toBe(true);
    expect(new McpError(ErrorCode.InternalError, "x") instanceof McpError).toBe(true);
    expect(new Error("plain") instanceof McpError).toBe(false);
    expect(Object.assign(new Error("named"), { name: "McpError" }) instanceof McpError).toBe(false);
    expect(new McpError(ErrorCode.InvalidParams, "not a refusal") instanceof Refusal).toBe(false);
    expect(new sdk.McpError(ErrorCode.InvalidParams, "neither") instanceof Refusal).toBe(false);
  });
});
