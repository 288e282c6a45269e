import {
  EngineError,
  EngineUnavailableError,
  isKeyholeError,
  type KeyholeError,
} from "@keyhole/core";
import { SETUP_FIX } from "./endpoint.js";

/** The shape of errors from dockerode / docker-modem (HTTP) and from node:net (socket). */
interface DockerodeError {
  statusCode?: number;
  json?: unknown;
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

/** True when the socket itself did not answer (nothing listening, no such file). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as DockerodeError | undefined)?.code;
  return code === "ECONNREFUSED" || code === "ENOENT" || code === "ECONNRESET" || code === "EPIPE";
}

/**
 * Turns an error of a Docker-API call into keyhole's typed error: a socket that does not answer
 * → `ENGINE_UNAVAILABLE` (fix: `node scripts/setup.mjs`), permission denied → `ENGINE_UNAVAILABLE`
 * (fix: join the docker group), anything else → `ENGINE_ERROR` with the engine's reason. Every
 * message passes through core's `redact`, so a registered secret value never shows.
 */
export function toKeyholeError(
  backendId: string,
  endpoint: string,
  doing: string,
  error: unknown,
): KeyholeError {
  if (isKeyholeError(error)) return error;
  const e = (error ?? {}) as DockerodeError;
  if (isConnectionError(error)) {
    return new EngineUnavailableError(
      backendId,
      `No Docker engine answers on ${endpoint} (${e.code}) while trying to ${doing}.`,
      SETUP_FIX,
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
  const status = engineStatus(error);
  return new EngineError(
    backendId,
    `The engine at ${endpoint} refused to ${doing}${status ? ` (HTTP ${status})` : ""}: ${engineReason(error)}. Check \`docker info\` and the engine's log.`,
    { cause: error },
  );
}
