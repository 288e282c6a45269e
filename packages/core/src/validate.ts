import { InvalidInputError, UnsupportedDeliveryError } from "./errors.js";
import { type NormalizedOnceDelivery, validateOnceDelivery } from "./once-validate.js";
import type {
  Capabilities,
  EnvDelivery,
  FileDelivery,
  OnceFileDelivery,
  RunSpec,
  SecretDelivery,
  SecretHandle,
} from "./types.js";
import { typeName } from "./value.js";

/** The directory file deliveries land in by default. */
export const SECRETS_DIR = "/run/secrets";
/** The longest secret name keyhole accepts (Podman and Swarm accept 64 characters at most). */
export const MAX_SECRET_NAME_LENGTH = 64;
/** The largest uid/gid: 2^32-2 (2^32-1 is "no id" to the kernel). */
export const MAX_ID = 2 ** 32 - 2;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates a secret name: 1…64 characters of `[A-Za-z0-9_.-]`, starting **and ending** with a
 * letter or digit, and not containing `..`. This rejects `/`, `=`, `,`, NUL, whitespace, a
 * leading `-`, shell metacharacters and traversal, so a name is always safe as an engine name and
 * a file name.
 *
 * The rule is the intersection of what every built-in engine accepts, so a name core accepts is
 * never refused by an engine later: Podman 4.3 and Docker Swarm both refuse a name that does not
 * end with a letter or digit (`abc-`, `abc.`; Swarm also `abc_`) and allow 64 characters at most.
 * Podman 5 is laxer (1…253 characters, anything but `=`, `/`, `,` and NUL); core keeps the
 * stricter common rule.
 */
export function validateSecretName(backendId: string, name: unknown): string {
  if (typeof name !== "string") {
    throw new InvalidInputError(
      backendId,
      `A secret name must be a string, got ${typeName(name)}.`,
    );
  }
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length === 0) {
    throw new InvalidInputError(
      backendId,
      'A secret name must not be empty. Use e.g. "db-password".',
    );
  }
  if (name.length > MAX_SECRET_NAME_LENGTH) {
    throw new InvalidInputError(
      backendId,
      `The secret name ${shown} is ${name.length} characters; at most ${MAX_SECRET_NAME_LENGTH} are allowed. Use a shorter name.`,
    );
  }
  if (!NAME_RE.test(name) || name.includes("..")) {
    throw new InvalidInputError(
      backendId,
      `The secret name ${shown} is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".`,
    );
  }
  if (!/[A-Za-z0-9]$/.test(name)) {
    // containers/common (Podman 4.3) and swarmkit: "the start and end character must be [a-zA-Z0-9]".
    throw new InvalidInputError(
      backendId,
      `The secret name ${shown} ends with ${JSON.stringify(name.slice(-1))}; engines need the last character to be a letter or digit. Use e.g. ${JSON.stringify(`${name.replace(/[^A-Za-z0-9]+$/, "")}1`)}.`,
    );
  }
  return name;
}

/** Validates an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`). */
export function validateEnvName(backendId: string, name: unknown): string {
  if (typeof name !== "string" || !ENV_NAME_RE.test(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name) : typeName(name);
    throw new InvalidInputError(
      backendId,
      `The environment variable name ${shown} is not allowed. Use letters, digits and "_", not starting with a digit, e.g. "API_TOKEN".`,
    );
  }
  return name;
}

/** Validates a uid or gid: an integer 0…2^32-2. */
export function validateId(backendId: string, what: "uid" | "gid", id: unknown): number {
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
    const shown = typeof id === "number" ? String(id) : `${typeName(id)} ${JSON.stringify(id)}`;
    throw new InvalidInputError(
      backendId,
      `The ${what} ${shown} is not allowed. Use an integer from 0 to ${MAX_ID}, e.g. ${what}: 2000.`,
    );
  }
  return id;
}

/** Validates a file mode: an integer 0…0o777. A string like `"0400"` is a type error. */
export function validateMode(backendId: string, mode: unknown): number {
  if (typeof mode !== "number") {
    throw new InvalidInputError(
      backendId,
      `The mode must be a number, got ${typeName(mode)} ${JSON.stringify(mode)}. Write an octal literal, e.g. mode: 0o400.`,
    );
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new InvalidInputError(
      backendId,
      `The mode ${mode} (0o${mode.toString(8)}) is not allowed. Use an integer from 0 to 0o777, e.g. mode: 0o400.`,
    );
  }
  return mode;
}

/**
 * Normalises a file target: relative → under `/run/secrets/`; rejects `..` segments, empty
 * segments, NUL and line breaks, `,` (engine CLIs split `--secret name,target=…` options on
 * it), and (unless `allowOutside`) absolute paths outside `/run/secrets`.
 */
