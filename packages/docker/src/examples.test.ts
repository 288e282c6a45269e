import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { resolveLocalEndpoint } from "./testcontainers-client.js";

describe("README example", () => {
  it("examples/minimal.ts runs on real Docker and leaves nothing behind", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    const runId = /^run (\S+):/.exec(lines[3] ?? "")?.[1] ?? "";
    expect(lines).toEqual([
      "bob (uid 3000) reads the variable: 18 bytes",
      "bob reads the file: cat: can't open '/run/secrets/runner-token': Permission denied",
      "alice (uid 2000, the owner) reads 18 bytes",
      `run ${runId}: its container is removed when the backend is disposed`,
    ]);
    // `await using` disposed the backend: the engine (asked directly) has nothing of the run.
    const oracle = new Dockerode({
      socketPath: resolveLocalEndpoint("docker", undefined).socketPath,
    });
    const left = await oracle.listContainers({
      all: true,
      filters: { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] },
    });
    expect(runId).not.toBe("");
    expect(left).toEqual([]);
  });
});
