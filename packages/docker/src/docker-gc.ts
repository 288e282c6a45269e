import { KEYHOLE_BACKEND_LABEL, KEYHOLE_LABEL, KEYHOLE_RUN_LABEL } from "@keyhole/core";
import { engineStatus, toKeyholeError } from "@keyhole/docker-api";
import Dockerode from "dockerode";
import { resolveLocalEndpoint } from "./testcontainers-client.js";

/** Options of {@link dockerGc}. */
export interface DockerGcOptions {
  /** Only list what would be removed. Default false. */
  dryRun?: boolean;
  /** Only containers of this run id (label `keyhole.run`). Default: every keyhole container. */
  runId?: string;
  /** The Docker-API socket. Default: `DOCKER_HOST` (`unix://`), else `/var/run/docker.sock`. */
  socketPath?: string;
}

/** One container {@link dockerGc} found. */
export interface DockerGcItem {
  kind: "container";
  id: string;
  name: string;
  /** Its `keyhole.run` label. */
  runId: string | undefined;
  /** Its `keyhole.backend` label (`docker`, or the id of another keyhole backend). */
  backendId: string | undefined;
  /** The engine's state: `running`, `created`, `exited`, … */
  state: string;
}

/** What {@link dockerGc} found and (unless dry run) removed. */
export interface DockerGcResult {
  /** The endpoint it looked at, e.g. `unix:///var/run/docker.sock`. */
  endpoint: string;
  found: DockerGcItem[];
  /** Whether they were removed (false for a dry run). */
  removed: boolean;
}

/**
 * Finds (and unless `dryRun` removes, with force) the containers labelled `keyhole=true` on a
 * Docker-API endpoint, optionally only those of one run. Backs `keyhole gc` for the plain
 * Docker baseline. Swarm task containers are skipped: they belong to a service, which
 * `swarmGc` from @keyhole/docker-swarm removes (a removed task container would only be
 * restarted by the swarm).
 *
 * Without `runId` it removes every keyhole container on the engine, including those of other
 * keyhole processes running right now: pass `runId` while anything else may be running.
 *
 * @example
 * ```ts
 * const { found } = await dockerGc({ dryRun: true });
 * for (const c of found) console.log(c.name, c.runId, c.state);
 * ```
 */
export async function dockerGc(options: DockerGcOptions = {}): Promise<DockerGcResult> {
  const backendId = "docker";
  const { socketPath, endpoint } = resolveLocalEndpoint(backendId, options.socketPath);
  const docker = new Dockerode({ socketPath });
  const label = [`${KEYHOLE_LABEL}=true`];
  if (options.runId !== undefined) label.push(`${KEYHOLE_RUN_LABEL}=${options.runId}`);
  let found: DockerGcItem[];
  try {
    const list = await docker.listContainers({ all: true, filters: { label } });
    found = list
      .filter((c) => c.Labels?.["com.docker.swarm.task.id"] === undefined)
      .map((c) => ({
        kind: "container" as const,
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
        runId: c.Labels?.[KEYHOLE_RUN_LABEL],
        backendId: c.Labels?.[KEYHOLE_BACKEND_LABEL],
        state: c.State,
      }));
  } catch (error) {
    throw toKeyholeError(backendId, endpoint, "list keyhole's containers", error);
  }
  if (options.dryRun) return { endpoint, found, removed: false };
  for (const c of found) {
    try {
      await docker.getContainer(c.id).remove({ force: true, v: true });
    } catch (error) {
      const status = engineStatus(error);
      if (status !== 404 && status !== 409) {
        throw toKeyholeError(backendId, endpoint, `remove the container ${c.name}`, error);
      }
    }
  }
  return { endpoint, found, removed: true };
}
