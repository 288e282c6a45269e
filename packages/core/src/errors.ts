import { redact } from "./redact.js";

/**
 * The stable error codes keyhole uses. Match on `error.code`, never on message text.
 *
 * - `INVALID_INPUT` — a name, target, uid/gid, mode or value was rejected before any engine call.
 * - `UNSUPPORTED_DELIVERY` — the backend cannot express the requested delivery or option.
 * - `ENGINE_UNAVAILABLE` — the engine is not installed, not running or not reachable.
 * - `SECRET_NOT_FOUND` / `SECRET_EXISTS` — the engine has no / already has a secret of that name.
 * - `SECRET_TOO_LARGE` — the value is larger than the backend's `maxValueBytes`.
 * - `ENGINE_ERROR` — the engine refused or failed a request; the message carries its (redacted) reason.
 */
export type KeyholeErrorCode =
  | "INVALID_INPUT"
  | "UNSUPPORTED_DELIVERY"
  | "ENGINE_UNAVAILABLE"
  | "SECRET_NOT_FOUND"
  | "SECRET_EXISTS"
  | "SECRET_TOO_LARGE"
  | "ENGINE_ERROR";

/** Every code in {@link KeyholeErrorCode}, in a stable order. */
export const KEYHOLE_ERROR_CODES: readonly KeyholeErrorCode[] = [
  "INVALID_INPUT",
  "UNSUPPORTED_DELIVERY",
  "ENGINE_UNAVAILABLE",
  "SECRET_NOT_FOUND",
  "SECRET_EXISTS",
  "SECRET_TOO_LARGE",
  "ENGINE_ERROR",
];

/** Options shared by every keyhole error. */
export interface KeyholeErrorOptions {
  /** The lower-level error; its message is redacted before it is kept. */
  cause?: unknown;
}

/**
 * Base class of every error keyhole throws. The message always reads
 * `[keyhole] [<backend id>] <what happened>. <what to do next>` and has passed through
 * {@link redact}, so no registered secret value can appear in it.
 *
 * @example
 * ```ts
 * try { await backend.createSecret("db", value) }
 * catch (e) { if (isKeyholeError(e) && e.code === "SECRET_EXISTS") … }
 * ```
 */
export class KeyholeError extends Error {
  /** The stable code; see {@link KeyholeErrorCode}. */
  readonly code: KeyholeErrorCode;
  /** Which backend threw (`"podman-file"`, …), or `"core"`. */
  readonly backendId: string;

  constructor(
    code: KeyholeErrorCode,
    backendId: string,
    message: string,
    options: KeyholeErrorOptions = {},
  ) {
    super(redact(`[keyhole] [${backendId}] ${message}`), {
      cause: options.cause === undefined ? undefined : redactCause(options.cause),
    });
    this.code = code;
    this.backendId = backendId;
    this.name = new.target.name;
  }
}

/** A name, target, uid/gid, mode or value was rejected before any engine call (`INVALID_INPUT`). */
export class InvalidInputError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("INVALID_INPUT", backendId, message, options);
  }
}

/** The backend cannot express this delivery or option (`UNSUPPORTED_DELIVERY`). */
export class UnsupportedDeliveryError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("UNSUPPORTED_DELIVERY", backendId, message, options);
  }
}

/**
 * The engine is missing, stopped or unreachable (`ENGINE_UNAVAILABLE`). `fix` is the exact
 * command that makes it available; it is also part of the message.
 */
export class EngineUnavailableError extends KeyholeError {
  /** The command that fixes it, e.g. `node scripts/setup.mjs`. */
  readonly fix: string;
  constructor(backendId: string, message: string, fix: string, options?: KeyholeErrorOptions) {
    super("ENGINE_UNAVAILABLE", backendId, `${message} Fix: ${fix}`, options);
    this.fix = fix;
  }
}

/** The engine has no secret of that name (`SECRET_NOT_FOUND`). */
export class SecretNotFoundError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("SECRET_NOT_FOUND", backendId, message, options);
  }
}

/** The engine already has a secret of that name (`SECRET_EXISTS`). */
export class SecretExistsError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("SECRET_EXISTS", backendId, message, options);
  }
}

/** The value exceeds the backend's `maxValueBytes` (`SECRET_TOO_LARGE`). */
export class SecretTooLargeError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("SECRET_TOO_LARGE", backendId, message, options);
  }
}

/** The engine refused or failed a request (`ENGINE_ERROR`); the reason is redacted. */
export class EngineError extends KeyholeError {
  constructor(backendId: string, message: string, options?: KeyholeErrorOptions) {
    super("ENGINE_ERROR", backendId, message, options);
  }
}

/** True when `error` is a {@link KeyholeError} (optionally with the given code). */
export function isKeyholeError(error: unknown, code?: KeyholeErrorCode): error is KeyholeError {
  if (!(error instanceof Error)) return false;
  // Duck-typed as well as instanceof, because two copies of @keyhole/core can meet in one app.
  const c = (error as { code?: unknown }).code;
  const ok =
    error instanceof KeyholeError ||
    (typeof c === "string" && (KEYHOLE_ERROR_CODES as readonly string[]).includes(c));
  return ok && (code === undefined || c === code);
}

function redactCause(cause: unknown): Error {
  if (cause instanceof Error) {
    const copy = new Error(redact(cause.message));
    copy.name = cause.name;
    if (cause.stack) copy.stack = redact(cause.stack);
    return copy;
  }
  return new Error(redact(String(cause)));
}
