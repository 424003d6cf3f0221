/** Typed errors: each says what went wrong and what to do; the CLI maps `exitCode` to the process exit code. */
export class McpgwError extends Error {
  /** 1 = failure, 2 = usage error. */
  readonly exitCode: 1 | 2 = 1;
  /** The input field a usage error is about, when known: the admin API names it in its 400 answer. */
  field?: string;
  constructor(
    message: string,
    /** What the person should do about it; printed under the message. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line or a setting is malformed: nothing was attempted. */
export class UsageError extends McpgwError {
  override readonly exitCode = 2 as const;
}

/** A UsageError about one input field (the admin API names it in its 400 answer). */
export function fieldError(field: string, message: string, hint: string): UsageError {
  const error = new UsageError(message, hint);
  error.field = field;
  return error;
}

/** Runs `fn`; a usage error it throws (malformed input: exit code 2) is tagged with the input field it is about, unless it names one already. */
export function inField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof McpgwError && err.exitCode === 2) err.field ??= field;
    throw err;
  }
}

/** A configuration value (flag or MCPGW_* variable) is malformed. */
export class ConfigError extends McpgwError {
  override readonly exitCode = 2 as const;
}

/** The database could not be reached or refused the connection. */
export class StoreUnavailableError extends McpgwError {}

/** A migration file is malformed or failed to apply; nothing of that migration was kept. */
export class MigrationError extends McpgwError {}

/** There is no mcpgw database where one was named, or its schema is not the one this binary knows. */
export class SchemaError extends McpgwError {}

/** A named thing (backend, role, token…) does not exist. */
export class NotFoundError extends McpgwError {}

/** A name that must be unique is taken. */
export class ConflictError extends McpgwError {}

/** Short description of any thrown value, for logs and error messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
