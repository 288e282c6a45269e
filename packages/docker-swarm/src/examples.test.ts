import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import { dockerClient, resolveDockerEndpoint } from "@keyhole/docker-api";
import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";

describe("README example", () => {
  it("examples/minimal.ts runs on a real swarm and leaves nothing behind", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    const runId = /^run (\S+):/.exec(lines[2] ?? "")?.[1] ?? "";
    expect(runId).not.toBe("");
    expect(lines).toEqual([
      "alice (uid 2000, the owner) reads 18 bytes",
      "bob (uid 3000) reads: cat: can't open '/run/secrets/runner-token': Permission denied",
      `run ${runId}: its service and secret are removed when the backend is disposed`,
    ]);
    // `await using` disposed the backend: the engine (asked directly) has nothing of the run.
    const oracle = dockerClient("docker-swarm", resolveDockerEndpoint("docker-swarm"));
    const filters = { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] };
    const left = [
      ...(await oracle.listServices({ filters })),
      ...(await oracle.listSecrets({ filters })),
      ...(await oracle.listContainers({ all: true, filters })),
    ];
    expect(left).toEqual([]);
  });
});