export function validateFileTarget(
  backendId: string,
  target: unknown,
  allowOutside: boolean,
): string {
  if (typeof target !== "string" || target.length === 0) {
    throw new InvalidInputError(
      backendId,
      `A file target must be a non-empty string, got ${typeName(target)}. Use e.g. "token" or "/run/secrets/token".`,
    );
  }
  const shown = JSON.stringify(target);
  if (target.includes("\0") || /[\n\r]/.test(target)) {
    throw new InvalidInputError(
      backendId,
      `The file target ${shown} contains a control character. Use a plain path.`,
    );
  }
  if (target.includes(",")) {
    throw new InvalidInputError(
      backendId,
      `The file target ${shown} contains ",", which engine CLIs read as an option separator (--secret name,target=…). Use a path without ",".`,
    );
  }
  const absolute = target.startsWith("/") ? target : `${SECRETS_DIR}/${target}`;
  const segments = absolute.split("/").slice(1);
  if (segments.some((s) => s === ".." || s === "." || s === "") || absolute.endsWith("/")) {
    throw new InvalidInputError(
      backendId,
      `The file target ${shown} is not a plain path (it has "..", "." or an empty segment). Use e.g. "/run/secrets/token".`,
    );
  }
  if (!allowOutside && !absolute.startsWith(`${SECRETS_DIR}/`)) {
    throw new InvalidInputError(
      backendId,
      `The file target ${shown} is outside ${SECRETS_DIR}. Use a path under ${SECRETS_DIR}/, or set allowTargetOutsideSecretsDir: true on the run.`,
    );
  }
  return absolute;
}

/** A file delivery after validation: target absolute, options checked. */
export interface NormalizedFileDelivery extends FileDelivery {
  target: string;
}

/** A run spec after validation, with deliveries split by kind and file targets absolute. */
export interface NormalizedRunSpec {
  spec: RunSpec;
  env: Array<{ secret: SecretHandle; name: string }>;
  files: NormalizedFileDelivery[];
  /** Read-once deliveries (`once: true`), in delivery order. */
  once: NormalizedOnceDelivery[];
}

/**
 * Validates a whole run spec against a backend's capabilities before any engine call: image,
 * command, user, plain env, caps, every delivery (unsupported kinds and options →
 * `UNSUPPORTED_DELIVERY`; bad values → `INVALID_INPUT`), duplicate targets and env names, and
 * that each secret was created by this backend.
 */
