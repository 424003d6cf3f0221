/** Exhaustiveness check for switches over unions: the compiler rejects a missed case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
