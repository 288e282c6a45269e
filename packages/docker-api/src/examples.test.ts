import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { dockerClient, resolveDockerEndpoint } from "./index.js";

describe("README example", () => {
  it("examples/minimal.ts execs on real Docker, maps the 404 and leaves nothing behind", async () => {
    const oracle = dockerClient("oracle", resolveDockerEndpoint("oracle"));
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    // The last line is the engine's own answer for the example's container after it removed it:
    // nothing is left behind.
    expect(lines).toEqual([
      `unix endpoint, Docker ${(await oracle.version()).Version}`,
      "exit 0, stdout 18, stderr alice",
      "ENGINE_ERROR: [keyhole] [my-backend] The Docker engine at unix:///var/run/docker.sock refused to inspect the container (HTTP 404): No such container: <id>. Check `docker info` and dockerd's log.",
    ]);
  });
});
