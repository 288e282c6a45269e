import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";

describe("README example", () => {
  it("examples/minimal.ts runs keyhole doctor on the real engines", async () => {
    const { text } = await runExample(import.meta.url, "examples/minimal.ts");
    expect(text).toMatch(/^podman-file +(ready|missing|broken) /m);
    expect(text).toMatch(/keyhole doctor exited with [03]$/m);
  });
});
