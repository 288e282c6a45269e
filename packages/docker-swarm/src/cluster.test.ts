// dockerSwarmBackend on a real 3-node swarm (1 manager, 2 workers; scripts/cluster.mjs): tasks
// land on workers, exec and stop reach the task's node, placement pins a node, gc finds what is
// left on every node. The one-node case is swarm-backend.test.ts, unchanged.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { SecretBackend } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSwarmBackend, type SwarmClusterMap, swarmClusterOptions, swarmGc } from "./index.js";
import { clusterCommand, clusterUp } from "./test-cluster.js";

// Unique per process: helpers and CI runs on one machine never take down each other's cluster.
const NAME = `sw${process.pid}`;
const KEEPALIVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];
let map: SwarmClusterMap;
let image: string;
const backends: SecretBackend[] = [];

/** Containers of `runId` on one node, asked of that node's own engine (bypassing the adapter). */
function containersOn(node: string, runId: string): string[] {
  const endpoint = map.nodes.find((n) => n.name === node)!.endpoint;
  return execFileSync(
    "/usr/bin/docker",
    ["-H", endpoint, "ps", "-aq", "--filter", `label=keyhole.run=${runId}`],
    { encoding: "utf8" },
  )
    .split("\n")
    .filter(Boolean);
}

beforeAll(async () => {
  map = await clusterUp(NAME);
  image = await ensureProbeImage("docker");
});

afterAll(async () => {
  for (const b of backends) await b.dispose().catch(() => {});
  await clusterCommand(NAME, "down");
});

describe("docker-swarm on a 3-node swarm", () => {
  it("lists the nodes, runs on a worker, execs and stops there, and leaves nothing on any node", async () => {
    const backend = dockerSwarmBackend(swarmClusterOptions(NAME, map));
    backends.push(backend);
    await backend.ready();
    expect(backend.engine.cluster?.nodes.map((n) => `${n.name} ${n.role} ${n.id}`)).toEqual(
      map.nodes.map((n) => `${n.name} ${n.role} ${n.nodeId}`),
    );
    expect(backend.engine.cluster?.control).toEqual(map.control);
    const value = randomBytes(16).toString("hex");
    const secret = await backend.createSecret(`kh-cl-${backend.runId}`, value);
    const w = await backend.run({
      image,
      command: KEEPALIVE,
      secrets: [{ secret, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
    });
    expect(["n2", "n3"]).toContain(w.node);
    const other = w.node === "n2" ? "n3" : "n2";
    expect(containersOn(w.node!, backend.runId)).toEqual([
      expect.stringMatching(w.containerId.slice(0, 12)),
    ]);
    expect(containersOn(other, backend.runId)).toEqual([]);
    expect(containersOn("n1", backend.runId)).toEqual([]);
    const r = await w.exec(["cat", `/run/secrets/kh-cl-${backend.runId}`], { user: "2000" });
    expect(r).toEqual({ exitCode: 0, stdout: value, stderr: "" });
    await w.stop();
    expect(containersOn(w.node!, backend.runId)).toEqual([]);
    await backend.dispose();
  });

  it("pins tasks to the node named in placement.node", async () => {
    const backend = dockerSwarmBackend({
      ...swarmClusterOptions(NAME, map),
      placement: { node: "n3" },
    });
    backends.push(backend);
    const a = await backend.run({ image, command: KEEPALIVE });
    const b = await backend.run({ image, command: KEEPALIVE });
    expect([a.node, b.node]).toEqual(["n3", "n3"]);
    expect((await b.exec(["id", "-u"])).stdout).toBe("0\n");
    await backend.dispose();
    expect(containersOn("n3", backend.runId)).toEqual([]);
  });

  it("refuses placement.node that is not in the node map, naming the nodes", async () => {
    const backend = dockerSwarmBackend({
      ...swarmClusterOptions(NAME, map),
      placement: { node: "n9" },
    });
    backends.push(backend);
    await expect(backend.run({ image, command: KEEPALIVE })).rejects.toThrow(
      'placement.node is "n9", which is not a node of the map (n1, n2, n3).',
    );
  });

  it("gc with the node endpoints removes services, secrets and task containers on every node", async () => {
    const backend = dockerSwarmBackend(swarmClusterOptions(NAME, map));
    const secret = await backend.createSecret(`kh-gc-${backend.runId}`, "gc-value");
    const w = await backend.run({
      image,
      command: KEEPALIVE,
      secrets: [{ secret, as: "file" }],
    });
    // No dispose: as if keyhole were SIGKILLed here.
    const dry = await swarmGc({
      socketPath: map.manager.slice("unix://".length),
      nodes: map.nodes.map((n) => n.endpoint),
      runId: backend.runId,
      dryRun: true,
    });
    expect(dry.found.map((f) => f.kind).sort()).toEqual(["container", "secret", "service"]);
    expect(dry.found.find((f) => f.kind === "container")?.node).toBe(
      map.nodes.find((n) => n.name === w.node)!.endpoint,
    );
    await swarmGc({
      socketPath: map.manager.slice("unix://".length),
      nodes: map.nodes.map((n) => n.endpoint),
      runId: backend.runId,
    });
    for (const n of map.nodes) expect(containersOn(n.name, backend.runId)).toEqual([]);
    const again = await swarmGc({
      socketPath: map.manager.slice("unix://".length),
      nodes: map.nodes.map((n) => n.endpoint),
      runId: backend.runId,
      dryRun: true,
    });
    expect(again.found).toEqual([]);
  });
});
