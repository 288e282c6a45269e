import { KEYHOLE_LABEL, KEYHOLE_RUN_LABEL } from "@keyhole/core";
import {
  type DockerConnectionOptions,
  dockerClient,
  engineStatus,
  resolveDockerEndpoint,
  toKeyholeError,
} from "@keyhole/docker-api";
import { clientFor } from "./cluster-nodes.js";
import { removeService } from "./service-removal.js";

/** Options of {@link swarmGc}. */
export interface SwarmGcOptions extends DockerConnectionOptions {
  /** Only list what would be removed. Default false. */
  dryRun?: boolean;
  /** Only objects of this run id (label `keyhole.run`). Default: every object labelled `keyhole`. */
  runId?: string;
  /** How long to wait for a removed service's container to go. Default 30 000 ms. */
  stopTimeoutMs?: number;
  /**
   * The engine endpoints of every node of a multi-node swarm (`unix://…`): task containers left
   * there (e.g. by a node that was down when its service was removed) are found and removed too.
   * Default none (a one-node swarm: the manager's own containers are handled with its services).
   */
  nodes?: readonly string[];
}

/** One object {@link swarmGc} found. */
export interface SwarmGcItem {
  /** `container`: a task container on one of `options.nodes`. */
  kind: "service" | "secret" | "container";
  id: string;
  name: string;
  /** Its `keyhole.run` label. */
  runId: string | undefined;
  /** For a container: the endpoint of the node it is on. */
  node?: string;
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
  const target = resolveDockerEndpoint(backendId, options);
  const { endpoint } = target;
  const docker = dockerClient(backendId, target);
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
  const nodes = (options.nodes ?? []).map((n) => ({
    endpoint: n,
    docker: clientFor(backendId, n),
  }));
  const containersOnNodes = async (): Promise<SwarmGcItem[]> => {
    const lists = await Promise.all(
      nodes.map(async (n) => {
        let list: Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> }>;
        try {
          // Swarm task containers only: plain-Docker backend containers are not ours to judge.
          list = await n.docker.listContainers({
            all: true,
            filters: { label: [...label, "com.docker.swarm.service.id"] },
          });
        } catch (error) {
          throw toKeyholeError(backendId, n.endpoint, "list keyhole's task containers", error);
        }
        return list.map((c) => ({
          kind: "container" as const,
          id: c.Id,
          name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
          runId: c.Labels?.[KEYHOLE_RUN_LABEL],
          node: n.endpoint,
        }));
      }),
    );
    return lists.flat();
  };
  const found = [...services, ...(await containersOnNodes()), ...secrets];
  if (options.dryRun) return { found, removed: false };
  for (const s of services) {
    await removeService(docker, s.id, {
      backendId,
      endpoint,
      timeoutMs: options.stopTimeoutMs ?? 30_000,
    });
  }
  for (const c of await containersOnNodes()) {
    const n = nodes.find((x) => x.endpoint === c.node)!;
    try {
      await n.docker.getContainer(c.id).remove({ force: true });
    } catch (error) {
      if (engineStatus(error) !== 404) {
        throw toKeyholeError(backendId, n.endpoint, `remove the container ${c.name}`, error);
      }
    }
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
