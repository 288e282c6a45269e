import {
  type EngineCluster,
  type EngineNode,
  type EngineStoragePath,
  EngineUnavailableError,
  InvalidInputError,
} from "@keyhole/core";
import { dockerClient, resolveDockerEndpoint, toKeyholeError } from "@keyhole/docker-api";
import type Dockerode from "dockerode";

/**
 * One node of a multi-node swarm, as the user (or `scripts/cluster.mjs`'s node map) gives it:
 * that node's own Docker Engine API. keyhole asks it for its swarm node id, so a task's node is
 * found by id, never by hostname (every node of a one-machine cluster is called the same).
 */
export interface SwarmNodeEndpoint {
  /** A name unique in the cluster, e.g. `"n2"`. Default: the node's hostname. */
  name?: string;
  /** The node's engine API: `unix:///path/docker.sock`, or `tcp://host:2376` (TLS from `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH`). */
  endpoint: string;
  /** Host paths of that node's state (its data root), when this host can read them. */
  storage?: readonly EngineStoragePath[];
}

/** Where a task runs: its node's name and a client of that node's engine. */
export interface NodeTarget {
  name: string;
  id: string;
  endpoint: string;
  docker: Dockerode;
}

interface NodeInfo {
  Name?: string;
  Swarm?: { NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean };
}

/**
 * A Dockerode client for a node's endpoint: `unix:///path`, or `tcp://host:port` with TLS from
 * `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH` (see `@keyhole/docker-api`).
 */
export function clientFor(backendId: string, endpoint: string): Dockerode {
  if (!endpoint.startsWith("unix:///") && !endpoint.startsWith("tcp://")) {
    throw new InvalidInputError(
      backendId,
      `The node endpoint ${JSON.stringify(endpoint)} is not a unix:// or tcp:// URL; give each node as "unix:///path/to/docker.sock" or "tcp://host:2376".`,
    );
  }
  return dockerClient(backendId, resolveDockerEndpoint(backendId, { host: endpoint }));
}

/**
 * The node → endpoint map of a backend: resolves each node's swarm id once (by asking that
 * node), then answers "which client reaches the node with this id".
 */
export class SwarmNodes {
  readonly #backendId: string;
  readonly #given: readonly SwarmNodeEndpoint[];
  readonly #control: readonly string[] | undefined;
  #resolved: Promise<NodeTarget[]> | undefined;
  #cluster: EngineCluster | undefined;

  constructor(backendId: string, nodes: readonly SwarmNodeEndpoint[], control?: readonly string[]) {
    this.#backendId = backendId;
    this.#given = nodes;
    this.#control = control;
    for (const n of nodes) clientFor(backendId, n.endpoint);
  }

  /** True when a node map was given (a multi-node swarm). */
  get enabled(): boolean {
    return this.#given.length > 0;
  }

  /** The cluster as engine info, once {@link resolve} ran; undefined before or without nodes. */
  get cluster(): EngineCluster | undefined {
    return this.#cluster;
  }

  /** Asks every node for its id and role (once; a failure is retried on the next call). */
  resolve(): Promise<NodeTarget[]> {
    this.#resolved ??= this.#resolveAll().catch((error: unknown) => {
      this.#resolved = undefined;
      throw error;
    });
    return this.#resolved;
  }

  async #resolveAll(): Promise<NodeTarget[]> {
    const infos = await Promise.all(
      this.#given.map(async (n) => {
        const docker = clientFor(this.#backendId, n.endpoint);
        let info: NodeInfo;
        try {
          info = (await docker.info()) as NodeInfo;
        } catch (error) {
          throw toKeyholeError(this.#backendId, n.endpoint, "answer as a swarm node", error);
        }
        const id = info.Swarm?.NodeID;
        if (!id || info.Swarm?.LocalNodeState !== "active") {
          throw new EngineUnavailableError(
            this.#backendId,
            `The node ${n.name ?? n.endpoint} (${n.endpoint}) is not an active swarm node (state: ${info.Swarm?.LocalNodeState ?? "unknown"}).`,
            "docker swarm join … on that node, or remove it from the node map",
          );
        }
        return {
          given: n,
          docker,
          id,
          hostname: info.Name ?? id,
          manager: !!info.Swarm?.ControlAvailable,
        };
      }),
    );
    const targets = infos.map((i) => ({
      name: i.given.name ?? i.hostname,
      id: i.id,
      endpoint: i.given.endpoint,
      docker: i.docker,
    }));
    const nodes: EngineNode[] = infos
      .map((i, k) => ({
        name: targets[k]!.name,
        id: i.id,
        role: (i.manager ? "manager" : "worker") as EngineNode["role"],
        endpoint: i.given.endpoint,
        ...(i.given.storage ? { storage: i.given.storage } : {}),
      }))
      .sort((a, b) => (a.role === b.role ? 0 : a.role === "manager" ? -1 : 1));
    this.#cluster = Object.freeze({
      nodes: Object.freeze(nodes.map((n) => Object.freeze(n))),
      ...(this.#control ? { control: this.#control } : {}),
    });
    return targets;
  }

  /** The node with swarm id `id`; `ENGINE_ERROR`-style message when the map lacks it. */
  async byId(id: string): Promise<NodeTarget> {
    const all = await this.resolve();
    const hit = all.find((n) => n.id === id);
    if (!hit) {
      throw new EngineUnavailableError(
        this.#backendId,
        `The task runs on swarm node ${id}, which is not in the node map (${all.map((n) => n.name).join(", ")}); keyhole cannot exec there.`,
        "add that node's endpoint to the `nodes` option, or pin tasks with `placement`",
      );
    }
    return hit;
  }

  /** The swarm id of the node called `name` in the map. */
  async idOf(name: string): Promise<string> {
    const all = await this.resolve();
    const hit = all.find((n) => n.name === name);
    if (!hit) {
      throw new InvalidInputError(
        this.#backendId,
        `placement.node is ${JSON.stringify(name)}, which is not a node of the map (${all.map((n) => n.name).join(", ")}).`,
      );
    }
    return hit.id;
  }
}
