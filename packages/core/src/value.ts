import { InvalidInputError, SecretTooLargeError } from "./errors.js";
import type { SecretValue } from "./types.js";

/** The bytes of a secret value (strings are UTF-8). */
export function valueBytes(value: SecretValue): Uint8Array {
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

/**
 * Validates a value for `createSecret`: a string or Uint8Array, not empty, at most `maxBytes`.
 * Returns its bytes. Never puts the value into the message.
 */
export function validateValue(backendId: string, value: unknown, maxBytes: number): Uint8Array {
  if (typeof value !== "string" && !(value instanceof Uint8Array)) {
    throw new InvalidInputError(
      backendId,
      `A secret value must be a string or a Uint8Array, got ${typeName(value)}. Pass the value itself, e.g. createSecret("db", "…").`,
    );
  }
  const bytes = valueBytes(value);
  if (bytes.length === 0) {
    throw new InvalidInputError(
      backendId,
      "A secret value must not be empty. Pass at least one byte.",
    );
  }
  if (bytes.length > maxBytes) {
    throw new SecretTooLargeError(
      backendId,
      `The value is ${bytes.length} bytes; this backend accepts at most ${maxBytes}. Store a smaller value, or a reference to it.`,
    );
  }
  return bytes;
}

/** A short description of a value's type for error messages (never the value itself). */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "a Uint8Array";
  return `a ${typeof value}`;
}
