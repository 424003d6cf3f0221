import { McpgwError } from "../errors.ts";

/** A request of one caller about to leave on a connection bound to another: a routing bug, stopped before anything is sent. */
export function crossedCallerError(backend: string): McpgwError {
  return new McpgwError(`backend "${backend}": a call was about to go out with another caller's credential, and was stopped`, "a gateway bug: report it");
}
