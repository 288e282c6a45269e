import { InvalidInputError, UnsupportedDeliveryError } from "./errors.js";
import { registerSecretValue } from "./redact.js";
import type { Capabilities, OnceFileDelivery } from "./types.js";
import { validateFileTarget, validateId, validateMode } from "./validate.js";
import { validateValue } from "./value.js";

/** The directory read-once FIFOs land in by default: a tmpfs keyhole declares on the run. */
export const ONCE_DIR = "/run/keyhole-once";

/**
 * Directories a read-once tmpfs may never be mounted on: the root, system and device trees,
 * the engines' secret directory (the FIFO must not live on the engine's secret mount).
 */
const FORBIDDEN_ONCE_DIRS = [
  "/bin",
  "/dev",
  "/etc",
  "/lib",
  "/lib64",
  "/proc",
  "/run/secrets",
  "/sbin",
  "/sys",
  "/usr",
];

/** A read-once delivery after validation: absolute target, its directory, owner, mode, bytes. */
export interface NormalizedOnceDelivery {
  /** Absolute path of the FIFO. */
  target: string;
  /** Its directory: a tmpfs the adapter declares on the run (see {@link onceTmpfsDirs}). */
  dir: string;
  uid: number;
  gid: number;
  mode: number;
  /** A private copy of the value; zeroed once the writer is done with it. */
  bytes: Uint8Array;
}

/**
 * Validates one `{ as: "file", once: true }` delivery: contradictions (a handle, `scrub`) are
 * `INVALID_INPUT`; a backend without `capabilities.readOnce` is `UNSUPPORTED_DELIVERY`; then the
 * value, target, owner and mode. All before any engine call.
 */
export function validateOnceDelivery(
  backendId: string,
  capabilities: Capabilities,
  d: OnceFileDelivery,
  allowOutside: boolean,
): NormalizedOnceDelivery {
  const raw = d as unknown as Record<string, unknown>;
  if (raw.secret !== undefined) {
    throw new InvalidInputError(
      backendId,
      "A read-once delivery takes the value itself, not a secret handle: a handle's value already sits in the engine's store. Use { as: \"file\", once: true, value, target }.",
    );
  }
  if (raw.scrub !== undefined) {
    throw new InvalidInputError(
      backendId,
      "A read-once delivery cannot be scrubbed: no file ever holds the value. Remove scrub.",
    );
  }
  if (capabilities.readOnce !== true) {
    throw new UnsupportedDeliveryError(
      backendId,
      'This backend cannot deliver a value read-once (capabilities.readOnce is not true). Use a plain file delivery ({ as: "file", secret }), or a backend that declares readOnce.',
    );
  }
  const value = validateValue(backendId, d.value, capabilities.maxValueBytes);
  const given = d.target;
  if (typeof given !== "string" || given.length === 0) {
    throw new InvalidInputError(
      backendId,
      'A read-once delivery needs a target, e.g. target: "token" (it appears at /run/keyhole-once/token).',
    );
  }
  if (!given.startsWith("/") && given.includes("/")) {
    throw new InvalidInputError(
      backendId,
      `The read-once target ${JSON.stringify(given)} has a directory part. Use a plain name ("token") or an absolute path ("${ONCE_DIR}/token").`,
    );
  }
  const target = validateFileTarget(
    backendId,
    given.startsWith("/") ? given : `${ONCE_DIR}/${given}`,
    true,
  );
  const dir = target.slice(0, target.lastIndexOf("/")) || "/";
  const base = target.slice(dir.length + 1);
  if (base.startsWith(".kh-once-") || base.startsWith(".keyhole-once")) {
    throw new InvalidInputError(
      backendId,
      `The read-once target name ${JSON.stringify(base)} is reserved for keyhole's own bookkeeping. Use another name.`,
    );
  }
  if (dir !== ONCE_DIR) {
    if (!allowOutside) {
      throw new InvalidInputError(
        backendId,
        `The read-once target ${target} is outside ${ONCE_DIR}. Use a plain name, or set allowTargetOutsideSecretsDir: true (its directory ${dir} then becomes a tmpfs and hides what the image has there).`,
      );
    }
    if (dir === "/" || FORBIDDEN_ONCE_DIRS.some((f) => dir === f || dir.startsWith(`${f}/`))) {
      throw new InvalidInputError(
        backendId,
        `A read-once FIFO cannot live in ${dir}: keyhole mounts a tmpfs of its own on the FIFO's directory, and that one holds the system, devices or the engine's secrets. Use a target under ${ONCE_DIR}.`,
      );
    }
  }
  const uid = d.uid === undefined ? 0 : validateId(backendId, "uid", d.uid);
  const gid = d.gid === undefined ? 0 : validateId(backendId, "gid", d.gid);
  const mode = d.mode === undefined ? 0o400 : validateMode(backendId, d.mode);
  // A private copy: keyhole zeroes it when the writer is done, never the caller's buffer.
  const bytes = Uint8Array.from(value);
  registerSecretValue(bytes);
  return { target, dir, uid, gid, mode, bytes };
}

/**
 * The directories an adapter mounts a tmpfs on for a run's read-once deliveries (one per
 * distinct FIFO directory). Mount each with mode 0755, owned by root, `nosuid,nodev,noexec`.
 */
export function onceTmpfsDirs(once: readonly NormalizedOnceDelivery[]): string[] {
  return [...new Set(once.map((o) => o.dir))].sort();
}
