import { EngineUnavailableError } from "@keyhole/core";

/** The socket dockerd listens on when nothing else is configured. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** Where the Docker Engine API is, as resolved from options and the environment. */
export interface DockerSocket {
  /** Path of the unix socket. */
  socketPath: string;
  /** The same as a URL, `unix:///var/run/docker.sock`. */
  endpoint: string;
}

/**
 * Resolves the Docker Engine API socket: `socketPath` when given, else `DOCKER_HOST` (only
 * `unix://` URLs), else {@link DEFAULT_DOCKER_SOCKET}. A `DOCKER_HOST` of another scheme
 * (`tcp://`, `ssh://`) is refused with `ENGINE_UNAVAILABLE`, because keyhole only talks to a
 * local engine whose host it can inspect.
 *
 * @example
 * ```ts
 * resolveDockerSocket("docker-swarm", undefined, { DOCKER_HOST: "unix:///run/docker.sock" });
 * // { socketPath: "/run/docker.sock", endpoint: "unix:///run/docker.sock" }
 * ```
 */
export function resolveDockerSocket(
  backendId: string,
  socketPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): DockerSocket {
  if (socketPath) return { socketPath, endpoint: `unix://${socketPath}` };
  const host = env.DOCKER_HOST;
  if (host) {
    if (!host.startsWith("unix://") || host.length <= "unix://".length) {
      throw new EngineUnavailableError(
        backendId,
        `DOCKER_HOST is ${JSON.stringify(host)}; keyhole only talks to a local engine over a unix socket.`,
        `export DOCKER_HOST=unix://${DEFAULT_DOCKER_SOCKET}`,
      );
    }
    const path = host.slice("unix://".length);
    return { socketPath: path, endpoint: `unix://${path}` };
  }
  return { socketPath: DEFAULT_DOCKER_SOCKET, endpoint: `unix://${DEFAULT_DOCKER_SOCKET}` };
}
