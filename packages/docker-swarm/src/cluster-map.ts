import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EngineUnavailableError, keyholeStateDir } from "@keyhole/core";
import type { DockerSwarmOptions } from "./swarm-backend.js";

/** The node map `node scripts/cluster.mjs up` writes (`<state dir>/cluster-<name>.json`). */
export interface SwarmClusterMap {
  name: string;
  /** The manager's endpoint (`unix://…`). */
  manager: string;
  /** argv prefix of `scripts/cluster.mjs --name <name>` (kill/start a node). */
  control?: string[];
  nodes: Array<{
    name: string;
    role: "manager" | "worker";
    nodeId: string;
    endpoint: string;
    dataRoot?: string;
  }>;
}

/** Where the node map of cluster `name` is. */
export function swarmClusterMapPath(name = "default"): string {
  return join(keyholeStateDir(), `cluster-${name}.json`);
}

/**
 * Reads a cluster's node map and returns the {@link dockerSwarmBackend} options that run on it:
 * the manager's socket, every node's endpoint and data root, the node control command, and
 * tasks placed on workers (so a check never depends on where the scheduler puts a task).
 * Throws `ENGINE_UNAVAILABLE` with the command that brings the cluster up when there is no map.
 *
 * @example
 * ```ts
 * const backend = dockerSwarmBackend(swarmClusterOptions());
 * ```
 */
export function swarmClusterOptions(
  name = "default",
  map: SwarmClusterMap | undefined = readMap(name),
): DockerSwarmOptions {
  if (!map) {
    throw new EngineUnavailableError(
      "docker-swarm",
      `No multi-node swarm "${name}" is up (no node map at ${swarmClusterMapPath(name)}).`,
      `node scripts/cluster.mjs up${name === "default" ? "" : ` --name ${name}`}`,
    );
  }
  return {
    socketPath: map.manager.replace(/^unix:\/\//, ""),
    nodes: map.nodes.map((n) => ({
      name: n.name,
      endpoint: n.endpoint,
      ...(n.dataRoot ? { storage: [{ path: n.dataRoot, kind: "engine" as const }] } : {}),
    })),
    placement: { constraints: ["node.role==worker"] },
    ...(map.control ? { nodeControl: map.control } : {}),
  };
}

function readMap(name: string): SwarmClusterMap | undefined {
  try {
    return JSON.parse(readFileSync(swarmClusterMapPath(name), "utf8")) as SwarmClusterMap;
  } catch {
    return undefined;
  }
}
