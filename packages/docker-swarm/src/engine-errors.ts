import {
  EngineError,
  EngineUnavailableError,
  isKeyholeError,
  type KeyholeError,
  SecretExistsError,
  SecretNotFoundError,
} from "@keyhole/core";

/** The command that starts dockerd on a machine provisioned by keyhole's scripts. */
export const START_DOCKERD_FIX = "node scripts/setup.mjs";
/** The command that turns a lone Docker engine into a one-node swarm. */
export const SWARM_INIT_FIX = "docker swarm init --advertise-addr 127.0.0.1";

/** The shape of errors from dockerode / docker-modem (HTTP) and from node:net (socket). */
interface DockerodeError {
  statusCode?: number;
  json?: unknown;
  reason?: string;
  code?: string;
  message?: string;
}

/** The engine's own reason for a failed request, without docker-modem's "(HTTP code …)" prefix. */
export function engineReason(error: unknown): string {
  const e = (error ?? {}) as DockerodeError;
  const json = e.json;
  if (json && typeof json === "object" && "message" in json) {
    return String((json as { message: unknown }).message).trim();
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  if (Buffer.isBuffer(json)) return json.toString("utf8").trim();
  return (e.message ?? String(error)).trim();
}

/** The HTTP status of a failed engine request, if it got that far. */
export function engineStatus(error: unknown): number | undefined {
  return (error as DockerodeError | undefined)?.statusCode;
}

/**
 * Turns an error of a Docker Engine API call into keyhole's typed error: a socket that does not
 * answer → `ENGINE_UNAVAILABLE` (fix: start dockerd), an engine outside a swarm →
 * `ENGINE_UNAVAILABLE` (fix: `docker swarm init`), anything else → `ENGINE_ERROR` carrying the
 * engine's reason. Every message passes through core's `redact`.
 */
export function toKeyholeError(
  backendId: string,
  endpoint: string,
  doing: string,
  error: unknown,
): KeyholeError {
  if (isKeyholeError(error)) return error;
  const e = (error ?? {}) as DockerodeError;
  if (e.code === "ECONNREFUSED" || e.code === "ENOENT" || e.code === "ECONNRESET") {
    return new EngineUnavailableError(
      backendId,
      `dockerd is not answering on ${endpoint} (${e.code}) while trying to ${doing}.`,
      START_DOCKERD_FIX,
      { cause: error },
    );
  }
  if (e.code === "EACCES") {
    return new EngineUnavailableError(
      backendId,
      `Permission denied on ${endpoint} while trying to ${doing}. Run as root or as a member of the docker group.`,
      "sudo usermod -aG docker $USER",
      { cause: error },
    );
  }
  const reason = engineReason(error);
  if (engineStatus(error) === 503 && /swarm/i.test(reason)) {
    return new EngineUnavailableError(
      backendId,
      `The Docker engine at ${endpoint} is not a swarm manager, so it cannot ${doing} (${reason}).`,
      SWARM_INIT_FIX,
      { cause: error },
    );
  }
  const status = engineStatus(error);
  return new EngineError(
    backendId,
    `The Docker engine refused to ${doing}${status ? ` (HTTP ${status})` : ""}: ${reason}. Check \`docker info\` and dockerd's log.`,
    { cause: error },
  );
}

/** `SECRET_EXISTS` for a 409 on secret create, else {@link toKeyholeError}. */
export function secretCreateError(
  backendId: string,
  endpoint: string,
  name: string,
  error: unknown,
): KeyholeError {
  if (engineStatus(error) === 409) {
    return new SecretExistsError(
      backendId,
      `The swarm already has a secret named ${JSON.stringify(name)}. Choose another name, or remove the old secret first.`,
      { cause: error },
    );
  }
  return toKeyholeError(backendId, endpoint, `create the secret ${JSON.stringify(name)}`, error);
}

/** `SECRET_NOT_FOUND` for a 404 on a secret request, else {@link toKeyholeError}. */
export function secretMissingError(
  backendId: string,
  endpoint: string,
  name: string,
  error: unknown,
): KeyholeError {
  if (engineStatus(error) === 404) {
    return new SecretNotFoundError(
      backendId,
      `The swarm has no secret named ${JSON.stringify(name)} (already removed?). Nothing to do; list what exists with listSecrets().`,
      { cause: error },
    );
  }
  const reason = engineReason(error);
  if (engineStatus(error) === 400 && /in use/i.test(reason)) {
    return new EngineError(
      backendId,
      `The secret ${JSON.stringify(name)} is still used by a workload (${reason}). Stop the workloads that use it first (workload.stop()), then remove it.`,
      { cause: error },
    );
  }
  return toKeyholeError(backendId, endpoint, `remove the secret ${JSON.stringify(name)}`, error);
}
