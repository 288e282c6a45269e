import { describe, expect, it, vi } from "vitest";
import { redact } from "./index.js";

describe("README example", () => {
  it("examples/minimal.ts prints typed errors and never the registered value", async () => {
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
      'INVALID_INPUT: [keyhole] [my-backend] The secret name "../../etc/shadow" is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".',
      'INVALID_INPUT: [keyhole] [my-backend] The mode must be a number, got a string "0400". Write an octal literal, e.g. mode: 0o400.',
      "git clone https://ci:[REDACTED]@git.example.com/app.git",
      'ENGINE_ERROR: secret "runner" rejected: value [REDACTED] fails the policy',
    ]);
    expect(lines.join("\n")).not.toContain("glrt-example-token");
    // The example unregistered its value again: redaction of it is reference counted.
    expect(redact("glrt-example-token")).toBe("glrt-example-token");
  });
});
