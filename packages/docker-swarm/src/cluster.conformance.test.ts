import { writeFileSync } from "node:fs";
import { describeConformance } from "@keyhole/conformance/vitest";
import { afterAll, beforeAll } from "vitest";
import { dockerSwarmBackend, swarmClusterOptions } from "./index.js";
import { clusterCommand, clusterUp } from "./test-cluster.js";

// The whole conformance catalogue, cluster checks included, against Swarm secrets on a real
// 3-node swarm (1 manager, 2 workers; scripts/cluster.mjs brings it up and takes it down).
// Tasks run on workers; every cluster verdict names nodes. The one-node pass is
// docker-swarm.conformance.test.ts.
// Unique per process: helpers and CI runs on one machine never take down each other's cluster.
const NAME = `cf${process.pid}`;

beforeAll(async () => {
  await clusterUp(NAME);
}, 300_000);

afterAll(async () => {
  await clusterCommand(NAME, "down");
}, 120_000);

describeConformance(() => dockerSwarmBackend(swarmClusterOptions(NAME)), {
  name: "docker-swarm conformance on a 3-node swarm",
  onReport: (report) => {
    if (process.env.KEYHOLE_CLUSTER_REPORT)
      writeFileSync(process.env.KEYHOLE_CLUSTER_REPORT, JSON.stringify(report, null, 2));
  },
});
