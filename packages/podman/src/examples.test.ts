import { describe, expect, it, vi } from "vitest";
import { podmanCli } from "./test-helpers.js";

describe("README example", () => {
  it("examples/minimal.ts runs on real Podman and leaves nothing behind", async () => {
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
