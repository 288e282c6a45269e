import { readdirSync } from "node:fs";
import { join } from "node:path";
import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { engineSetComposeOptions } from "./index.js";

describe("README example", () => {
  it("examples/minimal.ts runs on the Debian 13 engine set and leaves nothing behind", async () => {
    const options = engineSetComposeOptions();
    const oracle = new Dockerode({ socketPath: options.socketPath! });
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    const runs = /^runs (\S+) (\S+):/.exec(lines[3] ?? "")?.slice(1) ?? [];
    expect(lines).toEqual([
      "file: 0:0 600 (a read-only bind of the 0600 host copy)",
      "environment: 2000:2000 400 (copied in, as asked)",
      "bob (uid 3000): cat: can't open '/run/secrets/db-password': Permission denied",
      `runs ${runs.join(" ")}: projects and private dirs go on dispose`,
    ]);
    // `await using` disposed both backends: the engine (asked directly) has nothing of them,
    // and no private directory of theirs is left.
    expect(runs).toHaveLength(2);
    const scratch = join(options.root!, "run/keyhole-compose");
    for (const runId of runs) {
      const left = await oracle.listContainers({
        all: true,
        filters: { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] },
      });
      expect(left).toEqual([]);
      expect(readdirSync(scratch).filter((d) => d.includes(runId))).toEqual([]);
    }
  });
});
