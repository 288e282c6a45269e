import { describe, expect, it, vi } from "vitest";

describe("README examples", () => {
  it("examples/minimal.ts runs keyhole doctor on the real engines", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      // A variable, so TypeScript does not resolve the example against the package's dist.
      const example: string = "../examples/minimal.ts";
      await import(example);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    const text = lines.join("");
    expect(text).toMatch(/^podman-file +(ready|missing|broken) /m);
    expect(text).toMatch(/keyhole doctor exited with [03]$/m);
  });
});
