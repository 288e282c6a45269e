import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import Dockerode from "dockerode";
import { describe, expect, it, vi } from "vitest";
import { resolveDockerSocket } from "./index.js";

describe("README example", () => {
  it("examples/minimal.ts runs on a real swarm and leaves nothing behind", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args.join(" "));
    });
    try {
      // A computed specifier keeps tsc (whose rootDir is src/) out; vitest loads it as usual.
      const example: string = "../examples/minimal.ts";
      await import(example);
    } finally {
      log.mockRestore();
    }
    const runId = /^run (\S+):/.exec(lines[2] ?? "")?.[1] ?? "";
    expect(runId).not.toBe("");
    expect(lines).toEqual([
      "alice (uid 2000, the owner) reads 18 bytes",
      "bob (uid 3000) reads: cat: can't open '/run/secrets/runner-token': Permission denied",
      `run ${runId}: its service and secret are removed when the backend is disposed`,
    ]);
    // `await using` disposed the backend: the engine (asked directly) has nothing of the run.
    const oracle = new Dockerode({
      socketPath: resolveDockerSocket("docker-swarm", undefined).socketPath,
    });
    const filters = { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] };
    const left = [
      ...(await oracle.listServices({ filters })),
      ...(await oracle.listSecrets({ filters })),
      ...(await oracle.listContainers({ all: true, filters })),
    ];
    expect(left).toEqual([]);
  });
});
