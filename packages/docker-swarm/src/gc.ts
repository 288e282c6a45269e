import { KEYHOLE_LABEL, KEYHOLE_RUN_LABEL } from "@keyhole/core";
import Dockerode from "dockerode";
import { engineStatus, toKeyholeError } from "./engine-errors.js";
import { removeService } from "./service-removal.js";
import { resolveDockerSocket } from "./socket.js";

/** Options of {@link swarmGc}. */
export interface SwarmGcOptions {
  /** Only list what would be removed. Default false. */
  dryRun?: boolean;
  /** Only objects of this run id (label `keyhole.run`). Default: every object labelled `keyhole`. */
  runId?: string;
  /** The Docker Engine API socket. Default: `DOCKER_HOST` (`unix://`), else `/var/run/docker.sock`. */
  socketPath?: string;
  /** How long to wait for a removed service's container to go. Default 30 000 ms. */
  stopTimeoutMs?: number;
}

/** One object {@link swarmGc} found. */
export interface SwarmGcItem {
  kind: "service" | "secret";
  id: string;
  name: string;
  /** Its `keyhole.run` label. */
  runId: string | undefined;
}

/** What {@link swarmGc} found and (unless dry run) removed. */
export interface SwarmGcResult {
  /** Services first, then secrets: the order they are removed in. */
  found: SwarmGcItem[];
  /** Whether they were removed (false for a dry run). */
  removed: boolean;
}

interface Labelled {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

/**
 * Finds (and unless `dryRun` removes) the Swarm services and secrets labelled `keyhole=true`,
 * optionally only those of one run. Services go first, and their containers are waited for, so
 * the secrets they use can then be removed. Backs `keyhole gc` for Docker Swarm.
 *
 * Without `runId` it removes every keyhole object on the swarm, including those of other
 * keyhole processes running right now: pass `runId` while anything else may be running.
 *
 * @example
 * ```ts
 * const { found } = await swarmGc({ dryRun: true });
 * for (const o of found) console.log(o.kind, o.name, o.runId);
 * ```
 */
export async function swarmGc(options: SwarmGcOptions = {}): Promise<SwarmGcResult> {
  const backendId = "docker-swarm";
  const { socketPath, endpoint } = resolveDockerSocket(backendId, options.socketPath);
  const docker = new Dockerode({ socketPath });
  const label = [`${KEYHOLE_LABEL}=true`];
  if (options.runId !== undefined) label.push(`${KEYHOLE_RUN_LABEL}=${options.runId}`);
  const toItem =
    (kind: SwarmGcItem["kind"]) =>
    (o: Labelled): SwarmGcItem => ({
      kind,
      id: o.ID,
      name: o.Spec?.Name ?? o.ID,
      runId: o.Spec?.Labels?.[KEYHOLE_RUN_LABEL],
    });
  let services: SwarmGcItem[];
  let secrets: SwarmGcItem[];
  try {
    services = ((await docker.listServices({ filters: { label } })) as Labelled[]).map(
      toItem("service"),
    );
    secrets = ((await docker.listSecrets({ filters: { label } })) as Labelled[]).map(
      toItem("secret"),
    );
  } catch (error) {
    throw toKeyholeError(backendId, endpoint, "list keyhole's services and secrets", error);
  }
  const found = [...services, ...secrets];
  if (options.dryRun) return { found, removed: false };
  for (const s of services) {
    await removeService(docker, s.id, {
      backendId,
      endpoint,
      timeoutMs: options.stopTimeoutMs ?? 30_000,
    });
  }
  for (const s of secrets) {
    try {
      await docker.getSecret(s.id).remove();
    } catch (error) {
      if (engineStatus(error) !== 404) {
        throw toKeyholeError(backendId, endpoint, `remove the secret ${s.name}`, error);
      }
    }
  }
  return { found, removed: true };
}
