/**
 * The caller's identity-provider access token, held for the call it came with so that a
 * token-exchange backend can trade it (RFC 8693) for a token of its own. Never stored, logged or
 * sent to a backend: the value is a private field, and every way of printing the object (JSON,
 * util.inspect, string conversion) shows a placeholder.
 */
export class SubjectToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The token itself, for the token endpoint's request body only. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return SUBJECT_TOKEN_SHOWN;
  }

  toString(): string {
    return SUBJECT_TOKEN_SHOWN;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return SUBJECT_TOKEN_SHOWN;
  }
}

const SUBJECT_TOKEN_SHOWN = "[identity-provider token: held for the call, not shown]";
