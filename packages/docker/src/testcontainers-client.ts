import { EngineUnavailableError, InvalidInputError } from "@keyhole/core";
import {
  DEFAULT_DOCKER_SOCKET,
  type DockerEndpoint,
  resolveDockerEndpoint,
  toKeyholeError,
} from "@keyhole/docker-api";
import { type ContainerRuntimeClient, getContainerRuntimeClient } from "testcontainers";

/** A Docker Engine API endpoint on a unix socket of this machine. */
export type LocalDockerEndpoint = Extract<DockerEndpoint, { kind: "unix" }>;

/**
 * Resolves the backend's endpoint like every Docker adapter does, but keeps to a unix socket:
 * testcontainers is bound through `DOCKER_HOST` alone (see {@link testcontainersClient}),
 * which cannot carry TLS file paths, and the docker backend is the local baseline.
 */
export function resolveLocalEndpoint(
  backendId: string,
  socketPath: string | undefined,
): LocalDockerEndpoint {
  const target = resolveDockerEndpoint(backendId, { socketPath });
  if (target.kind !== "unix") {
    throw new EngineUnavailableError(
      backendId,
      `The Docker engine is at ${target.endpoint}; the ${backendId} backend only talks to a local engine over a unix socket (use @keyhole/docker-swarm for a remote engine).`,
      `export DOCKER_HOST=unix://${DEFAULT_DOCKER_SOCKET}`,
    );
  }
  return target;
}

let bound: { endpoint: string; client: Promise<ContainerRuntimeClient> } | undefined;

/**
 * Points testcontainers at `endpoint` and returns its client. testcontainers 11 resolves one
 * engine per process (a module-level singleton, read from `DOCKER_HOST` on first use), so the
 * first backend binds it by setting `DOCKER_HOST` for that one call and restoring it after;
 * a later backend for a different endpoint in the same process is refused with
 * `INVALID_INPUT` (run it in another process). Its reaper (Ryuk) is disabled: it is an image
 * pulled from a registry, and keyhole's own labels and tracker do its job.
 */
export async function testcontainersClient(
  backendId: string,
  target: LocalDockerEndpoint,
): Promise<ContainerRuntimeClient> {
  if (bound && bound.endpoint !== target.endpoint) {
    throw new InvalidInputError(
      backendId,
      `testcontainers already talks to ${bound.endpoint} in this process and cannot switch to ${target.endpoint}. Use one Docker-API endpoint per process (run the other backend in a separate process).`,
    );
  }
  if (!bound) {
    // Must be set before testcontainers first looks for its reaper (reaper.js reads it then).
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
    const saved = process.env.DOCKER_HOST;
    const savedHost = process.env.TESTCONTAINERS_HOST_OVERRIDE;
    process.env.DOCKER_HOST = target.endpoint;
    // Without an override testcontainers looks up the gateway of the network "bridge", which a
    // dockerd started with --bridge=none (an engine set's) does not have, and then silently
    // falls back to /var/run/docker.sock. keyhole's workloads have no network: the host is moot.
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";
    const client = getContainerRuntimeClient().finally(() => {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
      if (savedHost === undefined) delete process.env.TESTCONTAINERS_HOST_OVERRIDE;
      else process.env.TESTCONTAINERS_HOST_OVERRIDE = savedHost;
    });
    bound = { endpoint: target.endpoint, client };
    client.catch(() => {
      if (bound?.client === client) bound = undefined;
    });
  }
  let client: ContainerRuntimeClient;
  try {
    client = await bound.client;
  } catch (error) {
    throw toKeyholeError(backendId, target.endpoint, "connect testcontainers to the engine", error);
  }
  // ~/.testcontainers.properties (tc.host) or an earlier testcontainers user in this process
  // can win over DOCKER_HOST; never run a workload on an engine other than the one asked for.
  const modem = client.container.dockerode.modem as { socketPath?: unknown };
  if (modem.socketPath !== target.socketPath) {
    throw new InvalidInputError(
      backendId,
      `testcontainers in this process talks to ${String(modem.socketPath ?? "a TCP endpoint")}, not ${target.endpoint} (check ~/.testcontainers.properties and TESTCONTAINERS_HOST_OVERRIDE). Use one Docker-API endpoint per process.`,
    );
  }
  return client;
}