export function validateRunSpec(
  backendId: string,
  capabilities: Capabilities,
  spec: unknown,
): NormalizedRunSpec {
  if (typeof spec !== "object" || spec === null) {
    throw new InvalidInputError(backendId, `A run spec must be an object, got ${typeName(spec)}.`);
  }
  const s = spec as RunSpec;
  if (typeof s.image !== "string" || s.image.trim() === "") {
    throw new InvalidInputError(
      backendId,
      'A run needs an image. Use the probe image: `const image = await ensureProbeImage("podman")` from @keyhole/probe.',
    );
  }
  if (
    s.command !== undefined &&
    (!Array.isArray(s.command) || s.command.some((a) => typeof a !== "string"))
  ) {
    throw new InvalidInputError(
      backendId,
      'The command must be an array of strings, e.g. ["sleep", "300"].',
    );
  }
  if (
    s.user !== undefined &&
    (typeof s.user !== "string" || !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(s.user))
  ) {
    throw new InvalidInputError(
      backendId,
      `The user ${JSON.stringify(s.user)} is not allowed. Use e.g. "2000", "2000:2000" or "alice".`,
    );
  }
  for (const name of Object.keys(s.env ?? {})) validateEnvName(backendId, name);
  for (const [key, caps] of [
    ["capDrop", s.capDrop],
    ["capAdd", s.capAdd],
  ] as const) {
    if (caps === undefined) continue;
    if (
      !Array.isArray(caps) ||
      caps.some((c) => typeof c !== "string" || !/^(CAP_)?[A-Z_]+$/i.test(c))
    ) {
      throw new InvalidInputError(
        backendId,
        `${key} must be capability names, e.g. ["DAC_OVERRIDE"].`,
      );
    }
    if (caps.length > 0 && !capabilities.capDrop) {
      throw new UnsupportedDeliveryError(
        backendId,
        `This backend cannot apply ${key}. Remove it, or use a backend whose capabilities.capDrop is true.`,
      );
    }
  }
  const secrets = s.secrets ?? [];
  if (!Array.isArray(secrets)) {
    throw new InvalidInputError(backendId, "secrets must be an array of deliveries.");
  }
  const env: NormalizedRunSpec["env"] = [];
  const files: NormalizedFileDelivery[] = [];
  const once: NormalizedOnceDelivery[] = [];
  const seenTargets = new Set<string>();
  const seenEnv = new Set<string>(Object.keys(s.env ?? {}));
  for (const raw of secrets as SecretDelivery[]) {
    if (raw?.as === "file" && (raw as { once?: unknown }).once === true) {
      const o = validateOnceDelivery(
        backendId,
        capabilities,
        raw as OnceFileDelivery,
        s.allowTargetOutsideSecretsDir === true,
      );
      if (seenTargets.has(o.target)) {
        throw new InvalidInputError(
          backendId,
          `Two deliveries target ${o.target}. Give each its own target.`,
        );
      }
      seenTargets.add(o.target);
      once.push(o);
      continue;
    }
    const d = raw as EnvDelivery | FileDelivery;
    const onceFlag = (raw as { once?: unknown } | undefined)?.once;
    if (onceFlag !== undefined && onceFlag !== false) {
      throw new InvalidInputError(
        backendId,
        `once must be true or absent, got ${JSON.stringify(onceFlag)}.`,
      );
    }
    checkHandle(backendId, d?.secret);
    if (d.as === "env") {
      const name = validateEnvName(backendId, d.name);
      if (!capabilities.envDelivery) {
        throw new UnsupportedDeliveryError(
          backendId,
          `This backend cannot deliver a secret as an environment variable (${name}). Deliver it as a file: { as: "file" }.`,
        );
      }
      if (d.secret.envSafe === false) {
        throw new InvalidInputError(
          backendId,
          `The secret ${JSON.stringify(d.secret.name)} contains a NUL byte, which an environment variable cannot carry (${name}). Deliver it as a file.`,
        );
      }
      if (seenEnv.has(name)) {
        throw new InvalidInputError(
          backendId,
          `The environment variable ${name} is set twice in one run. Use distinct names.`,
        );
      }
      seenEnv.add(name);
      env.push({ secret: d.secret, name });
    } else if (d.as === "file") {
      if (!capabilities.fileDelivery) {
        throw new UnsupportedDeliveryError(
          backendId,
          'This backend cannot deliver a secret as a file. Use { as: "env" }.',
        );
      }
      const allowOutside = s.allowTargetOutsideSecretsDir === true;
      const target = validateFileTarget(backendId, d.target ?? d.secret.name, allowOutside);
      if (!target.startsWith(`${SECRETS_DIR}/`) && !capabilities.targetOutsideSecretsDir) {
        throw new UnsupportedDeliveryError(
          backendId,
          `This backend can only place secrets under ${SECRETS_DIR}; ${JSON.stringify(target)} is outside. Use a target under ${SECRETS_DIR}/.`,
        );
      }
      if (seenTargets.has(target)) {
        throw new InvalidInputError(
          backendId,
          `Two deliveries target ${target}. Give each its own target.`,
        );
      }
      seenTargets.add(target);
      if (d.uid !== undefined) validateId(backendId, "uid", d.uid);
      if (d.gid !== undefined) validateId(backendId, "gid", d.gid);
      if (d.mode !== undefined) validateMode(backendId, d.mode);
      if ((d.uid !== undefined || d.gid !== undefined) && !capabilities.fileOwnership) {
        throw new UnsupportedDeliveryError(
          backendId,
          "This backend cannot set a file delivery's uid/gid. Remove uid/gid.",
        );
      }
      if (d.mode !== undefined && !capabilities.fileMode) {
        throw new UnsupportedDeliveryError(
          backendId,
          "This backend cannot set a file delivery's mode. Remove mode.",
        );
      }
      if (d.scrub === true && !capabilities.scrubAfterUse) {
        throw new UnsupportedDeliveryError(
          backendId,
          "This backend cannot make a secret file writable, so it cannot be scrubbed after use. Remove scrub, or use a backend whose capabilities.scrubAfterUse is true.",
        );
      }
      files.push({ ...d, target });
    } else {
      throw new InvalidInputError(
        backendId,
        `A delivery must have as: "env" or as: "file", got ${JSON.stringify((d as { as?: unknown })?.as)}.`,
      );
    }
  }
  const onceDirs = new Set(once.map((o) => o.dir));
  for (const f of files) {
    const dir = f.target.slice(0, f.target.lastIndexOf("/"));
    if ([...onceDirs].some((o) => dir === o || dir.startsWith(`${o}/`))) {
      throw new InvalidInputError(
        backendId,
        `The file ${f.target} would be hidden by the read-once tmpfs on ${dir}. Put plain files and read-once FIFOs in different directories.`,
      );
    }
  }
  return { spec: s, env, files, once };
}

function checkHandle(backendId: string, handle: unknown): asserts handle is SecretHandle {
  const h = handle as Partial<SecretHandle> | undefined;
  if (
    typeof h !== "object" ||
    h === null ||
    typeof h.name !== "string" ||
    typeof h.id !== "string"
  ) {
    throw new InvalidInputError(
      backendId,
      "A delivery's secret must be a handle returned by createSecret().",
    );
  }
  if (h.backendId !== backendId) {
    throw new InvalidInputError(
      backendId,
      `The secret ${JSON.stringify(h.name)} was created by backend ${JSON.stringify(h.backendId)}, not this one. Create it with this backend's createSecret().`,
    );
  }
}
