import { EngineUnavailableError, InvalidInputError } from "@keyhole/core";

/** The socket dockerd listens on when nothing else is configured. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The command that starts the engines on a machine provisioned by keyhole's scripts. */
export const SETUP_FIX = "node scripts/setup.mjs";

/** A Docker-API endpoint as resolved from options and the environment. */
export interface DockerEndpoint {
  /** Path of the unix socket. */
  socketPath: string;
  /** The same as a URL, e.g. `unix:///var/run/docker.sock`. */
  endpoint: string;
}

/**
 * Resolves the Docker-API socket, trying in order: `socketPath` (options), `DOCKER_HOST`
 * (`unix://` URLs only), {@link DEFAULT_DOCKER_SOCKET}. Podman's Docker-compatible socket is
 * just another path here (`podman system service unix:///run/user/1000/podman/podman.sock`).
 *
 * A `DOCKER_HOST` of another scheme (`tcp://`, `ssh://`) is refused with `ENGINE_UNAVAILABLE`:
 * keyhole only talks to a local engine whose host it can inspect.
 *
 * @example
 * ```ts
 * resolveDockerEndpoint("docker", undefined, { DOCKER_HOST: "unix:///run/docker.sock" });
 * // { socketPath: "/run/docker.sock", endpoint: "unix:///run/docker.sock" }
 * ```
 */
export function resolveDockerEndpoint(
  backendId: string,
  socketPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): DockerEndpoint {
  if (socketPath !== undefined) {
    if (typeof socketPath !== "string" || !socketPath.startsWith("/")) {
      throw new InvalidInputError(
        backendId,
        `socketPath must be an absolute path of a unix socket, got ${JSON.stringify(socketPath)}. Use e.g. "/var/run/docker.sock".`,
      );
    }
    return { socketPath, endpoint: `unix://${socketPath}` };
  }
  const host = env.DOCKER_HOST;
  if (host) {
    const path = host.startsWith("unix://") ? host.slice("unix://".length) : "";
    if (!path.startsWith("/")) {
      throw new EngineUnavailableError(
        backendId,
        `DOCKER_HOST is ${JSON.stringify(host)}; keyhole only talks to a local engine over a unix socket.`,
        `export DOCKER_HOST=unix://${DEFAULT_DOCKER_SOCKET}`,
      );
    }
    return { socketPath: path, endpoint: host };
  }
  return { socketPath: DEFAULT_DOCKER_SOCKET, endpoint: `unix://${DEFAULT_DOCKER_SOCKET}` };
}
