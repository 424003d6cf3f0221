import { describe, expect, test } from "vitest";
import { PARAM_HEADERS, paramHeadersIn, paramHeadersOf, paramValue, withParamHeaders } from "./param-headers.ts";

describe("x-mcp-header arguments", () => {
  const schema = {
    type: "object",
    properties: {
      region: { type: "string", "x-mcp-header": "Region" },
      level: { type: "integer", "x-mcp-header": "Level" },
      dry: { type: "boolean", "x-mcp-header": "Dry-Run" },
      ratio: { type: "number", "x-mcp-header": "Ratio" },
      bad: { type: "string", "x-mcp-header": "Not a token" },
      nested: { type: "object", properties: { zone: { type: "string", "x-mcp-header": "Zone" } } },
      list: { type: "array", items: { type: "object", properties: { hidden: { type: "string", "x-mcp-header": "Hidden" } } } },
      plain: { type: "string" },
    },
  };

  test("only string, integer and boolean arguments reachable through properties, with token names", () => {
    expect(paramHeadersOf(schema)).toEqual([
      { name: "Region", path: ["region"] },
      { name: "Level", path: ["level"] },
      { name: "Dry-Run", path: ["dry"] },
      { name: "Zone", path: ["nested", "zone"] },
    ]);
    expect(paramHeadersOf(undefined)).toEqual([]);
    expect(paramHeadersOf({ type: "object" })).toEqual([]);
  });

  test("values as headers carry them; absent, null and non-integer numbers give none", () => {
    const [region, level, dry, zone] = paramHeadersOf(schema);
    const args = { region: "eu-west", level: 3, dry: false, nested: { zone: "b" } };
    expect([region, level, dry, zone].map((h) => paramValue(h!, args))).toEqual(["eu-west", "3", "false", "b"]);
    expect(paramValue(region!, { region: null })).toBeUndefined();
    expect(paramValue(level!, { level: 1.5 })).toBeUndefined();
    expect(paramValue(zone!, { nested: "flat" })).toBeUndefined();
    expect(paramValue(region!, undefined)).toBeUndefined();
  });

  test("headers ride on params under a symbol: kept by spreads, never in JSON", () => {
    const params = withParamHeaders({ name: "t", arguments: {} }, { Region: "eu" });
    const spread = { ...params, _meta: { x: 1 } };
    expect(paramHeadersIn(spread)).toEqual({ Region: "eu" });
    expect(JSON.stringify(spread)).toBe('{"name":"t","arguments":{},"_meta":{"x":1}}');
    expect(PARAM_HEADERS in withParamHeaders({ name: "t" }, {})).toBe(false);
  });
});
