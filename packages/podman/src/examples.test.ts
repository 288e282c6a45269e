import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { podmanCli } from "./test-helpers.js";

describe("README example", () => {
  it("examples/minimal.ts runs on real Podman and leaves nothing behind", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    expect(lines).toEqual([
      "registered with a 18-byte token",
      "bob (uid 3000) reads: cat: can't open '/run/secrets/runner-token': Permission denied",
      "after the scrub, root reads 0 bytes",
    ]);
    // `await using` disposed the backend: the engine (asked directly) has no such secret left.
    const names = (await podmanCli(["secret", "ls", "--format", "{{.Name}}"])).split("\n");
    expect(names.filter((n) => n.startsWith("runner-token-"))).toEqual([]);
  });
});
