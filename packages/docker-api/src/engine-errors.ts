import {
  EngineError,
  EngineUnavailableError,
  isKeyholeError,
  type KeyholeError,
} from "@keyhole/core";
import { SETUP_FIX } from "./endpoint.js";

/** The command that turns a lone Docker engine into a one-node swarm. */
export const SWARM_INIT_FIX = "docker swarm init --advertise-addr 127.0.0.1";

/** How to point a Docker client at a TLS daemon's certificates (the Docker CLI's variables). */
const TLS_FIX =
  "export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<directory with ca.pem, cert.pem, key.pem>";

/** The shape of errors from dockerode / docker-modem (HTTP) and from node:net / node:tls. */
interface DockerodeError {
  statusCode?: number;
  json?: unknown;
  code?: string;
  message?: string;
}

/** Socket errors that mean nothing answers at the address. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * The engine's own reason for a failed request, without docker-modem's "(HTTP code …)" prefix.
 *
 * @example
 * ```ts
 * engineReason({ statusCode: 404, json: { message: "no such container: abc" } });
 * // "no such container: abc"
 * ```
 */
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

/**
 * The HTTP status of a failed engine request, if it got that far.
 *
 * @example
 * ```ts
 * if (engineStatus(error) === 404) return; // already gone
 * ```
 */
export function engineStatus(error: unknown): number | undefined {
  return (error as DockerodeError | undefined)?.statusCode;
}

/**
 * True when nothing answered at the endpoint (no such socket, connection refused or reset,
 * host unreachable or unknown).
 *
 * @example
 * ```ts
 * isConnectionError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })); // true
 * ```
 */
export function isConnectionError(error: unknown): boolean {
  const code = (error as DockerodeError | undefined)?.code;
  return code !== undefined && CONNECTION_CODES.has(code);
}

/**
 * True when a TLS handshake failed: an unknown or self-signed daemon certificate, a name that
 * does not match, or a daemon that wants a client certificate it did not get.
 *
 * @example
 * ```ts
 * isTlsError(Object.assign(new Error("self-signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" })); // true
 * ```
 */
export function isTlsError(error: unknown): boolean {
  const code = (error as DockerodeError | undefined)?.code ?? "";
  return /CERT|SSL|TLS|EPROTO|UNABLE_TO_(GET|VERIFY)/.test(code);
}

/**
 * Turns an error of a Docker Engine API call into keyhole's typed error, with the fix in the
 * message:
 * - a TCP connection closed by the daemon (how `--tlsverify` refuses an untrusted client
 *   certificate) → `ENGINE_UNAVAILABLE` (fix: the TLS variables below);
 * - nothing answers at the endpoint → `ENGINE_UNAVAILABLE` (fix: `node scripts/setup.mjs` for a
 *   unix socket; `docker -H <endpoint> version` to check a TCP address);
 * - a failed TLS handshake → `ENGINE_UNAVAILABLE` (fix: `DOCKER_TLS_VERIFY=1` and a
 *   `DOCKER_CERT_PATH` holding the daemon's CA and a client certificate it trusts);
 * - plain HTTP to a TLS port → `ENGINE_UNAVAILABLE` (fix: turn TLS on);
 * - permission denied on the socket → `ENGINE_UNAVAILABLE` (fix: join the docker group);
 * - an engine outside a swarm asked for a swarm object (503) → `ENGINE_UNAVAILABLE`
 *   (fix: {@link SWARM_INIT_FIX});
 * - anything else → `ENGINE_ERROR` carrying the engine's reason and HTTP status.
 *
 * A `KeyholeError` passes through unchanged. Every message passes through core's `redact`, so a
 * registered secret value never shows.
 *
 * @example
 * ```ts
 * try { await docker.getContainer(id).inspect(); }
 * catch (error) { throw toKeyholeError("docker", endpoint, `inspect the container ${id}`, error); }
 * ```
 */
export function toKeyholeError(
  backendId: string,
  endpoint: string,
  doing: string,
  error: unknown,
): KeyholeError {
  if (isKeyholeError(error)) return error;
  const e = (error ?? {}) as DockerodeError;
  const tcp = endpoint.startsWith("tcp://");
  if (tcp && (e.code === "ECONNRESET" || e.code === "EPIPE")) {
    // A daemon started with --tlsverify closes the connection without a TLS alert (as Node's
    // TLS server does too) when it does not trust the client certificate.
    return new EngineUnavailableError(
      backendId,
      `The Docker engine at ${endpoint} closed the connection (${e.code}) while trying to ${doing}: it does not trust the client certificate, wants TLS and got plain HTTP, or stopped.`,
      TLS_FIX,
      { cause: error },
    );
  }
  if (isConnectionError(error)) {
    return new EngineUnavailableError(
      backendId,
      `No Docker engine answers on ${endpoint} (${e.code}) while trying to ${doing}.${tcp ? " Check that dockerd listens there and that a firewall lets the port through." : ""}`,
      tcp ? `docker -H ${endpoint} version` : SETUP_FIX,
      { cause: error },
    );
  }
  if (isTlsError(error)) {
    return new EngineUnavailableError(
      backendId,
      `The TLS handshake with ${endpoint} failed (${e.code}: ${engineReason(error)}) while trying to ${doing}. Use the CA that signed the daemon's certificate and a client certificate the daemon trusts.`,
      TLS_FIX,
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
  const reason = engineReason(error);
  if (status === 400 && /HTTP request to an HTTPS server/i.test(reason)) {
    return new EngineUnavailableError(
      backendId,
      `The Docker engine at ${endpoint} wants TLS, but the request to ${doing} was plain HTTP.`,
      TLS_FIX,
      { cause: error },
    );
  }
  if (status === 503 && /swarm/i.test(reason)) {
    return new EngineUnavailableError(
      backendId,
      `The Docker engine at ${endpoint} is not a swarm manager, so it cannot ${doing} (${reason}).`,
      SWARM_INIT_FIX,
      { cause: error },
    );
  }
  return new EngineError(
    backendId,
    `The Docker engine at ${endpoint} refused to ${doing}${status ? ` (HTTP ${status})` : ""}: ${reason}. Check \`docker info\` and dockerd's log.`,
    { cause: error },
  );
}
